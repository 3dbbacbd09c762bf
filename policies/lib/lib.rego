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
#
# A category is `kind` or `kind:detail` (unique_identifier:nhi, sensitive:health). Membership of
# the kind in a set is one lookup: regorus runs these checks for every column of every job.

# Kinds that name a direct, unique or pseudonymous key to one person.
identifier_kinds := {"direct_identifier", "unique_identifier", "person_key"}

# Kinds that make a column personal information (hashed and masked columns still count).
identifiable_kinds := identifier_kinds | {"quasi_identifier", "sensitive", "child"}

kind(cat) := split(cat, ":")[0]

identifiable_category(cat) if kind(cat) in identifiable_kinds

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

# --- columns (each set is computed once per decision) ------------------------------------------

identifiable(col) if {
	some cat in col.categories
	split(cat, ":")[0] in identifiable_kinds
}

identifier(col) if {
	some cat in col.categories
	split(cat, ":")[0] in identifier_kinds
}

sensitive_categories(col) := {cat | some cat in col.categories; startswith(cat, "sensitive:")}

identifiable_columns contains col if {
	some col in input.columns
	identifiable(col)
}

sensitive_columns contains col if {
	some col in input.columns
	some cat in col.categories
	startswith(cat, "sensitive:")
}

foreign_uid_columns contains col if {
	some col in input.columns
	some cat in col.categories
	startswith(cat, "unique_identifier:")
	foreign_uid_category(cat)
}

qualified(col) := concat(".", [col.table, col.column])

columns_by_name := {qualified(col): col | some col in input.columns}

# The column fact for `table.column` (from a join side or an output's sources).
column_fact(table, column) := columns_by_name[concat(".", [table, column])]

column_named(name) := columns_by_name[name]

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
	not "aggregate" in out.transforms
	some cat in out.categories
	split(cat, ":")[0] in identifiable_kinds
}

output_identifier(out) if {
	not "aggregate" in out.transforms
	some cat in out.categories
	split(cat, ":")[0] in identifier_kinds
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
meta(id) := data.kaitiaki.rules[id]

meta(id) := {} if not data.kaitiaki.rules[id]

# The level a rule applies: its METADATA level, or `level_off_agency` when the job's data leaves
# the agency and the rule names one. A rule without METADATA is hard (fail closed).
rule_level(id) := level_for(meta(id))

level_for(m) := m.level_off_agency if {
	off_agency
	m.level_off_agency
} else := object.get(m, "level", "hard")

violation(id, message, columns, line) := from_metadata(meta(id), id, level_for(meta(id)), message, columns, line)

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
