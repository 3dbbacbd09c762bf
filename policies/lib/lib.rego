# Helper functions shared by every kaitiaki policy package.
#
# The terms of dpup-rules.md §2 (identifiable, identifier, off-agency, in output, person-level,
# foreign UID) are defined here once, so every rule reads them the same way. Only facts about
# columns reach these functions: never data values.
package kaitiaki.lib

import rego.v1

# --- parameters (policies/dpup/data.json, overridable by policy_data in kaitiaki.yaml) ---------

params := data.kaitiaki.params

# --- categories ---------------------------------------------------------------------------------

# A category names a direct, unique or pseudonymous key to one person.
identifier_category(cat) if cat == "direct_identifier"

identifier_category(cat) if startswith(cat, "unique_identifier:")

identifier_category(cat) if cat == "person_key"

# A category that makes a column personal information (hashed and masked columns still count).
identifiable_category(cat) if identifier_category(cat)

identifiable_category(cat) if cat == "quasi_identifier"

identifiable_category(cat) if sensitive_category(cat)

identifiable_category(cat) if cat == "child"

sensitive_category(cat) if startswith(cat, "sensitive:")

# `allowed` (an entry of a purpose's allowed_categories) admits `cat`: itself, its family
# (`sensitive` admits `sensitive:health`) or everything (`*`, which PM-04 flags as vague).
admits(allowed, cat) if allowed == cat

admits(allowed, cat) if startswith(cat, concat("", [allowed, ":"]))

admits(allowed, _) if allowed == "*"

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

# --- columns ------------------------------------------------------------------------------------

identifiable(col) if {
	some cat in col.categories
	identifiable_category(cat)
}

identifier(col) if {
	some cat in col.categories
	identifier_category(cat)
}

sensitive_categories(col) := {cat | some cat in col.categories; sensitive_category(cat)}

foreign_uid(col) if {
	some cat in col.categories
	foreign_uid_category(cat)
}

qualified(col) := concat(".", [col.table, col.column])

# The first SQL line where the column appears, or null when the analysis gave none.
first_line(col) := min(col.lines) if {
	count(col.lines) > 0
} else := null

identifiable_columns contains col if {
	some col in input.columns
	identifiable(col)
}

# The column fact for `table.column` (from a join side or an output's sources).
column_fact(table, column) := col if {
	some col in input.columns
	col.table == table
	col.column == column
}

column_named(name) := col if {
	some col in input.columns
	qualified(col) == name
}

# --- many columns at once -----------------------------------------------------------------------

# Sorted qualified names of a set of column facts.
names(cols) := sort({qualified(col) | some col in cols})

# Items (a set or an array of strings) as one sorted, comma-separated text. Messages are built
# with concat, not sprintf: rego-cpp quotes a computed string given to sprintf's %s.
list(items) := concat(", ", sort(items))

# The earliest line among a set of column facts, or null.
earliest_line(cols) := min(lines) if {
	lines := {line | some col in cols; some line in col.lines}
	count(lines) > 0
} else := null

# The source column facts behind a set of output columns.
sources_of(outs) := {col | some out in outs; some name in out.sources; col := column_named(name)}

# --- the job ------------------------------------------------------------------------------------

# The job's data leaves the agency.
off_agency if input.job.destination.kind in params.off_agency_kinds

internal if input.job.destination.kind == "internal"

offshore if input.job.destination.region == "offshore"

has_tag(tag) if tag in input.job.tags

has_tag_prefix(prefix) if {
	some tag in input.job.tags
	startswith(tag, prefix)
}

purpose_declared if {
	is_string(input.job.purpose)
	input.job.purpose != ""
}

# The output is not the result of an aggregate: one row may still describe one person.
in_output(out) if not "aggregate" in out.transforms

output_identifiable(out) if {
	in_output(out)
	some cat in out.categories
	identifiable_category(cat)
}

output_identifier(out) if {
	in_output(out)
	some cat in out.categories
	identifier_category(cat)
}

identifiable_outputs contains out if {
	some out in input.outputs
	output_identifiable(out)
}

identifier_outputs contains out if {
	some out in input.outputs
	output_identifier(out)
}

# An identifier is a group key: the groups are people.
identifier_grouped if {
	some col in input.columns
	identifier(col)
	"group" in col.uses
}

# Rows of the result can describe single people.
person_level if not input.aggregation.grouped

person_level if identifier_grouped

# The job materialises rows somewhere (a table target, a dbt model, or a write use).
writes if {
	some out in input.outputs
	is_string(out.table)
}

writes if input.job.kind == "dbt_model"

writes if {
	some col in input.columns
	"write" in col.uses
}

# --- the purpose --------------------------------------------------------------------------------

# The purpose's sensitive_approved covers a category (true covers all; a list names categories,
# with or without the `sensitive:` prefix).
sensitive_approved(_) if input.purpose.sensitive_approved == true

sensitive_approved(cat) if {
	some approved in approved_list
	approved == cat
}

sensitive_approved(cat) if {
	some approved in approved_list
	concat("", ["sensitive:", approved]) == cat
}

approved_list := input.purpose.sensitive_approved if is_array(input.purpose.sensitive_approved)

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
meta(id) := data.kaitiaki.rules[id]

meta(id) := {} if not data.kaitiaki.rules[id]

# The level a rule applies: its METADATA level, or `level_off_agency` when the job's data leaves
# the agency and the rule names one. A rule without METADATA is hard (fail closed).
rule_level(id) := meta(id).level_off_agency if {
	off_agency
	meta(id).level_off_agency
} else := object.get(meta(id), "level", "hard")

violation(id, message, columns, line) := violation_at(id, rule_level(id), message, columns, line)

violation_at(id, level, message, columns, line) := {
	"rule": id,
	"title": object.get(meta(id), "title", id),
	"guideline": object.get(meta(id), "guideline", ""),
	"principle": object.get(meta(id), "principle", ""),
	"law": object.get(meta(id), "law", ""),
	"level": level,
	"message": message,
	"columns": columns,
	"line": line,
	"remediation": object.get(meta(id), "remediation", ""),
	"waived": false,
}
