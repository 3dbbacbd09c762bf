package kaitiaki.dpup.sharing_value_test

import data.kaitiaki.dpup.sharing_value as sv
import data.kaitiaki.testing as t
import rego.v1

external(inp) := object.union(inp, {"job": {"destination": {"kind": "external"}}})

agreement(extra) := {"purpose": {"sharing_agreement": object.union({"id": "DSA-1", "identified": false, "offshore_basis": null}, extra)}}

hashed(keyed, enumerable) := object.union(t.selecting([t.nhi]), {
	"columns": [object.union(t.column("health.patients", "nhi", ["unique_identifier:nhi"]), {"transforms": ["hash"], "outputs": ["patient_key"]})],
	"outputs": [{
		"table": null, "column": "patient_key", "categories": ["person_key"], "transforms": ["hash"],
		"sources": ["health.patients.nhi"], "coarsened": [], "keyed": keyed, "enumerable": enumerable,
	}],
})

hashed_nhi := hashed(true, true)

unkeyed_nhi := hashed(false, true)

# --- SV-01 ---

test_sv01_allows_sharing_under_agreement if {
	not "SV-01" in t.rules(sv.violation) with input as object.union(external(t.selecting([t.date_of_birth])), agreement({}))
}

test_sv01_allows_internal_use if {
	not "SV-01" in t.rules(sv.violation) with input as t.selecting([t.date_of_birth])
}

test_sv01_denies_sharing_without_agreement if {
	vs := sv.violation with input as external(t.selecting([t.date_of_birth, t.region]))
	some v in vs
	v.rule == "SV-01"
	v.columns == ["health.patients.date_of_birth"]
	v.line == 2
}

test_sv01_denies_public_destination_even_with_agreement if {
	inp := object.union(object.union(t.selecting([t.date_of_birth]), {"job": {"destination": {"kind": "public"}}}), agreement({}))
	vs := sv.violation with input as inp
	some v in vs
	v.rule == "SV-01"
	contains(v.message, "public")
}

# --- SV-02 ---

offshore(inp) := object.union(inp, {"job": {"destination": {"kind": "external", "region": "offshore"}}})

test_sv02_allows_recorded_ipp12_basis if {
	inp := object.union(offshore(t.selecting([t.date_of_birth])), agreement({"offshore_basis": "comparable safeguards (IPP12(1)(b))"}))
	not "SV-02" in t.rules(sv.violation) with input as inp
}

test_sv02_denies_offshore_without_basis if {
	vs := sv.violation with input as object.union(offshore(t.selecting([t.date_of_birth])), agreement({}))
	t.level_of(vs, "SV-02") == {"hard"}
	some v in vs
	v.rule == "SV-02"
	not contains(v.remediation, "waiver")
}

# docs/legal-basis.md: the agency's own offshore agent (s11) is not a disclosure: soft, waivable.
test_sv02_soft_for_the_agency_s_own_offshore_agent if {
	inp := object.union(t.selecting([t.date_of_birth]), {"job": {"destination": {"region": "offshore"}}})
	vs := sv.violation with input as inp
	t.level_of(vs, "SV-02") == {"soft"}
	some v in vs
	v.rule == "SV-02"
	contains(v.message, "section 11")
}

# --- SV-03 (docs/legal-basis.md: unkeyed hashes are reversible by enumeration) ---

test_sv03_allows_keyed_hash if {
	not "SV-03" in t.rules(sv.violation) with input as object.union(external(hashed_nhi), agreement({}))
}

test_sv03_denies_unkeyed_hash_of_an_enumerable_identifier if {
	vs := sv.violation with input as object.union(external(unkeyed_nhi), agreement({}))
	some v in vs
	v.rule == "SV-03"
	v.level == "hard"
	contains(v.message, "unkeyed hash")
}

test_sv03_allows_unkeyed_hash_of_a_non_enumerable_identifier if {
	not "SV-03" in t.rules(sv.violation) with input as object.union(external(hashed(false, false)), agreement({}))
}

test_sv03_allows_identified_agreement if {
	not "SV-03" in t.rules(sv.violation) with input as object.union(external(t.selecting([t.nhi])), agreement({"identified": true}))
}

test_sv03_denies_raw_identifier_leaving if {
	vs := sv.violation with input as object.union(external(t.selecting([t.nhi])), agreement({}))
	some v in vs
	v.rule == "SV-03"
	v.columns == ["health.patients.nhi"]
}

# A foreign identifier going back to the agency that issued it (docs/legal-basis.md, PM-11 item).
test_sv03_allows_identifier_returned_to_its_issuer if {
	inp := object.union(external(t.selecting([t.nhi])), {"job": {"agency": "msd", "destination": {"name": "moh"}}})
	not "SV-03" in t.rules(sv.violation) with input as object.union(inp, agreement({}))
}

test_sv03_denies_identifier_sent_to_another_agency if {
	inp := object.union(external(t.selecting([t.nhi])), {"job": {"agency": "msd", "destination": {"name": "ird"}}})
	"SV-03" in t.rules(sv.violation) with input as object.union(inp, agreement({}))
}

# --- SV-04 (s7: a pseudonym is personal information; advisory under a pseudonymised agreement) ---

test_sv04_allows_internal_pseudonym if {
	not "SV-04" in t.rules(sv.violation) with input as hashed_nhi
}

test_sv04_denies_pseudonym_leaving if {
	vs := sv.violation with input as object.union(external(hashed_nhi), agreement({}))
	some v in vs
	v.rule == "SV-04"
	v.level == "soft"
	v.columns == ["health.patients.nhi"]
}

test_sv04_advisory_for_keyed_pseudonym_under_pseudonymised_agreement if {
	vs := sv.violation with input as object.union(external(hashed_nhi), agreement({"pseudonymised": true}))
	t.level_of(vs, "SV-04") == {"advisory"}
}

test_sv04_soft_for_unkeyed_pseudonym_even_under_pseudonymised_agreement if {
	vs := sv.violation with input as object.union(external(unkeyed_nhi), agreement({"pseudonymised": true}))
	t.level_of(vs, "SV-04") == {"soft"}
}

# --- SV-05 ---

nhi_grouped := object.union(t.selecting([t.nhi]), {
	"columns": [object.union(t.column("health.patients", "nhi", ["unique_identifier:nhi"]), {"uses": ["select", "group"]})],
	"aggregation": {"grouped": true, "count": true, "magnitudes": [], "min_group_size": 10},
})

test_sv05_allows_insight_without_identifiers if {
	not "SV-05" in t.rules(sv.violation) with input as t.counts_by_region(10)
}

test_sv05_soft_inside_the_agency if {
	vs := sv.violation with input as nhi_grouped
	t.level_of(vs, "SV-05") == {"soft"}
}

test_sv05_hard_when_shared if {
	vs := sv.violation with input as object.union(external(nhi_grouped), agreement({}))
	t.level_of(vs, "SV-05") == {"hard"}
}

test_sv05_denies_identifier_in_tagged_insight if {
	"SV-05" in t.rules(sv.violation) with input as object.union(t.selecting([t.nhi]), {"job": {"tags": ["insight"]}})
}

# --- SV-06 (docs/legal-basis.md: suppression counts people) ---

test_sv06_allows_suppressed_counts if {
	not "SV-06" in t.rules(sv.violation) with input as external(t.counts_by_region(6))
}

test_sv06_denies_small_cells_when_shared if {
	vs := sv.violation with input as external(t.counts_by_region(5))
	t.level_of(vs, "SV-06") == {"hard"}
}

test_sv06_advisory_inside_the_agency if {
	vs := sv.violation with input as t.counts_by_region(null)
	t.level_of(vs, "SV-06") == {"advisory"}
}

test_sv06_denies_magnitudes_below_twenty if {
	inp := object.union(external(t.counts_by_region(10)), {"aggregation": {"magnitudes": ["sum"]}})
	vs := sv.violation with input as inp
	some v in vs
	v.rule == "SV-06"
	contains(v.message, "sums, means or percentiles")
	contains(v.message, "at least 20 people")
}

test_sv06_thresholds_in_the_message_come_from_policy_data if {
	vs := sv.violation with input as external(t.counts_by_region(5)) with data.kaitiaki.params.min_count_cell as 11
	some v in vs
	v.rule == "SV-06"
	contains(v.message, "at least 11 people")
}

rows_counted(tables, joined, grain) := object.union(external(t.counts_by_region(null)), {
	"aggregation": t.one_cell([t.threshold(10, false, [], tables, joined)]),
	"tables": [{"name": "health.visits", "agency": "moh", "categories": [], "grain": grain, "source": null}],
})

test_sv06_denies_a_threshold_on_rows if {
	"SV-06" in t.rules(sv.violation) with input as rows_counted(["health.visits"], false, null)
}

test_sv06_allows_rows_of_a_person_grain_table if {
	not "SV-06" in t.rules(sv.violation) with input as rows_counted(["health.visits"], false, "person")
}

test_sv06_denies_rows_of_a_person_grain_table_after_a_join if {
	"SV-06" in t.rules(sv.violation) with input as rows_counted(["health.visits"], true, "person")
}

test_sv06_denies_distinct_dates if {
	inp := object.union(external(t.counts_by_region(null)), {"aggregation": t.one_cell([t.threshold(10, true, ["health.visits.region"], [], false)])})
	"SV-06" in t.rules(sv.violation) with input as inp
}

test_sv06_denies_an_uncovered_population if {
	cell := {"populations": ["all", "sex = 'F'"], "thresholds": t.people_threshold(10)}
	inp := object.union(external(t.counts_by_region(10)), {"aggregation": {"cells": [cell]}})
	"SV-06" in t.rules(sv.violation) with input as inp
}

test_sv06_allows_each_population_thresholded if {
	narrowed := object.union(t.people_threshold(10)[0], {"population": "sex = 'F'"})
	cell := {"populations": ["all", "sex = 'F'"], "thresholds": array.concat(t.people_threshold(10), [narrowed])}
	inp := object.union(external(t.counts_by_region(10)), {"aggregation": {"cells": [cell]}})
	not "SV-06" in t.rules(sv.violation) with input as inp
}

test_sv06_denies_a_single_value_leaving if {
	inp := object.union(external(t.counts_by_region(30)), {"aggregation": {"magnitudes": ["max"], "single_value": ["max"]}})
	vs := sv.violation with input as inp
	some v in vs
	v.rule == "SV-06"
	contains(v.message, "one person's value")
}

test_sv06_single_value_inside_is_advisory if {
	inp := object.union(t.counts_by_region(30), {"aggregation": {"magnitudes": ["max"], "single_value": ["max"]}})
	vs := sv.violation with input as inp
	t.level_of(vs, "SV-06") == {"advisory"}
}

# --- SV-07 (RR3 or GRR; hard for public and IDI data) ---

test_sv07_allows_rounded_counts if {
	inp := object.union(external(t.counts_by_region(6)), {"job": {"tags": ["conf:rr3"]}})
	not "SV-07" in t.rules(sv.violation) with input as inp
}

test_sv07_allows_graduated_rounding if {
	inp := object.union(external(t.counts_by_region(6)), {"job": {"tags": ["conf:grr"]}})
	not "SV-07" in t.rules(sv.violation) with input as inp
}

test_sv07_soft_for_unrounded_counts_leaving if {
	vs := sv.violation with input as external(t.counts_by_region(6))
	t.level_of(vs, "SV-07") == {"soft"}
}

test_sv07_hard_for_public_release if {
	inp := object.union(t.counts_by_region(6), {"job": {"destination": {"kind": "public"}}})
	vs := sv.violation with input as inp
	t.level_of(vs, "SV-07") == {"hard"}
}

test_sv07_hard_for_idi_data if {
	inp := object.union(external(t.counts_by_region(6)), {"tables": [{"name": "health.visits", "agency": "moh", "categories": [], "grain": null, "source": "idi"}]})
	vs := sv.violation with input as inp
	t.level_of(vs, "SV-07") == {"hard"}
}

test_sv07_allows_internal_counts if {
	not "SV-07" in t.rules(sv.violation) with input as t.counts_by_region(6)
}

# --- SV-08 ---

test_sv08_allows_selected_ethnicity if {
	not "SV-08" in t.rules(sv.violation) with input as t.selecting([t.ethnicity])
}

test_sv08_flags_ethnicity_group_key if {
	grouped := object.union(t.column("health.patients", "ethnicity", ["sensitive:ethnicity"]), {"uses": ["select", "group"]})
	vs := sv.violation with input as t.with_parts({"columns": [grouped]})
	t.level_of(vs, "SV-08") == {"advisory"}
}

test_sv08_soft_for_iwi_leaving_the_agency if {
	iwi := ["health.patients", "iwi", ["sensitive:iwi"]]
	vs := sv.violation with input as object.union(external(t.selecting([iwi])), agreement({}))
	t.level_of(vs, "SV-08") == {"soft"}
}

iwi := ["msd.clients", "iwi", ["sensitive:iwi"]]

test_sv08_soft_for_person_level_ethnicity_leaving if {
	vs := sv.violation with input as object.union(external(t.selecting([t.ethnicity])), agreement({}))
	t.level_of(vs, "SV-08") == {"soft"}
}

test_sv08_allows_grouped_figures_without_ethnicity_leaving if {
	not "SV-08" in t.rules(sv.violation) with input as external(t.counts_by_region(10))
}

test_sv08_reports_iwi_written_from_a_reported_source_once if {
	vs := sv.violation with input as t.inserting("analytics.x", [iwi])
	t.reported(vs, "SV-08") == [["msd.clients.iwi"]]
}

test_sv08_reports_a_written_column_that_alone_carries_iwi if {
	source := object.union(t.column("msd.clients", "region", []), {"outputs": ["analytics.x.iwi"]})
	vs := sv.violation with input as t.with_parts({"columns": [source, t.written("analytics.x", "iwi", ["sensitive:iwi"])]})
	some v in vs
	v.rule == "SV-08"
	v.columns == ["analytics.x.iwi"]
	v.message == "analytics.x.iwi is Māori data (sensitive:iwi)"
}

# --- SV-09 (IPP11: quasi-identifier combinations identify people) ---

dob := ["health.patients", "date_of_birth", ["quasi_identifier:dob"]]

postcode := ["health.patients", "postcode", ["quasi_identifier:postcode"]]

meshblock := ["health.patients", "meshblock", ["quasi_identifier:meshblock"]]

gender := ["health.patients", "gender", ["sensitive:gender"]]

deidentified(columns) := object.union(external(t.selecting(columns)), agreement({}))

test_sv09_denies_dob_with_postcode if {
	vs := sv.violation with input as deidentified([dob, postcode, gender])
	some v in vs
	v.rule == "SV-09"
	v.level == "hard"
	v.columns == ["health.patients.date_of_birth", "health.patients.postcode"]
}

test_sv09_allows_year_of_birth_with_postcode if {
	inp := deidentified([dob, postcode])
	outs := [object.union(out, {"coarsened": ["year"]}) | some out in inp.outputs; out.column == "date_of_birth"]
	other := [out | some out in inp.outputs; out.column != "date_of_birth"]
	not "SV-09" in t.rules(sv.violation) with input as object.union(inp, {"outputs": array.concat(outs, other)})
}

test_sv09_allows_dob_with_postcode_prefix if {
	inp := deidentified([dob, postcode])
	outs := [object.union(out, {"coarsened": ["prefix:2"]}) | some out in inp.outputs; out.column == "postcode"]
	other := [out | some out in inp.outputs; out.column != "postcode"]
	not "SV-09" in t.rules(sv.violation) with input as object.union(inp, {"outputs": array.concat(outs, other)})
}

test_sv09_denies_meshblock_with_any_quasi_identifier if {
	"SV-09" in t.rules(sv.violation) with input as deidentified([meshblock, ["health.patients", "age_band", ["quasi_identifier:age"]]])
}

test_sv09_allows_dob_alone if {
	not "SV-09" in t.rules(sv.violation) with input as deidentified([dob, gender])
}

test_sv09_plain_quasi_identifiers_may_be_of_any_kind if {
	"SV-09" in t.rules(sv.violation) with input as deidentified([t.date_of_birth, ["health.patients", "postcode", ["quasi_identifier"]]])
}

test_sv09_allows_identified_agreement if {
	inp := object.union(external(t.selecting([dob, postcode])), agreement({"identified": true}))
	not "SV-09" in t.rules(sv.violation) with input as inp
}

test_sv09_denies_public_even_with_identified_agreement if {
	inp := object.union(object.union(t.selecting([dob, postcode]), {"job": {"destination": {"kind": "public"}}}), agreement({"identified": true}))
	"SV-09" in t.rules(sv.violation) with input as inp
}

test_sv09_allows_internal_use if {
	not "SV-09" in t.rules(sv.violation) with input as t.selecting([dob, postcode])
}
