package kaitiaki.dpup.sharing_value_test

import data.kaitiaki.dpup.sharing_value as sv
import data.kaitiaki.testing as t
import rego.v1

external(inp) := object.union(inp, {"job": {"destination": {"kind": "external"}}})

agreement(extra) := {"purpose": {"sharing_agreement": object.union({"id": "DSA-1", "identified": false, "offshore_basis": null}, extra)}}

hashed_nhi := object.union(t.selecting([t.nhi]), {
	"columns": [object.union(t.column("health.patients", "nhi", ["unique_identifier:nhi"]), {"transforms": ["hash"], "outputs": ["patient_key"]})],
	"outputs": [{"table": null, "column": "patient_key", "categories": ["person_key"], "transforms": ["hash"], "sources": ["health.patients.nhi"]}],
})

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
	"SV-02" in t.rules(sv.violation) with input as object.union(offshore(t.selecting([t.date_of_birth])), agreement({}))
}

# --- SV-03 ---

test_sv03_allows_hashed_identifier if {
	not "SV-03" in t.rules(sv.violation) with input as object.union(external(hashed_nhi), agreement({}))
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

# --- SV-04 ---

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

# --- SV-06 ---

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
	contains(v.message, "sums or means")
}

# --- SV-07 ---

test_sv07_allows_rounded_counts if {
	inp := object.union(external(t.counts_by_region(6)), {"job": {"tags": ["conf:rr3"]}})
	not "SV-07" in t.rules(sv.violation) with input as inp
}

test_sv07_denies_unrounded_counts_leaving if {
	"SV-07" in t.rules(sv.violation) with input as external(t.counts_by_region(6))
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
