# DPUP guideline "Sharing Value": share insights, not people; keep shared data safe and watch for
# harm to groups (Mahitahitanga, Kaitiakitanga, Manaakitanga; Privacy Act 2020 IPP11, IPP12;
# Stats NZ output rules; Te Tiriti o Waitangi).
package kaitiaki.dpup.sharing_value

import data.kaitiaki.lib
import data.kaitiaki.lib.column_categories
import data.kaitiaki.lib.identifiable_outputs
import data.kaitiaki.lib.identifier_column_categories
import data.kaitiaki.lib.identifier_outputs
import data.kaitiaki.lib.off_agency
import data.kaitiaki.lib.offshore
import data.kaitiaki.lib.params
import data.kaitiaki.lib.person_level
import data.kaitiaki.lib.sensitive_column_categories
import data.kaitiaki.lib.sensitive_columns
import rego.v1

finding(message, cols) := {"message": message, "columns": lib.names(cols), "line": lib.earliest_line(cols)}

output_names(outs) := lib.list({out.column | some out in outs})

agreement := input.purpose.sharing_agreement if is_object(input.purpose.sharing_agreement)

has_offshore_basis if {
	is_string(agreement.offshore_basis)
	trim_space(agreement.offshore_basis) != ""
}

# METADATA
# title: Sharing needs an agreement
# description: >-
#   Person-level identifiable data may leave the agency only under an information-sharing
#   agreement recorded on the purpose, and never to a public destination.
# custom:
#   id: SV-01
#   level: hard
#   guideline: Sharing Value
#   principle: Mahitahitanga
#   law: Privacy Act 2020 IPP11
#   remediation: Share aggregates instead, or attach the sharing agreement to the purpose.
violation contains v if {
	off_agency
	person_level
	outs := identifiable_outputs
	outs != set()
	some reason in sharing_blocked
	message := concat("", ["person-level identifiable columns (", output_names(outs), ") leave the agency, but ", reason])
	f := lib.sources_finding(message, outs)
	v := lib.violation("SV-01", f.message, f.columns, f.line)
}

sharing_blocked contains "the destination is public" if input.job.destination.kind == "public"

sharing_blocked contains "the purpose has no sharing agreement" if {
	input.job.destination.kind != "public"
	not agreement
}

# METADATA
# title: Offshore destination
# description: >-
#   Personal information sent offshore needs a recorded IPP12 basis: comparable safeguards,
#   model contract clauses, or the person's informed authorisation.
# custom:
#   id: SV-02
#   level: hard
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP12
#   remediation: >-
#     Record the IPP12 basis as the sharing agreement's offshore_basis. Storage by an offshore
#     agent (section 11) is not a disclosure: ask for a waiver naming the job.
violation contains v if {
	offshore
	outs := identifiable_outputs
	outs != set()
	not has_offshore_basis
	message := concat("", ["identifiable columns (", output_names(outs), ") go offshore with no recorded IPP12 basis"])
	f := lib.sources_finding(message, outs)
	v := lib.violation("SV-02", f.message, f.columns, f.line)
}

# METADATA
# title: De-identify before sharing
# description: >-
#   An identifier leaving the agency raw (or merely truncated) identifies people, unless the
#   sharing agreement is explicitly for identified data.
# custom:
#   id: SV-03
#   level: hard
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP11
#   remediation: Drop the identifier, replace it with a keyed hash (HMAC), or aggregate.
violation contains v if {
	off_agency
	not agreement.identified == true
	some out in input.outputs
	raw_identifier(out)
	message := sprintf("the identifier %s leaves the agency unhashed and the sharing agreement is not for identified data", [out.column])
	f := lib.sources_finding(message, {out})
	v := lib.violation("SV-03", f.message, f.columns, f.line)
}

raw_identifier(out) if {
	lib.output_identifier(out)
	some transform in out.transforms
	transform in {"none", "cast", "truncate"}
}

raw_identifier(out) if {
	lib.output_identifier(out)
	count(out.transforms) == 0
}

# METADATA
# title: Hashing is not anonymisation
# description: >-
#   A hashed identifier is a pseudonym, still personal information: an unkeyed hash of an 8-9
#   digit IRD number or an NHI is reversed by enumerating every possible value.
# custom:
#   id: SV-04
#   level: soft
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP11 (pseudonymised data is still personal information)
#   remediation: >-
#     Treat it as personal information (SV-01 and SV-02 apply). Use HMAC with a secret the
#     agency holds, or aggregate.
violation contains v if {
	off_agency
	some out in input.outputs
	pseudonym(out)
	message := sprintf("%s leaves the agency as a pseudonym (hashed identifier), which is not anonymous", [out.column])
	f := lib.sources_finding(message, {out})
	v := lib.violation("SV-04", f.message, f.columns, f.line)
}

pseudonym(out) if {
	lib.in_output(out)
	"person_key" in out.categories
}

pseudonym(out) if {
	lib.output_identifier(out)
	"hash" in out.transforms
}

# METADATA
# title: No identifiers in insight outputs
# description: >-
#   An insight (a grouped result, or a job tagged insight) is about groups, not people: no
#   identifier may reach its output or define its groups. Soft inside the agency, hard when the
#   insight leaves it.
# custom:
#   id: SV-05
#   level: soft
#   level_off_agency: hard
#   guideline: Sharing Value
#   principle: Mahitahitanga
#   law: Privacy Act 2020 IPP11 (when shared)
#   remediation: Aggregate above the level of the person, and drop identifiers from the group keys.
violation contains v if {
	insight
	some f in identifiers_in_insight
	v := lib.violation("SV-05", f.message, f.columns, f.line)
}

insight if input.aggregation.grouped == true

insight if {
	some tag in params.insight_tags
	lib.has_tag(tag)
}

identifiers_in_insight contains lib.sources_finding(sprintf("the identifier %s is in the output of an insight", [out.column]), {out}) if {
	some out in identifier_outputs
}

identifiers_in_insight contains {"message": concat("", ["the identifier ", name, " is a group key of an insight"]), "columns": [name], "line": lib.line_of(col)} if {
	identifier := identifier_column_categories
	some col in input.columns
	"group" in col.uses
	some cat in col.categories
	cat in identifier
	name := lib.qualified(col)
}

# METADATA
# title: Small-cell suppression
# description: >-
#   Counts of fewer than 6 people, and sums or means over fewer than 20, can identify people.
#   The minimum group size must be enforced in the SQL (HAVING COUNT(DISTINCT person) >= n).
#   Advisory inside the agency, hard when the figures leave it (Stats NZ output rules).
# custom:
#   id: SV-06
#   level: advisory
#   level_off_agency: hard
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Stats NZ microdata output rules; Privacy Act 2020 IPP11
#   remediation: >-
#     Add HAVING COUNT(DISTINCT person_key) >= {min_count_cell} (>= {min_magnitude_cell} for sums and means). Count people, not
#     rows. The thresholds are policy data (min_count_cell, min_magnitude_cell).
violation contains v if {
	some problem in small_cells
	cols := {col | some col in input.columns; "aggregate" in col.transforms}
	f := finding(problem, cols)
	v := lib.violation("SV-06", f.message, f.columns, f.line)
}

small_cells contains sprintf("counts are produced with %s (at least %d needed)", [group_size_text, params.min_count_cell]) if {
	input.aggregation.count == true
	not group_size_at_least(params.min_count_cell)
}

small_cells contains concat("", ["sums or means (", lib.list(input.aggregation.magnitudes), ") are produced with ", group_size_text, " (at least ", format_int(params.min_magnitude_cell, 10), " needed)"]) if {
	count(input.aggregation.magnitudes) > 0
	not group_size_at_least(params.min_magnitude_cell)
}

group_size_at_least(threshold) if {
	is_number(input.aggregation.min_group_size)
	input.aggregation.min_group_size >= threshold
}

group_size_text := sprintf("a minimum group size of %d", [input.aggregation.min_group_size]) if {
	is_number(input.aggregation.min_group_size)
} else := "no minimum group size"

# METADATA
# title: Counts randomly rounded
# description: >-
#   Counts that leave the agency are randomly rounded to base 3 (RR3) after suppression. SQL
#   cannot show the rounding, so the job declares it with a tag (params.rounding_tags).
# custom:
#   id: SV-07
#   level: soft
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Stats NZ confidentiality rules (RR3)
#   remediation: Apply RR3 after suppression and tag the job conf:rr3.
violation contains v if {
	off_agency
	input.aggregation.count == true
	not rounded
	cols := {col | some col in input.columns; "aggregate" in col.transforms}
	f := finding("counts leave the agency with no declaration of random rounding (RR3)", cols)
	v := lib.violation("SV-07", f.message, f.columns, f.line)
}

rounded if {
	some tag in params.rounding_tags
	lib.has_tag(tag)
}

# METADATA
# title: Māori data
# description: >-
#   Iwi affiliation, and ethnicity used to select or group people, are Māori data: a taonga over
#   which Māori hold rights as Treaty partners. Advisory inside the agency, soft when it leaves.
#   A column the job only writes is reported only for an iwi category none of its source columns
#   in the job has (else the source is reported).
# custom:
#   id: SV-08
#   level: advisory
#   level_off_agency: soft
#   guideline: Sharing Value
#   principle: Manaakitanga, Mana Whakahaere
#   law: Te Tiriti o Waitangi (DPUP guidance)
#   remediation: >-
#     Record a Māori data governance review (for example under Te Kāhui Raraunga's model) and
#     involve Māori and iwi partners; a waiver records the review.
violation contains v if {
	some col in maori_data_columns
	v := lib.column_violation("SV-08", col, concat("", [" is Māori data (", lib.list({cat | some cat in lib.own_categories(col); maori_category(cat)}), ")"]))
}

# Sensitive columns holding Māori data: an iwi category, or an ethnicity category used to select
# or group people. The categories are checked once each; columns only when one is present.
maori_data_columns contains col if {
	iwi := iwi_categories
	iwi != set()
	some col in sensitive_columns
	some cat in lib.own_categories(col)
	cat in iwi
}

maori_data_columns contains col if {
	ethnicity := ethnicity_categories
	ethnicity != set()
	sensitive := sensitive_column_categories
	some col in input.columns
	some cat in col.categories
	cat in ethnicity
	some use in col.uses
	use in {"filter", "group"}
	some other in col.categories
	other in sensitive
}

iwi_categories := {cat | listed := params.maori_data_categories; some cat in column_categories; cat in listed}

ethnicity_categories := {cat | listed := params.ethnicity_categories; some cat in column_categories; cat in listed}

maori_category(cat) if cat in params.maori_data_categories

maori_category(cat) if cat in params.ethnicity_categories
