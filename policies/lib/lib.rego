# Helper functions shared by every kaitiaki policy package.
#
# The DPUP library's terms (identifiable, identifier, off-agency, in output, person-level,
# foreign UID) are defined here once, so every rule reads them the same way. Only facts about
# columns reach these functions: never data values.
#
# Cost: this library runs for every job, and a rule is computed once per decision while a
# function runs on every call. So the categories a job touches are gathered once (one pass over
# the columns, one over the outputs), every category question is answered once per distinct
# category, and single columns are visited only when those answers say a rule can fire.
package kaitiaki.lib

import rego.v1

# --- parameters (policies/dpup/data.json, overridable by policy_data in kaitiaki.yaml) ---------

params := data.kaitiaki.params

# --- categories ---------------------------------------------------------------------------------
#
# A category is `kind` or `kind:detail` (unique_identifier:nhi, sensitive:health).

# Kinds that name a direct, unique or pseudonymous key to one person.
identifier_kinds := {"direct_identifier", "unique_identifier", "person_key"}

# Kinds that make a column personal information (hashed and masked columns still count): the
# identifier kinds and quasi_identifier, sensitive and child.
identifiable_kinds := {"direct_identifier", "unique_identifier", "person_key", "quasi_identifier", "sensitive", "child"}

identifiable_category(cat) if split(cat, ":")[0] in identifiable_kinds

identifier_category(cat) if split(cat, ":")[0] in identifier_kinds

sensitive_category(cat) if startswith(cat, "sensitive:")

# The scheme of a unique identifier category: `unique_identifier:nhi` → `nhi`.
uid_scheme(cat) := substring(cat, count("unique_identifier:"), -1) if startswith(cat, "unique_identifier:")

# The agency that issues an identifier scheme: kaitiaki.yaml identifier_issuers first, then the
# NZ defaults in data.json.
issuer(scheme) := data.kaitiaki.issuer[scheme]

issuer(scheme) := params.default_issuers[scheme] if not data.kaitiaki.issuer[scheme]

# A unique identifier issued by another agency than the job's (IPP13).
foreign_uid_category(cat) if {
	owner := issuer(uid_scheme(cat))
	owner != input.job.agency
}

# --- what the job touches, gathered once per decision ------------------------------------------

# Every [category, column fact] of the job's columns, in one pass: a rule that reports the columns
# with some categories walks these pairs (the columns that have a category, once per category)
# rather than every column and its categories.
category_columns := [[cat, col] | some col in input.columns; some cat in col.categories]

# Every category of the job's columns, and of its outputs that are not aggregates. (Passes over the
# outputs test the categories before the transforms: an output without a wanted category stops there.)
column_categories := {cat | some [cat, _] in category_columns}

output_categories := {cat |
	some out in input.outputs
	some cat in out.categories
	not "aggregate" in out.transforms
}

# The kind of every category the job touches, split once per category.
category_kinds := {cat: split(cat, ":")[0] | some cat in column_categories | output_categories}

identifiable_column_categories := {cat | kinds := category_kinds; some cat in column_categories; kinds[cat] in identifiable_kinds}

identifier_column_categories := {cat | kinds := category_kinds; some cat in identifiable_column_categories; kinds[cat] in identifier_kinds}

# (sensitive_category inline: a function call per category costs several times the test.)
sensitive_column_categories := {cat | some cat in column_categories; startswith(cat, "sensitive:")}

foreign_uid_column_categories := {cat |
	some cat in column_categories
	startswith(cat, "unique_identifier:")
	foreign_uid_category(cat)
}

identifiable_output_categories := {cat | kinds := category_kinds; some cat in output_categories; kinds[cat] in identifiable_kinds}

identifier_output_categories := {cat | kinds := category_kinds; some cat in identifiable_output_categories; kinds[cat] in identifier_kinds}

# --- columns (each set is computed once per decision) ------------------------------------------

# Any column, not only this job's (tests and custom rules use these on built facts).
identifiable(col) if {
	some cat in col.categories
	identifiable_category(cat)
}

identifier(col) if {
	some cat in col.categories
	identifier_category(cat)
}

identifiable_columns contains col if {
	cats := identifiable_column_categories
	cats != set()
	some [cat, col] in category_columns
	cat in cats
}

sensitive_columns contains col if {
	cats := sensitive_column_categories
	cats != set()
	some [cat, col] in category_columns
	cat in cats
}

qualified(col) := concat(".", [col.table, col.column])

columns_by_name := {concat(".", [col.table, col.column]): col | some col in input.columns}

# The column fact for `table.column` (from a join side or an output's sources).
column_fact(table, column) := columns_by_name[concat(".", [table, column])]

# --- columns this job only writes --------------------------------------------------------------
#
# A column fact whose only use is `write` is a column the job creates (a target of INSERT, UPDATE
# or MERGE). Its categories mostly came from the source columns that feed it, which the same rule
# already reports: a category finding on the target as well is the same finding twice. So rules
# that report a column (or table) for its categories read own_categories: every category of a
# column the job reads, and of a write-only column only those that no source column of this job
# carries into it (from the target's catalog entry or upstream lineage, or an unresolved source).

written_only(col) if {use | some use in col.uses} == {"write"}

# The job writes a column (most jobs do not, and then no column needs looking at twice).
writes_columns if {
	some col in input.columns
	"write" in col.uses
}

# [target, category] for each category a column of this job carries into the column `target`.
carried := {[target, cat] | some col in input.columns; some target in col.outputs; some cat in col.categories}

own_categories(col) := {cat | some cat in col.categories; not [qualified(col), cat] in carried} if {
	writes_columns
	written_only(col)
} else := col.categories

# [qualified name, category] for each category that a column the job only writes takes from a
# source column of the job, so not its own: gathered once per decision (none when the job writes no
# column). Rules that report many columns filter each one's categories with it in the comprehension
# that picks them (`not [name, cat] in carried_in`): own_categories without a call per column.
carried_in := {[name, cat] |
	writes_columns
	some col in input.columns
	written_only(col)
	name := qualified(col)
	some cat in col.categories
	[name, cat] in carried
}

# Tables of which the job only writes columns (it reads none of theirs).
written_only_tables := {col.table | some col in input.columns; written_only(col)} - {col.table | some col in input.columns; not written_only(col)}

# A table's categories as this job meets them: all of them for a table it reads; for a table it
# only writes, the own categories of the columns it writes (not those of columns it never touches).
table_categories(table) := {cat | some col in input.columns; col.table == table.name; some cat in own_categories(col)} if {
	writes_columns
	table.name in written_only_tables
} else := table.categories

# --- many columns at once -----------------------------------------------------------------------

# Sorted qualified names of a set of column facts.
names(cols) := sort({concat(".", [col.table, col.column]) | some col in cols})

# Items (a set or an array of strings) as one sorted, comma-separated text. Messages are built
# with concat, not sprintf: rego-cpp quotes a computed string given to sprintf's %s.
list(items) := concat(", ", sort(items))

# The earliest line of one column fact (the same as earliest_line({col}), for less), or null.
line_of(col) := min(col.lines) if col.lines != [] else := null

# The earliest line among a set of column facts, or null.
earliest_line(cols) := min(lines) if {
	lines := {line | some col in cols; some line in col.lines}
	lines != set()
} else := null

# The source column facts behind a set of output columns.
sources_of(outs) := {col | some out in outs; some name in out.sources; col := columns_by_name[name]}

# A finding about the source columns behind outputs: the same columns and line as
# names(sources_of(outs)) and earliest_line(sources_of(outs)), read by name without rebuilding it.
sources_finding(message, outs) := {"message": message, "columns": sort(names), "line": lowest(lines)} if {
	by_name := columns_by_name
	names := {name | some out in outs; some name in out.sources; by_name[name]}
	lines := {line | some name in names; some line in by_name[name].lines}
}

# The least and the greatest of a set of numbers, by numeric comparison on every engine: rego-cpp
# (the regopy engine) orders numbers as text in min and max (min({9, 10}) is 10 there). For the
# few numbers a threshold decision compares (line numbers keep min: only a finding's line differs).
least(numbers) := x if {
	some x in numbers
	not exists_below(x, numbers)
}

greatest(numbers) := x if {
	some x in numbers
	not exists_above(x, numbers)
}

exists_below(x, numbers) if {
	some y in numbers
	y < x
}

exists_above(x, numbers) if {
	some y in numbers
	y > x
}

# The least of a set of lines, or null for none.
lowest(lines) := min(lines) if lines != set() else := null

# --- the job ------------------------------------------------------------------------------------

# The job's data leaves the agency.
off_agency if input.job.destination.kind in params.off_agency_kinds

inside_agency if input.job.destination.kind == "internal"

offshore if input.job.destination.region == "offshore"

has_tag(tag) if tag in input.job.tags

purpose_declared if {
	is_string(input.job.purpose)
	input.job.purpose != ""
}

# The output is not the result of an aggregate: one row may still describe one person.
in_output(out) if not "aggregate" in out.transforms

output_identifier(out) if {
	in_output(out)
	some cat in out.categories
	identifier_category(cat)
}

identifiable_outputs contains out if {
	cats := identifiable_output_categories
	cats != set()
	some out in input.outputs
	some cat in out.categories
	cat in cats
	not "aggregate" in out.transforms
}

identifier_outputs contains out if {
	cats := identifier_output_categories
	cats != set()
	some out in input.outputs
	some cat in out.categories
	cat in cats
	not "aggregate" in out.transforms
}

# An identifier is a group key: the groups are people.
identifier_grouped if {
	cats := identifier_column_categories
	cats != set()
	some col in input.columns
	"group" in col.uses
	some cat in col.categories
	cat in cats
}

# Rows of the result can describe single people (else-chains stop at the first answer).
person_level := true if {
	not input.aggregation.grouped
} else := true if {
	identifier_grouped
}

# The job materialises rows somewhere (a dbt model, a table target, or a write use).
writes := true if {
	input.job.kind == "dbt_model"
} else := true if {
	some out in input.outputs
	is_string(out.table)
} else := true if {
	some col in input.columns
	"write" in col.uses
}

# --- the purpose --------------------------------------------------------------------------------

# The purpose's sensitive_approved covers a category: true covers all; a list names categories,
# with or without the `sensitive:` prefix.
sensitive_approved(_) if input.purpose.sensitive_approved == true

sensitive_approved(cat) if cat in approved_categories

approved_categories := {name |
	some approved in input.purpose.sensitive_approved
	some name in {approved, concat("", ["sensitive:", approved])}
} if is_array(input.purpose.sensitive_approved)

linking_approved if input.purpose.linking_approved == true

# --- dates (string comparison of ISO dates: works on every engine, fails closed) ---------------

iso_date(text) if {
	is_string(text)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, text)
}

today := substring(input.kaitiaki.now, 0, 10) if {
	is_string(input.kaitiaki.now)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T`, input.kaitiaki.now)
}

# True only when `date` (YYYY-MM-DD) is today or later; undefined when anything is unreadable.
not_expired(date) if {
	iso_date(date)
	date >= today
}

# --- violations ---------------------------------------------------------------------------------

# The rule's METADATA (title, guideline, principle, law, level, remediation), which kaitiaki's
# loader copies from the `# METADATA` comments into data.kaitiaki.rules.
rules_metadata := data.kaitiaki.rules if is_object(data.kaitiaki.rules) else := {}

meta(id) := object.get(rules_metadata, id, {})

# The level a rule applies: its METADATA level, or `level_off_agency` when the job's data leaves
# the agency and the rule names one. A rule without METADATA is hard (fail closed).
rule_level(id) := level_for(meta(id))

level_for(m) := m.level_off_agency if {
	off_agency
	m.level_off_agency
} else := object.get(m, "level", "hard")

# The fields of each rule's violations, derived from its METADATA by kaitiaki's loader, for the
# data's destination: one lookup per finding. A rule id without them is read the slow way.
violation_fields := data.kaitiaki.violation_fields.off_agency if off_agency else := data.kaitiaki.violation_fields.internal

violation(id, message, columns, line) := object.union(fields, {"message": message, "columns": columns, "line": line}) if {
	fields := violation_fields[id]
} else := from_metadata(m, id, level_for(m), message, columns, line) if {
	m := meta(id)
}

# A rule's violation fields (title, guideline, level for this destination, ...): its
# violation_fields, else read from its METADATA. A rule that reports many columns looks them up
# once, not once per column.
rule_fields(id) := fields if {
	fields := violation_fields[id]
} else := from_metadata(meta(id), id, rule_level(id), "", [], null)

# The violation, with a rule's `fields` (rule_fields), about one column `col` named `name` (its
# qualified name), at the column's earliest line. (One call per column: it costs more than the
# builtins it runs.)
named_violation(fields, name, col, message) := object.union(fields, {"message": message, "columns": [name], "line": line}) if {
	line := min(col.lines) # undefined for a column without lines: the next branch
} else := object.union(fields, {"message": message, "columns": [name], "line": null})

# The violations of rule `id` about each column with some of `cats` (categories of the job's
# columns) among its own categories, "<column> is <those categories><rest>": one pass over the
# category pairs, the rule's fields looked up once.
category_violations(id, cats, rest) := {v |
	not_own := carried_in
	fields := rule_fields(id)
	some [first, col] in category_columns
	first in cats
	name := concat(".", [col.table, col.column])
	own := {cat | some cat in col.categories; cat in cats; not [name, cat] in not_own}
	own != set()
	v := named_violation(fields, name, col, concat("", [name, " is ", concat(", ", sort(own)), rest]))
}

# A violation about one column, whose message is the column's qualified name followed by `rest`.
column_violation(id, col, rest) := named_violation(rule_fields(id), name, col, concat("", [name, rest])) if {
	name := concat(".", [col.table, col.column])
}

violation_at(id, level, message, columns, line) := from_metadata(meta(id), id, level, message, columns, line)

from_metadata(m, id, level, message, columns, line) := {
	"rule": id,
	"title": object.get(m, "title", id),
	"guideline": object.get(m, "guideline", ""),
	"principle": object.get(m, "principle", ""),
	"law": object.get(m, "law", ""),
	"level": level,
	"message": message,
	"columns": columns,
	"line": line,
	"remediation": object.get(m, "remediation", ""),
	"waived": false,
}
