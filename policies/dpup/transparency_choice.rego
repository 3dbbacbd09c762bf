# DPUP guideline "Transparency and Choice": tell people what happens to their information and
# respect the choices they made (Mana Whakahaere; Privacy Act 2020 IPP10 when promised, IPP3A when
# information about people comes from another agency).
package kaitiaki.dpup.transparency_choice

import data.kaitiaki.lib
import data.kaitiaki.lib.column_categories
import data.kaitiaki.lib.columns_by_name
import data.kaitiaki.lib.identifiable_outputs
import data.kaitiaki.lib.params
import data.kaitiaki.lib.person_level
import data.kaitiaki.lib.today
import data.kaitiaki.lib.writes
import rego.v1

# METADATA
# title: Opt-out respected
# description: >-
#   When a table records people's opt-out choice (category opt_out_flag), every row of it that
#   reaches the output must come through a condition that removes the people who opted out, on
#   every path: NOT flag, flag = false, flag IS NOT TRUE, coalesce(flag, false) = false, an
#   anti-join to an opt-out list (category opt_out_list), or an inner or semi-join to a consent
#   table on consent = true (category consent_flag), as a top-level AND of the WHERE or of an inner
#   join's ON. Mentioning the flag is not enough: WHERE opted_out = true keeps exactly those who
#   opted out, and a condition inside an OR or an outer join's ON removes nobody for sure. Soft by
#   default; hard for the tables in params.opt_out_promised_tables, where the choice was promised
#   at collection and using the data anyway is an unauthorised use. A table the job only writes
#   counts only for an opt-out column it writes from no opt-out source column of the job (the
#   source table is checked instead).
# custom:
#   id: TC-01
#   level: soft
#   level_when_promised: hard
#   guideline: Transparency and Choice
#   principle: Mana Whakahaere
#   law: Privacy Act 2020 IPP10 (when the choice was promised at collection)
#   judgement: >-
#     a consent table or an opt-out list counts only when the job joins it to the flagged table on
#     an identifier of each (k.client_key = c.client_key): uncorrelated, joined on anything else
#     (region, <>) or on a constant, it says nothing of the people in the output; a condition on a
#     transformed flag (lower(flag) = 'n') does not count.
#   remediation: >-
#     Exclude the people who opted out on every path to the output: WHERE NOT <opt-out flag> (or
#     flag IS NOT TRUE) as a top-level AND, NOT EXISTS against the opt-out list, or an inner join
#     to the consent table ON consent = true.
violation contains unexcluded_opt_outs(table.name) if {
	some table in input.tables
	"opt_out_flag" in table.categories
	"opt_out_flag" in lib.table_categories(table)
	not opt_outs_excluded(table.name)
}

violation contains unexcluded_opt_outs(col.table) if {
	"opt_out_flag" in column_categories
	some col in input.columns
	"opt_out_flag" in lib.own_categories(col)
	not opt_outs_excluded(col.table)
}

# The finding for a table recording opt-outs (TC-01's two bodies: a table whose categories say so,
# or a column of it; a table found by both gives the same finding).
unexcluded_opt_outs(table) := lib.violation_at("TC-01", level(table), message, lib.names(cols), lib.earliest_line(cols)) if {
	cols := {col | some col in input.columns; col.table == table}
	message := sprintf("%s records people's opt-out choice, but the job does not exclude the people who opted out on every path to its output", [table])
}

# A condition that holds for every row of `table` reaching the output removes opted-out people.
opt_outs_excluded(table) if {
	some filter in object.get(input, "row_filters", [])
	filter.table == table
	excludes(filter, table)
}

excludes(filter, _) if {
	filter.kind == "false"
	"opt_out_flag" in column_categories_of(filter.column)
}

excludes(filter, table) if {
	filter.kind == "true"
	consent := columns_by_name[filter.column]
	"consent_flag" in consent.categories
	links_people(table, consent.table)
}

excludes(filter, table) if {
	filter.kind == "anti"
	some listed in input.tables
	listed.name == filter.column
	"opt_out_list" in listed.categories
	links_people(table, listed.name)
}

# The consent table or opt-out list is joined to `table` on an identifier of each: only then do its
# rows say something of the people in `table`.
links_people(table, other) if {
	some join in object.get(input, "joins", [])
	some pair in [[join.left, join.right], [join.right, join.left]]
	pair[0].table == table
	pair[1].table == other
	lib.identifier(lib.column_fact(pair[0].table, pair[0].column))
	lib.identifier(lib.column_fact(pair[1].table, pair[1].column))
}

column_categories_of(name) := columns_by_name[name].categories if columns_by_name[name] else := []

level(table) := object.get(lib.meta("TC-01"), "level_when_promised", "hard") if {
	table in params.opt_out_promised_tables
} else := lib.rule_level("TC-01")

# METADATA
# title: Information from another agency (IPP3A)
# description: >-
#   From 1 May 2026 an agency that collects personal information from a source other than the
#   person must take reasonable steps to tell the person (IPP3A), with exceptions such as
#   information that will not identify them or is used for statistics or research. A job that
#   writes person-level identifiable data read from another agency's tables is such a collection:
#   check whether the people must be told.
# custom:
#   id: TC-02
#   level: advisory
#   guideline: Transparency and Choice
#   principle: Mana Whakahaere
#   law: Privacy Act 2020 IPP3A (information collected on or after 1 May 2026 from another source)
#   judgement: >-
#     any person-level identifiable write from a table the catalog assigns to another agency is
#     reported; whether it is a collection under IPP3A, and whether an exception applies, is for a
#     person to judge.
#   remediation: >-
#     Confirm that the people were told (or that an IPP3A exception applies: non-identifying,
#     statistical or research use) and record it on the purpose.
violation contains v if {
	today >= params.ipp3a_from
	agencies := {table.agency | some table in input.tables; table.agency != input.job.agency; other_agency(table)}
	agencies != set()
	writes
	person_level
	outs := identifiable_outputs
	outs != set()
	message := concat("", ["the job writes person-level identifiable columns (", lib.list({out.column | some out in outs}), ") read from another agency's tables (", lib.list(agencies), ")"])
	f := lib.sources_finding(message, outs)
	v := lib.violation("TC-02", f.message, f.columns, f.line)
}

other_agency(table) if {
	is_string(table.agency)
	is_string(input.job.agency)
	table.agency != input.job.agency
	some col in input.columns
	col.table == table.name
	not lib.written_only(col)
}
