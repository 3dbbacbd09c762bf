# DPUP guideline "Purpose Matters": know why you use information about people, and use only what
# that purpose needs (He Tāngata, Mana Whakahaere, Kaitiakitanga; Privacy Act 2020 IPP9, 10, 13).
package kaitiaki.dpup.purpose_matters

import data.kaitiaki.lib
import data.kaitiaki.lib.column_categories
import data.kaitiaki.lib.foreign_uid_column_categories
import data.kaitiaki.lib.identifiable_column_categories
import data.kaitiaki.lib.identifiable_columns
import data.kaitiaki.lib.identifiable_output_categories
import data.kaitiaki.lib.identifiable_outputs
import data.kaitiaki.lib.identifier_outputs
import data.kaitiaki.lib.inside_agency
import data.kaitiaki.lib.linking_approved
import data.kaitiaki.lib.params
import data.kaitiaki.lib.person_level
import data.kaitiaki.lib.purpose_declared
import data.kaitiaki.lib.sensitive_column_categories
import data.kaitiaki.lib.today
import data.kaitiaki.lib.writes
import rego.v1

# Findings are {message, columns, line}; each rule turns its findings into violations.
finding(message, cols) := {"message": message, "columns": lib.names(cols), "line": lib.earliest_line(cols)}

# The same for one column named `name` (lib.qualified(col)), without building a set for it.
column_finding(message, name, col) := {"message": message, "columns": [name], "line": lib.line_of(col)}

purpose_name := sprintf("'%s'", [input.job.purpose]) if purpose_declared else := "(none)"

# The ends of the per-column messages of PM-03 and PM-08, built once per decision (lib.list inline).
not_allowed_by_purpose := concat("", [", which purpose ", purpose_name, " does not allow"])

not_approved_by_purpose := concat("", [", not approved by purpose ", purpose_name])

uses_personal_information if identifiable_column_categories != set()

# METADATA
# title: Purpose declared
# description: >-
#   Every use of personal information needs a well-defined purpose. A job that touches an
#   identifiable column (hashed or masked columns included) without declaring a purpose cannot
#   be checked against one.
# custom:
#   id: PM-01
#   level: hard
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: Privacy Act 2020 IPP10
#   remediation: >-
#     Declare the purpose: meta.kaitiaki.purpose on the dbt model, purpose= on the Airflow task,
#     or --purpose on the command line (kaitiaki purposes list shows the register).
violation contains v if {
	not purpose_declared
	uses_personal_information
	cols := identifiable_columns
	message := concat("", ["the job uses ", format_int(count(cols), 10), " identifiable column(s) (", lib.list(lib.names(cols)), ") but declares no purpose"])
	f := finding(message, cols)
	v := lib.violation("PM-01", f.message, f.columns, f.line)
}

# METADATA
# title: Purpose registered and in force
# description: >-
#   The declared purpose must be in the purpose register, approved by someone, and not expired
#   (an expiry date before today, or one that cannot be read, counts as expired).
# custom:
#   id: PM-02
#   level: hard
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: Privacy Act 2020 IPP10
#   remediation: Ask the purpose owner to register or renew the purpose, with its approver and expiry.
violation contains v if {
	uses_personal_information
	some problem in purpose_problems
	f := finding(problem, identifiable_columns)
	v := lib.violation("PM-02", f.message, f.columns, f.line)
}

purpose_problems contains sprintf("purpose %s is not in the purpose register", [purpose_name]) if {
	purpose_declared
	not is_object(object.get(input, "purpose", null))
}

purpose_problems contains sprintf("purpose %s has no approver (approved_by is empty)", [purpose_name]) if {
	is_object(input.purpose)
	not nonempty(object.get(input.purpose, "approved_by", null))
}

purpose_problems contains sprintf("purpose %s expired on %v", [purpose_name, input.purpose.expires]) if {
	is_object(input.purpose)
	input.purpose.expires != null
	not lib.not_expired(input.purpose.expires)
}

nonempty(text) if {
	is_string(text)
	trim_space(text) != ""
}

# METADATA
# title: Use within the purpose
# description: >-
#   An identifiable column may be used only if the purpose allows its categories (an allowed
#   family such as sensitive admits every sensitive:* category) and, when the purpose lists
#   allowed uses, only in those uses. A column the job only writes is reported for a category
#   only when none of its source columns in the job has it (else the source is reported). The
#   purpose's structured limits are enforced too: output_level aggregate (only grouped outputs
#   above the person), destinations (destination kinds) and regions; a description in prose is
#   not enforceable, these fields are.
# custom:
#   id: PM-03
#   level: hard
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: Privacy Act 2020 IPP10
#   judgement: >-
#     output_level aggregate is read structurally: an ungrouped output, or one grouped by an
#     identifier, is person-level.
#   remediation: Drop the column or the use, or have the purpose's approver extend the purpose.
violation contains v if {
	is_object(input.purpose)
	not_allowed := categories_outside
	not_allowed != set()
	some v in lib.category_violations("PM-03", not_allowed, not_allowed_by_purpose)
}

violation contains v if {
	is_object(input.purpose)
	count(input.purpose.allowed_uses) > 0
	not_allowed := uses_outside
	not_allowed != set()
	some col in identifiable_columns
	outside := {use | some use in col.uses; use in not_allowed}
	outside != set()
	v := lib.column_violation("PM-03", col, concat("", [" is used for ", lib.list(outside), ", which purpose ", purpose_name, " does not allow"]))
}

violation contains v if {
	purpose_limited
	uses_personal_information
	some problem in limits_broken(input.purpose)
	f := finding(problem, identifiable_columns)
	v := lib.violation("PM-03", f.message, f.columns, f.line)
}

# The purpose declares a structured limit (most do not: then nothing more is looked at).
purpose_limited if {
	is_object(input.purpose)
	some key in ["output_level", "destinations", "regions"]
	not object.get(input.purpose, key, null) in {null, []}
}

# The purpose's structured limits the job is outside of. (Functions, not rules: the embedded
# engine computes every rule a body names, whether or not the guards before it hold.)
limits_broken(purpose) := output_limit(purpose) | destination_limit(purpose) | region_limit(purpose)

output_limit(purpose) := {concat("", ["purpose ", purpose_name, " allows only aggregate outputs, but the job's output describes single people"])} if {
	object.get(purpose, "output_level", null) == "aggregate"
	person_level
	identifiable_outputs != set()
} else := set()

destination_limit(purpose) := {concat("", ["purpose ", purpose_name, " allows the destinations ", lib.list(allowed), ", not ", input.job.destination.kind])} if {
	allowed := object.get(purpose, "destinations", [])
	count(allowed) > 0
	not input.job.destination.kind in allowed
} else := set()

region_limit(purpose) := {concat("", ["purpose ", purpose_name, " allows the regions ", lib.list(allowed), ", not ", input.job.destination.region])} if {
	allowed := object.get(purpose, "regions", [])
	count(allowed) > 0
	not input.job.destination.region in allowed
} else := set()

# The identifiable categories and the uses of identifiable columns that the purpose does not
# allow, decided once each; only the columns that have one are looked at. An allowed entry
# admits a category itself, its family (`sensitive` admits `sensitive:health`), or everything
# (`*`, which PM-04 flags as vague).
categories_outside := {cat |
	some cat in identifiable_column_categories
	allowed := allowed_categories
	not "*" in allowed
	not cat in allowed
	not split(cat, ":")[0] in allowed
}

uses_outside := {use | some use in identifiable_uses; not allowed_use(use)}

identifiable_uses := {use | some col in identifiable_columns; some use in col.uses}

allowed_categories := {allowed | some allowed in input.purpose.allowed_categories}

allowed_use(use) if {
	some allowed in input.purpose.allowed_uses
	allowed in {use, "*"}
}

# METADATA
# title: Purpose is specific
# description: >-
#   A purpose must name its outcome, data, linking and users. A wildcard in the allowed
#   categories or uses, an empty description, or a description with a configured vague phrase
#   ("future use", "any purpose", ...) is broad future-proofing, which DPUP asks agencies to avoid.
# custom:
#   id: PM-04
#   level: soft
#   guideline: Purpose Matters
#   principle: Mana Whakahaere
#   law: DPUP guidance
#   remediation: Narrow the purpose to a named outcome, the data it needs, the linking it does and who sees the results.
violation contains v if {
	uses_personal_information
	some problem in vague_purpose
	v := lib.violation("PM-04", problem, [], null)
}

vague_purpose contains sprintf("purpose %s allows every category (*)", [purpose_name]) if {
	"*" in input.purpose.allowed_categories
}

vague_purpose contains sprintf("purpose %s allows every use (*)", [purpose_name]) if {
	"*" in input.purpose.allowed_uses
}

vague_purpose contains sprintf("purpose %s has no description", [purpose_name]) if {
	is_object(input.purpose)
	not nonempty(object.get(input.purpose, "description", null))
}

vague_purpose contains sprintf("purpose %s is described with the vague phrase '%s'", [purpose_name, phrase]) if {
	description := lower(input.purpose.description)
	some phrase in params.vague_phrases
	contains(description, lower(phrase))
}

# METADATA
# title: No SELECT * on identifiable tables
# description: >-
#   Reading a table through SELECT * takes every column, including identifiable ones the job
#   may not need, and silently takes new ones as the table grows.
# custom:
#   id: PM-05
#   level: soft
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: DPUP Purpose Matters good practice beyond the Act; Privacy Act 2020 IPP10 for use within the purpose
#   remediation: List the columns you need instead of SELECT * (or t.*).
violation contains v if {
	some table in {col.table | some col in identifiable_star_columns}
	cols := {col | some col in identifiable_star_columns; col.table == table}
	message := concat("", ["SELECT * reads ", format_int(count(cols), 10), " identifiable column(s) of ", table, ": ", lib.list(lib.names(cols))])
	f := finding(message, cols)
	v := lib.violation("PM-05", f.message, f.columns, f.line)
}

identifiable_star_columns := {col |
	identifiable := identifiable_column_categories
	some col in input.columns
	col.from_star == true
	some cat in col.categories
	cat in identifiable
}

# METADATA
# title: No identifiable columns read and unused
# description: >-
#   An identifiable column that is selected but reaches no output, join, filter or grouping is
#   read for nothing: it should not be read at all.
# custom:
#   id: PM-06
#   level: soft
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: DPUP Purpose Matters good practice beyond the Act; Privacy Act 2020 IPP10 for use within the purpose
#   remediation: Remove the column from the query or the CTE that reads it.
violation contains v if {
	identifiable := identifiable_column_categories
	some col in input.columns
	col.outputs == []
	{use | some use in col.uses} == {"select"}
	some cat in col.categories
	cat in identifiable
	v := lib.column_violation("PM-06", col, " is read but never used")
}

# METADATA
# title: One person key is enough
# description: >-
#   A person-level output needs at most one key to the person. Several identifiers side by side
#   (name, NHI and client id) make the output more identifying than any purpose needs.
# custom:
#   id: PM-07
#   level: soft
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: DPUP Purpose Matters good practice beyond the Act; Privacy Act 2020 IPP10 for use within the purpose
#   remediation: Keep one agency-local or pseudonymous key and drop the other identifiers.
violation contains v if {
	person_level
	identifiers := identifier_outputs
	some table in {out.table | some out in identifiers}
	outs := {out | some out in identifiers; out.table == table}
	count(identities(outs)) > 1
	message := concat("", [format_int(count(outs), 10), " identifiers reach the person-level output ", output_target(table), ": ", concat(", ", sort({out.column | some out in outs}))])
	f := lib.sources_finding(message, outs)
	v := lib.violation("PM-07", f.message, f.columns, f.line)
}

# Outputs fed by the same source columns are one identifier, however often they are repeated.
identities(outs) := {sort(out.sources) | some out in outs; out.sources != []} | {[out.column] | some out in outs; out.sources == []}

output_target(table) := table if is_string(table) else := "(query result)"

# METADATA
# title: Sensitive attributes need approval
# description: >-
#   Sensitive attributes (ethnicity, health, gender, religion, sexuality, disability, justice,
#   iwi) need the purpose's explicit approval (sensitive_approved), for they carry a higher risk
#   of harm to people and communities. A column the job only writes is reported only for a
#   category none of its source columns in the job has (else the source is reported).
# custom:
#   id: PM-08
#   level: soft
#   guideline: Purpose Matters
#   principle: Manaakitanga
#   law: OPC guidance on sensitive information (the Act lists no sensitive categories); Privacy Act 2020 IPP10
#   remediation: Get the category approved on the purpose (sensitive_approved), or drop or coarsen the column.
violation contains v if {
	unapproved := unapproved_sensitive_categories
	unapproved != set()
	some v in lib.category_violations("PM-08", unapproved, not_approved_by_purpose)
}

unapproved_sensitive_categories := {cat | some cat in sensitive_column_categories; not lib.sensitive_approved(cat)}

# METADATA
# title: Children's data
# description: >-
#   Information about children needs particular care: a column or table with category child
#   is allowed only when the purpose approves it (sensitive_approved true or naming child). A
#   column or table the job only writes is reported only when no source column in the job is
#   child (else the source is reported).
# custom:
#   id: PM-09
#   level: soft
#   guideline: Purpose Matters
#   principle: He Tāngata, Manaakitanga
#   law: DPUP guidance; OPC guidance on children's information (IPP4 governs collection, not this use)
#   remediation: Name children in the purpose (sensitive_approved), and prefer aggregates.
violation contains v if {
	some f in children_findings
	v := lib.violation("PM-09", f.message, f.columns, f.line)
}

children_findings contains column_finding(concat("", [name, " holds children's data, not approved by purpose ", purpose_name]), name, col) if {
	"child" in column_categories
	some col in input.columns
	"child" in lib.own_categories(col)
	not lib.sensitive_approved("child")
	name := lib.qualified(col)
}

children_findings contains finding(concat("", ["table ", table.name, " holds children's data, not approved by purpose ", purpose_name]), cols) if {
	some table in input.tables
	"child" in table.categories
	"child" in lib.table_categories(table)
	not lib.sensitive_approved("child")
	cols := {col | some col in input.columns; col.table == table.name}
}

# METADATA
# title: Linking needs approval
# description: >-
#   Joining tables on identifiable columns links records about the same people; the purpose must
#   state the linkage and approve it (linking_approved).
# custom:
#   id: PM-10
#   level: soft
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: DPUP guidance
#   remediation: State the linkage in the purpose and set linking_approved, or join on non-identifying keys.
violation contains v if {
	not linking_approved
	identifiable := identifiable_column_categories
	some join in input.joins
	join.left.table != join.right.table
	joins_on_any(join, identifiable)
	names := join_names(join)
	v := lib.violation("PM-10", concat("", ["the join of ", concat(" = ", names), " links people's records without approval on purpose ", purpose_name]), names, join.line)
}

# A side of the join is a column of this job with one of `cats`.
joins_on_any(join, cats) if {
	some col in join_columns(join)
	some cat in col.categories
	cat in cats
}

join_columns(join) := {col | some side in [join.left, join.right]; col := lib.column_fact(side.table, side.column)}

join_names(join) := sort({concat(".", [side.table, side.column]) | some side in [join.left, join.right]})

# METADATA
# title: Another agency's unique identifier
# description: >-
#   IPP13 restricts assigning another agency's unique identifier (NHI for the Ministry of Health,
#   IRD numbers for Inland Revenue, ...) as this agency's own; recording and using it to deal with
#   that agency is allowed. So this rule fires for joining on a foreign identifier without
#   approved linking (a use outside the purpose: IPP10), for a person-level output keyed only by a
#   foreign identifier (adopting it as the job's own key: IPP13) unless the output goes to the
#   agency that issued it (dealing with that agency by its own identifier), and for recording it raw in a
#   person-level output with neither approved linking nor a sharing agreement. Recording it
#   beside the agency's own key under approved linking or an agreement is not a breach (PM-07 may
#   still apply); a foreign identifier leaving the agency is SV-03's.
# custom:
#   id: PM-11
#   level: hard
#   guideline: Purpose Matters
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP13 (assigning unique identifiers); IPP10 (use within the purpose)
#   judgement: >-
#     recording a foreign identifier beside the agency's own key needs approved linking or an
#     agreement on the purpose; neither is in the Act's text, both stand for the IPP10 purpose the
#     recording serves.
#   remediation: >-
#     Join on an approved linking key (or have the purpose approve the linkage), and keep the
#     agency's own key beside a foreign identifier you record; never make NHI or IRD numbers your own key.
violation contains v if {
	foreign_uid_column_categories != set() # every finding needs one: most jobs stop here
	some f in foreign_uid_findings
	v := lib.violation("PM-11", f.message, f.columns, f.line)
}

foreign_uid_findings contains {"message": message, "columns": names, "line": join.line} if {
	not linking_approved
	foreign := foreign_uid_column_categories
	foreign != set()
	some join in input.joins
	schemes := {lib.uid_scheme(cat) | some col in join_columns(join); some cat in col.categories; cat in foreign}
	schemes != set()
	names := join_names(join)
	message := concat("", ["the join of ", concat(" = ", names), " uses another agency's identifier (", lib.list(schemes), ") without approved linking"])
}

foreign_uid_findings contains lib.sources_finding(message, outs) if {
	person_level
	foreign := foreign_uid_column_categories
	foreign != set()
	raw := raw_foreign(foreign)
	some table in {out.table | some out in raw}
	outs := {out | some out in raw; out.table == table}
	not own_key_beside(table)
	not back_to_issuer(outs)
	message := concat("", ["another agency's identifier (", lib.list({out.column | some out in outs}), ") is the only key of the person-level output ", output_target(table), ": adopting it as this job's own key"])
}

foreign_uid_findings contains lib.sources_finding(message, outs) if {
	person_level
	not linking_approved
	not sharing_agreement_given
	foreign := foreign_uid_column_categories
	foreign != set()
	raw := raw_foreign(foreign)
	some table in {out.table | some out in raw}
	own_key_beside(table)
	outs := {out | some out in raw; out.table == table}
	message := concat("", ["another agency's identifier (", lib.list({out.column | some out in outs}), ") is recorded in ", output_target(table), " with neither approved linking nor a sharing agreement"])
}

# A rule, negated above: `not is_object(input.purpose.sharing_agreement)` would be undefined on OPA
# when there is no purpose (OPA evaluates the reference before the `not`).
sharing_agreement_given if is_object(input.purpose.sharing_agreement)

# Outputs carrying one of the `foreign` unique identifier categories raw (not hashed).
raw_foreign(foreign) := {out |
	some out in identifier_outputs
	some cat in out.categories
	cat in foreign
	not "hash" in out.transforms
}

# The job's destination is the agency that issued every unique identifier in `outs`.
back_to_issuer(outs) if {
	name := input.job.destination.name
	is_string(name)
	{lib.issuer(lib.uid_scheme(cat)) | some out in outs; some cat in out.categories; startswith(cat, "unique_identifier:")} == {name}
}

# The output table also has a key of the agency's own: its own unique identifier or a person key.
own_key_beside(table) if {
	some out in identifier_outputs
	out.table == table
	some cat in out.categories
	own_key(cat)
}

own_key(cat) if cat == "person_key"

own_key(cat) if {
	startswith(cat, "unique_identifier:")
	not lib.foreign_uid_category(cat)
}

# METADATA
# title: Retention bounded
# description: >-
#   A job that writes person-level identifiable rows inside the agency says how long they are kept
#   with a retention tag holding an ISO-8601 duration (retention:P2Y, retention:P18M) or a date
#   (retention:2027-06-30). No tag, an unbounded value (forever, indefinite), or a period ending
#   after the purpose expires is reported. Advisory: other laws may require a longer keeping.
#   Durations in weeks or days are rounded up to whole months.
# custom:
#   id: PM-12
#   level: advisory
#   guideline: Purpose Matters
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP9
#   judgement: >-
#     durations in weeks or days are rounded up to whole months when compared with the purpose's
#     expiry.
#   remediation: >-
#     Tag the job with a bounded retention that ends by the purpose's expiry (e.g. retention:P2Y or
#     retention:2027-06-30) and schedule the deletion (kaitiaki cannot verify it).
violation contains v if {
	inside_agency
	person_level
	writes
	identifiable_output_categories != set()
	some problem in retention_problems(retention_values(input.job.tags))
	outs := identifiable_outputs
	message := concat("", ["the job writes person-level identifiable columns (", lib.list({out.column | some out in outs}), ") ", problem])
	f := lib.sources_finding(message, outs)
	v := lib.violation("PM-12", f.message, f.columns, f.line)
}

# The retention values among a job's tags (retention:P2Y → P2Y).
retention_values(tags) := {substring(tag, count(params.retention_tag_prefix), -1) |
	some tag in tags
	startswith(tag, params.retention_tag_prefix)
}

# What is wrong with the retention `values` of a job (functions, not rules: see limits_broken).
# Each value's end is worked out once (a duration's end costs regular expressions and arithmetic).
retention_problems(values) := {"with no retention tag"} if {
	count(values) == 0
} else := retention_value_problems(values, {value: end | some value in values; end := retention_end(value)})

retention_value_problems(values, ends) := unbounded_retention(values, ends) | retention_past_expiry(values, ends)

unbounded_retention(values, ends) := {concat("", ["with retention ", value, ", which is not a bounded period (an ISO-8601 duration such as P2Y, or a date)"]) |
	some value in values
	not ends[value]
}

retention_past_expiry(values, ends) := {concat("", ["with retention ", value, " ending ", end, ", after purpose ", purpose_name, " expires (", input.purpose.expires, ")"]) |
	lib.iso_date(input.purpose.expires)
	some value in values
	end := ends[value]
	end > input.purpose.expires
}

# The last day a retention value keeps the rows (YYYY-MM-DD), undefined when it is unbounded. A
# duration's parts are read once each ([unit, amount]), and each unit's amounts summed in order.
retention_end(value) := value if {
	lib.iso_date(value)
} else := sprintf("%04d-%02d-%s", [floor(months / 12), (months % 12) + 1, substring(today, 8, 2)]) if {
	regex.match(`^P([0-9]+[YMWD])+$`, value)
	amounts := [[part[2], to_number(part[1])] | some part in regex.find_all_string_submatch_n(`([0-9]+)([YMWD])`, value, -1)]
	days := sum([n | some [unit, n] in amounts; unit == "D"]) + (7 * sum([n | some [unit, n] in amounts; unit == "W"]))
	start := (to_number(substring(today, 0, 4)) * 12) + to_number(substring(today, 5, 2)) - 1
	months := ((start + (12 * sum([n | some [unit, n] in amounts; unit == "Y"]))) + sum([n | some [unit, n] in amounts; unit == "M"])) + ceil(days / 28)
}
