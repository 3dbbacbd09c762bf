# DPUP guideline "Transparency and Choice": tell people what happens to their information and
# respect the choices they made (Mana Whakahaere; Privacy Act 2020 IPP10 when promised).
package kaitiaki.dpup.transparency_choice

import data.kaitiaki.lib
import data.kaitiaki.lib.column_categories
import data.kaitiaki.lib.params
import rego.v1

# METADATA
# title: Opt-out respected
# description: >-
#   When a table records people's opt-out choice (category opt_out_flag), a job reading it must
#   filter on that flag. Soft by default; hard for the tables in params.opt_out_promised_tables,
#   where the choice was promised at collection and using the data anyway is an unauthorised use.
#   A table the job only writes counts only for an opt-out column it writes from no opt-out
#   source column of the job (the source table is checked instead).
# custom:
#   id: TC-01
#   level: soft
#   level_when_promised: hard
#   guideline: Transparency and Choice
#   principle: Mana Whakahaere
#   law: Privacy Act 2020 IPP10 (when the choice was promised at collection)
#   remediation: Apply WHERE NOT <opt_out flag>, or join to the consent table and filter on it, before anything else.
violation contains v if {
	some table in flagged_tables
	not flag_filtered(table)
	cols := {col | some col in input.columns; col.table == table}
	message := sprintf("%s records people's opt-out choice, but the job does not filter on its opt-out flag", [table])
	v := lib.violation_at("TC-01", level(table), message, lib.names(cols), lib.earliest_line(cols))
}

flagged_tables contains table.name if {
	some table in input.tables
	"opt_out_flag" in table.categories
	"opt_out_flag" in lib.table_categories(table)
}

flagged_tables contains col.table if {
	"opt_out_flag" in column_categories
	some col in input.columns
	"opt_out_flag" in lib.own_categories(col)
}

flag_filtered(table) if {
	some col in input.columns
	col.table == table
	"opt_out_flag" in col.categories
	"filter" in col.uses
}

level(table) := object.get(lib.meta("TC-01"), "level_when_promised", "hard") if {
	table in params.opt_out_promised_tables
} else := lib.rule_level("TC-01")
