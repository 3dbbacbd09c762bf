# DPUP guideline "Sharing Value": share insights, not people; keep shared data safe and watch for
# harm to groups (Mahitahitanga, Kaitiakitanga, Manaakitanga). The legal limits these rules enforce
# are the Privacy Act 2020's (IPP11 disclosure, IPP12 disclosure abroad, s7 personal information)
# and, for Stats NZ / IDI data, Stats NZ's output rules: the law is the source, the DPUP guideline
# the context (DPUP calls itself good practice "as opposed to legal requirements").
package kaitiaki.dpup.sharing_value

import data.kaitiaki.lib
import data.kaitiaki.lib.category_columns
import data.kaitiaki.lib.column_categories
import data.kaitiaki.lib.columns_by_name
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

identified_agreement if agreement.identified == true

pseudonymised_agreement if agreement.pseudonymised == true

# METADATA
# title: Sharing needs an agreement
# description: >-
#   Person-level identifiable data may leave the agency only under an information-sharing
#   agreement recorded on the purpose, and never to a public destination. The source is IPP11
#   (limits on disclosure); DPUP's Sharing Value guideline is the context.
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
#   IPP12 restricts disclosing personal information to a foreign person or entity: it needs a
#   recorded basis (the recipient is subject to the Act or comparable law, a prescribed country or
#   scheme, contractual safeguards, or the person's express authorisation). Hard when the data
#   leaves the agency. Sending data to the agency's own offshore cloud or service provider is
#   not a disclosure (section 11: the provider is the agency's agent), so an internal destination
#   offshore is soft, for IPP5 still asks the agency to make sure its agent does not use the data
#   for its own purposes.
# custom:
#   id: SV-02
#   level: soft
#   level_off_agency: hard
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP12 (disclosure abroad); s11 and IPP5 for an agent storing or processing on the agency's behalf
#   judgement: >-
#     an internal destination in an offshore region is read as the agency's own agent (section 11),
#     so soft; whether a given provider really is an agent (no use for its own purposes) is for the
#     contract, which the waiver names.
#   remediation: >-
#     Record the IPP12 basis as the sharing agreement's offshore_basis, or keep the data in New
#     Zealand.
violation contains v if {
	offshore
	outs := identifiable_outputs
	outs != set()
	not has_offshore_basis
	message := concat("", ["identifiable columns (", output_names(outs), ") go offshore with ", offshore_what])
	f := lib.sources_finding(message, outs)
	v := lib.violation("SV-02", f.message, f.columns, f.line)
}

# Inside the agency the data goes to its own agent (section 11): the message says how to lift the
# soft finding, which the hard, off-agency one cannot be.
offshore_what := "no recorded IPP12 basis" if off_agency else := concat(" ", [
	"no recorded IPP12 basis. An internal destination offshore is the agency's own agent",
	"(section 11), not a disclosure: a waiver naming the agent contract, which must bar the agent",
	"from using the data for its own purposes (IPP5), lifts this soft finding",
])

# METADATA
# title: De-identify before sharing
# description: >-
#   An identifier leaving the agency raw, truncated, or under an unkeyed hash (md5, sha*, digest,
#   hash, farm_fingerprint, xxhash64: reversed by hashing every possible value) identifies people,
#   unless the sharing agreement is for identified data or the data goes back to the agency that
#   issued the identifier. A hash counts as keyed only when its input reads a secret source
#   declared under pseudonymisation in kaitiaki.yaml that the job does not assign; an identifier
#   the catalog lists as non_enumerable cannot be reversed by enumeration.
# custom:
#   id: SV-03
#   level: hard
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP11
#   judgement: >-
#     every identifier is treated as enumerable unless the catalog lists it non_enumerable; a hash
#     counts as keyed only when a declared secret source reaches its input and the job does not
#     assign it — a platform that injects the key some other way must declare that source.
#   remediation: >-
#     Drop the identifier, replace it with a keyed hash (HMAC with a secret read from a source
#     declared under pseudonymisation in kaitiaki.yaml), or aggregate.
violation contains v if {
	off_agency
	not identified_agreement
	some out in input.outputs
	some how in identifying_form(out)
	not to_issuer(out)
	message := concat("", ["the identifier ", out.column, " leaves the agency ", how, " and the sharing agreement is not for identified data"])
	f := lib.sources_finding(message, {out})
	v := lib.violation("SV-03", f.message, f.columns, f.line)
}

identifying_form(out) := {"unhashed"} if raw_identifier(out) else := {"under an unkeyed hash, reversible by enumeration"} if {
	unkeyed_hash(out)
} else := set()

raw_identifier(out) if {
	lib.output_identifier(out)
	some transform in out.transforms
	transform in {"none", "cast", "truncate"}
}

raw_identifier(out) if {
	lib.output_identifier(out)
	count(out.transforms) == 0
}

# A hash of an identifier (the output is a person_key pseudonym) that no declared secret keys.
unkeyed_hash(out) if {
	lib.in_output(out)
	"hash" in out.transforms
	"person_key" in out.categories
	object.get(out, "keyed", false) != true
	object.get(out, "enumerable", true) != false
}

# The data goes back to the agency that issued every identifier behind the output.
to_issuer(out) if {
	name := input.job.destination.name
	is_string(name)
	issuers := {lib.issuer(lib.uid_scheme(cat)) |
		some source in out.sources
		some cat in columns_by_name[source].categories
		lib.identifier_category(cat)
	}
	issuers == {name}
}

# METADATA
# title: Hashing is not anonymisation
# description: >-
#   A hashed identifier is a pseudonym, still personal information (the Act's definition of
#   personal information covers information about an identifiable individual). Soft when a
#   pseudonym leaves the agency; advisory when it is a keyed pseudonym (or a catalog person key)
#   shared under an agreement for pseudonymised data (pseudonymised true), which is what this
#   rule asks for.
# custom:
#   id: SV-04
#   level: soft
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 s7 (personal information); IPP11 for the disclosure
#   judgement: >-
#     a catalog person key (a pseudonym made upstream) counts as a keyed pseudonym for the advisory
#     level under a pseudonymised agreement; an unkeyed hash made in the job does not.
#   remediation: >-
#     Treat it as personal information (SV-01 and SV-02 apply): use a keyed hash (HMAC with a
#     secret read from a source declared under pseudonymisation in kaitiaki.yaml) and share it
#     under an agreement with pseudonymised true, or aggregate.
violation contains v if {
	off_agency
	some out in input.outputs
	pseudonym(out)
	message := sprintf("%s leaves the agency as a pseudonym (hashed identifier), which is still personal information", [out.column])
	f := lib.sources_finding(message, {out})
	v := lib.violation_at("SV-04", pseudonym_level(out), f.message, f.columns, f.line)
}

pseudonym(out) if {
	lib.in_output(out)
	"person_key" in out.categories
}

pseudonym(out) if {
	lib.output_identifier(out)
	"hash" in out.transforms
}

pseudonym_level(out) := "advisory" if {
	pseudonymised_agreement
	not unkeyed_pseudonym(out)
} else := lib.rule_level("SV-04")

unkeyed_pseudonym(out) if {
	"hash" in out.transforms
	object.get(out, "keyed", false) != true
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
	input.aggregation.grouped == true
	some f in identifiers_in_insight
	v := lib.violation("SV-05", f.message, f.columns, f.line)
}

# An insight is a grouped result (above) or a job tagged insight: one body each, the same findings.
violation contains v if {
	tags := input.job.tags
	some tag in params.insight_tags
	tag in tags # lib.has_tag(tag), without a call per insight tag
	some f in identifiers_in_insight
	v := lib.violation("SV-05", f.message, f.columns, f.line)
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
#   A count of too few people, a sum, mean, median or percentile over too few, or a minimum,
#   maximum or any one row's value can identify people. A threshold counts only when it counts
#   distinct people (COUNT(DISTINCT <identifier or person key>), or COUNT(*) over one table the
#   catalog declares grain person with no join that may multiply its rows), is a top-level AND of
#   the HAVING, and covers each published aggregate's own population (an aggregate with FILTER or
#   a CASE inside is a cell of its own). The minimum cell sizes are policy data (min_count_cell,
#   min_magnitude_cell). Advisory inside the agency, hard when the figures leave it.
# custom:
#   id: SV-06
#   level: advisory
#   level_off_agency: hard
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP11 (a form that does not identify); Stats NZ output rules for Stats NZ and IDI data
#   judgement: >-
#     COUNT(*) counts people only over one catalog table declared grain person with no join, lateral
#     source, set operation or grouped derived table in between (a join on a unique key would not
#     multiply rows, but kaitiaki cannot know the key is unique); COUNT(DISTINCT a, b) and
#     COUNT(col) never count people. 6 and 20 are policy data (min_count_cell, min_magnitude_cell)
#     whose Stats NZ basis is partly unverified.
#   remediation: >-
#     Add HAVING COUNT(DISTINCT <person key>) >= {min_count_cell} (>= {min_magnitude_cell} for
#     sums, means, medians and percentiles) for every published population (a FILTER or CASE
#     inside an aggregate needs its own threshold). Count people, not rows or dates: COUNT(*)
#     counts people only on a catalog table declared grain person, with no join that multiplies
#     its rows. Publish no minimum, maximum or single value. The thresholds are policy data
#     (min_count_cell, min_magnitude_cell).
violation contains small_cell_violation(concat("", ["counts are produced with ", people_text(people), " (at least ", format_int(params.min_count_cell, 10), " people needed)"])) if {
	input.aggregation.count == true
	people := min_people(cells)
	people < params.min_count_cell
}

# (Most jobs publish no magnitude and no single value: the lists are looked at before the sets
# built from them. A missing single_value list is read as empty by single_values.)
violation contains small_cell_violation(concat("", ["sums, means or percentiles (", lib.list(magnitudes), ") are produced with ", people_text(people), " (at least ", format_int(params.min_magnitude_cell, 10), " people needed)"])) if {
	input.aggregation.magnitudes != []
	magnitudes != set()
	people := min_people(cells)
	people < params.min_magnitude_cell
}

violation contains small_cell_violation(concat("", ["the aggregates ", lib.list(single_values), " publish one person's value"])) if {
	not input.aggregation.single_value == []
	single_values != set()
}

# SV-06's finding for a small-cell problem (one body each above), about the aggregated columns.
small_cell_violation(problem) := lib.violation("SV-06", f.message, f.columns, f.line) if {
	cols := {col | some col in input.columns; "aggregate" in col.transforms}
	f := finding(problem, cols)
}

single_values := {name | some name in object.get(input.aggregation, "single_value", [])}

magnitudes := {name | some name in input.aggregation.magnitudes; not name in single_values}

# The fewest distinct people any published cell is guaranteed to hold (0 when unknown): over every
# cell, the least over its populations of the largest people threshold on that population.
min_people(all_cells) := lib.least({cell_people(cell) | some cell in all_cells}) if count(all_cells) > 0 else := 0

cells := object.get(input.aggregation, "cells", [])

cell_people(cell) := lib.least({population_people(cell, p) | some p in cell.populations}) if count(cell.populations) > 0 else := 0

population_people(cell, population) := lib.greatest(found) if {
	found := {t.min | some t in cell.thresholds; t.population == population; counts_people(t)}
	count(found) > 0
} else := 0

# COUNT(DISTINCT k) of one identifier or person key.
counts_people(threshold) if {
	threshold.distinct == true
	count(threshold.columns) == 1
	some name in threshold.columns
	some cat in columns_by_name[name].categories
	lib.identifier_category(cat)
}

# COUNT(*) over one table of one row per person, with no join that may multiply its rows.
counts_people(threshold) if {
	threshold.distinct == false
	threshold.joined == false
	count(threshold.tables) == 1
	some name in threshold.tables
	some table in input.tables
	table.name == name
	object.get(table, "grain", null) == "person"
}

people_text(people) := "no threshold on the number of distinct people" if people == 0 else := concat("", ["a minimum of ", format_int(people, 10), " distinct people per cell"])

# METADATA
# title: Counts randomly rounded
# description: >-
#   Counts that leave the agency are randomly rounded (RR3, or graduated random rounding) after
#   suppression. SQL cannot show the rounding, so the job declares it with a tag
#   (params.rounding_tags). Stats NZ's output rules bind Stats NZ and IDI data (catalog source
#   idi) and public releases: hard there; good practice elsewhere: soft.
# custom:
#   id: SV-07
#   level: soft
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Stats NZ output rules (RR3 / graduated random rounding) for Stats NZ and IDI data
#   judgement: >-
#     an IDI source anywhere in the job makes it hard, whatever the share of IDI data in the counts.
#   remediation: Apply random rounding (RR3 or graduated) after suppression and tag the job with one of the rounding tags (conf:rr3, conf:grr).
violation contains v if {
	off_agency
	input.aggregation.count == true
	not rounded
	cols := {col | some col in input.columns; "aggregate" in col.transforms}
	f := finding("counts leave the agency with no declaration of random rounding (RR3 or GRR)", cols)
	v := lib.violation_at("SV-07", rounding_level, f.message, f.columns, f.line)
}

rounded if {
	some tag in params.rounding_tags
	lib.has_tag(tag)
}

rounding_level := "hard" if {
	input.job.destination.kind == "public"
} else := "hard" if {
	some table in input.tables
	object.get(table, "source", null) in params.stats_nz_sources
} else := lib.rule_level("SV-07")

# SV-08 has three bodies, one per way a sensitive column holds Māori data (a column found twice
# gives the same finding). The first, an iwi category: the few listed categories are looked up
# among the job's (usually none is there) before any column is visited.

# METADATA
# title: Māori data
# description: >-
#   Iwi affiliation, ethnicity used to select or group people, and person-level ethnicity or iwi
#   leaving the agency are Māori data: a taonga over which Māori hold rights as Treaty partners.
#   Advisory inside the agency, soft when it leaves. A column the job only writes is reported only
#   for an iwi category none of its source columns in the job has (else the source is reported).
# custom:
#   id: SV-08
#   level: advisory
#   level_off_agency: soft
#   guideline: Sharing Value
#   principle: Manaakitanga, Mana Whakahaere
#   law: Te Tiriti o Waitangi (DPUP guidance; no statutory test)
#   remediation: >-
#     Record a Māori data governance review (for example under Te Kāhui Raraunga's model) and
#     involve Māori and iwi partners; a waiver records the review.
violation contains maori_data(col) if {
	iwi := {cat | listed := params.maori_data_categories; some cat in column_categories; cat in listed}
	iwi != set()
	some col in sensitive_columns
	some cat in lib.own_categories(col)
	cat in iwi
}

# An ethnicity category used to select or group people: only for an ethnicity category the job has,
# and only the columns that have it (lib's category_columns).
violation contains maori_data(col) if {
	listed := params.ethnicity_categories
	some ethnicity in column_categories
	ethnicity in listed
	sensitive := sensitive_column_categories
	some [cat, col] in category_columns
	cat == ethnicity
	some use in col.uses
	use in {"filter", "group"}
	some other in col.categories
	other in sensitive
}

# Person-level ethnicity or iwi leaving the agency: the source columns of such outputs.
violation contains maori_data(col) if {
	off_agency
	person_level
	some out in identifiable_outputs
	some cat in out.categories
	maori_category(cat)
	some name in out.sources
	col := columns_by_name[name]
}

maori_data(col) := lib.column_violation("SV-08", col, concat("", [" is Māori data (", lib.list({cat | some cat in lib.own_categories(col); maori_category(cat)}), ")"]))

maori_category(cat) if cat in params.maori_data_categories

maori_category(cat) if cat in params.ethnicity_categories

# METADATA
# title: Re-identification through quasi-identifiers
# description: >-
#   A person-level output leaving the agency without identified data being agreed (or to a public
#   destination) identifies people when it combines quasi-identifiers: an exact date of birth,
#   another exact personal date or exact age with geography finer than region, or a meshblock,
#   SA1 or address part with any other quasi-identifier, even with no identifier column. A
#   coarsened column (year or age band instead of a date, left(postcode, 2), a CASE band) no
#   longer counts. Combinations and coarsenings are policy data (qi_combinations,
#   qi_coarsenings); the kind of a quasi-identifier comes from its category
#   (quasi_identifier:dob, :postcode, :meshblock …); a plain quasi_identifier may be of any kind.
# custom:
#   id: SV-09
#   level: hard
#   guideline: Sharing Value
#   principle: Kaitiakitanga
#   law: Privacy Act 2020 IPP11 (disclosure in a form in which the individual is not identified)
#   judgement: >-
#     the combinations and coarsenings are policy data, not a re-identification risk model; a plain
#     quasi_identifier (no kind) may be of any kind, so two uncoarsened ones leaving are reported.
#     Geography is judged by column kind: region is not a quasi-identifier here.
#   remediation: >-
#     Coarsen the quasi-identifiers before they leave (year of birth or an age band instead of the
#     date, region or left(postcode, 2) instead of the postcode or meshblock), aggregate, or share
#     under an agreement for identified data.
violation contains v if {
	off_agency
	person_level
	not identified_for_sharing
	exact := exact_quasi(identifiable_outputs)
	count(exact) > 1
	found := quasi_combinations(exact)
	some name in {f.name | some f in found}
	columns := {column | some f in found; f.name == name; some column in f.pair}
	outs := {pair[0] | some pair in exact; pair[0].column in columns}
	message := concat("", ["person-level columns ", lib.list(columns), " leave the agency as ", name, ", which can identify people"])
	f := lib.sources_finding(message, outs)
	v := lib.violation("SV-09", f.message, f.columns, f.line)
}

identified_for_sharing if {
	identified_agreement
	input.job.destination.kind != "public"
}

# The outputs among `outs` carrying an uncoarsened quasi-identifier, with its kind: [out, kind].
# (Functions, not rules: the embedded engine computes every rule a body names, guards or not.)
exact_quasi(outs) := {[out, kind] |
	some out in outs
	some cat in out.categories
	split(cat, ":")[0] == "quasi_identifier"
	kind := quasi_kind(cat)
	not coarse_enough(out, kind)
}

quasi_kind(cat) := substring(cat, count("quasi_identifier:"), -1) if startswith(cat, "quasi_identifier:") else := "quasi_identifier"

coarse_enough(out, kind) if {
	some coarsening in object.get(out, "coarsened", [])
	coarsening in object.get(params.qi_coarsenings, kind, [])
}

# Each combination met by two different output columns of `exact`, one of a kind in each of its
# two kind lists (a plain quasi_identifier matches every list; "*" any kind).
quasi_combinations(exact) := {{"name": combination.name, "pair": sort([first[0].column, second[0].column])} |
	some combination in params.qi_combinations
	some first in exact
	kind_in(first[1], combination.kinds[0])
	some second in exact
	second[0].column != first[0].column
	kind_in(second[1], combination.kinds[1])
}

kind_in(kind, _) if kind == "quasi_identifier"

kind_in(_, kinds) if "*" in kinds

kind_in(kind, kinds) if kind in kinds
