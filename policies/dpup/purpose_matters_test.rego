package kaitiaki.dpup.purpose_matters_test

import data.kaitiaki.dpup.purpose_matters as pm
import data.kaitiaki.testing as t
import rego.v1

# --- PM-01 ---

test_pm01_allows_declared_purpose if {
	not "PM-01" in t.rules(pm.violation) with input as t.selecting([t.nhi])
}

test_pm01_allows_no_purpose_without_personal_information if {
	not "PM-01" in t.rules(pm.violation) with input as object.union(t.selecting([t.region]), {"job": {"purpose": null}, "purpose": null})
}

test_pm01_denies_identifiable_column_without_purpose if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi, t.region]), {"job": {"purpose": null}, "purpose": null})
	some v in vs
	v.rule == "PM-01"
	v.level == "hard"
	v.columns == ["health.patients.nhi"]
	v.line == 2
}

test_pm01_counts_hashed_columns if {
	inp := object.union(t.selecting([t.nhi]), {"job": {"purpose": ""}, "purpose": null})
	hashed := object.union(inp, {"columns": [object.union(inp.columns[0], {"transforms": ["hash"]})]})
	"PM-01" in t.rules(pm.violation) with input as hashed
}

# --- PM-02 ---

test_pm02_allows_registered_purpose_in_force if {
	not "PM-02" in t.rules(pm.violation) with input as t.selecting([t.nhi])
}

test_pm02_denies_unregistered_purpose if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"purpose": null})
	some v in vs
	v.rule == "PM-02"
	contains(v.message, "not in the purpose register")
}

test_pm02_denies_purpose_without_approver if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"purpose": {"approved_by": " "}})
	some v in vs
	v.rule == "PM-02"
	contains(v.message, "no approver")
}

# A register entry without the field at all (not only an empty one) is denied on every engine
# (object.union would merge the fixture's field back, so the purpose is replaced whole).
test_pm02_denies_purpose_lacking_approved_by if {
	vs := pm.violation with input as object.union(object.remove(t.selecting([t.nhi]), ["purpose"]), {"purpose": object.remove(t.purpose, ["approved_by"])})
	some v in vs
	v.rule == "PM-02"
	contains(v.message, "no approver")
}

test_pm02_denies_expired_purpose if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"purpose": {"expires": "2026-11-25"}})
	some v in vs
	v.rule == "PM-02"
	contains(v.message, "expired")
}

test_pm02_allows_purpose_expiring_today if {
	not "PM-02" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"purpose": {"expires": "2026-11-26"}})
}

test_pm02_denies_unreadable_expiry if {
	"PM-02" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"purpose": {"expires": "next year"}})
}

# --- PM-03 ---

test_pm03_allows_category_family if {
	not "PM-03" in t.rules(pm.violation) with input as t.selecting([t.nhi, t.ethnicity])
}

test_pm03_denies_category_outside_purpose if {
	inp := object.union(t.selecting([t.nhi, t.ethnicity]), {"purpose": {"allowed_categories": ["unique_identifier"]}})
	vs := pm.violation with input as inp
	some v in vs
	v.rule == "PM-03"
	v.columns == ["health.patients.ethnicity"]
	contains(v.message, "sensitive:ethnicity")
}

test_pm03_denies_every_identifiable_column_under_an_empty_purpose if {
	inp := object.union(t.selecting([t.nhi, t.full_name, t.region]), {"purpose": {"allowed_categories": []}})
	vs := pm.violation with input as inp
	{c | some v in vs; v.rule == "PM-03"; some c in v.columns} == {"health.patients.nhi", "health.patients.full_name"}
}

test_pm03_denies_use_outside_allowed_uses if {
	inp := object.union(t.selecting([t.nhi]), {"purpose": {"allowed_uses": ["join"]}})
	vs := pm.violation with input as inp
	some v in vs
	v.rule == "PM-03"
	contains(v.message, "used for select")
}

test_pm03_allows_listed_uses if {
	not "PM-03" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"purpose": {"allowed_uses": ["select", "join"]}})
}

# INSERT INTO analytics.x SELECT ethnicity: the written column's category came from its source.
inserted_ethnicity := t.inserting("analytics.x", [t.nhi, t.ethnicity])

test_pm03_reports_a_column_written_from_a_reported_source_once if {
	inp := object.union(inserted_ethnicity, {"purpose": {"allowed_categories": ["unique_identifier"]}})
	vs := pm.violation with input as inp
	t.reported(vs, "PM-03") == [["health.patients.ethnicity"]]
}

test_pm03_reports_a_written_column_that_alone_carries_the_category if {
	# analytics.x.flag is sensitive:health by its own catalog entry; its source is not.
	source := object.union(t.column("health.patients", "region", []), {"outputs": ["analytics.x.flag"]})
	inp := t.with_parts({
		"columns": [source, t.written("analytics.x", "flag", ["sensitive:health"])],
		"purpose": {"allowed_categories": ["unique_identifier"]},
	})
	vs := pm.violation with input as inp
	t.reported(vs, "PM-03") == [["analytics.x.flag"]]
}

test_pm03_reports_a_written_column_for_the_categories_its_source_lacks if {
	inp := object.union(inserted_ethnicity, {"purpose": {"allowed_categories": ["unique_identifier"]}})
	tagged := object.union(inp.columns[3], {"categories": ["sensitive:ethnicity", "sensitive:health"]})
	vs := pm.violation with input as object.union(inp, {"columns": array.concat(array.slice(inp.columns, 0, 3), [tagged])})
	some v in vs
	v.rule == "PM-03"
	v.columns == ["analytics.x.ethnicity"]
	v.message == "analytics.x.ethnicity is sensitive:health, which purpose 'readmission-research' does not allow"
}

test_pm03_still_reports_the_write_use_of_a_written_column if {
	inp := object.union(inserted_ethnicity, {"purpose": {"allowed_uses": ["select"]}})
	vs := pm.violation with input as inp
	{v.message | some v in vs; v.rule == "PM-03"} == {
		"analytics.x.ethnicity is used for write, which purpose 'readmission-research' does not allow",
		"analytics.x.nhi is used for write, which purpose 'readmission-research' does not allow",
	}
}

# --- PM-04 ---

test_pm04_allows_specific_purpose if {
	not "PM-04" in t.rules(pm.violation) with input as t.selecting([t.nhi])
}

test_pm04_denies_wildcard_categories if {
	"PM-04" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"purpose": {"allowed_categories": ["*"]}})
}

test_pm04_denies_vague_description if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"purpose": {"description": "Kept for Future Use by the analytics team"}})
	some v in vs
	v.rule == "PM-04"
	v.level == "soft"
	contains(v.message, "future use")
}

test_pm04_denies_wildcard_uses if {
	"PM-04" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"purpose": {"allowed_uses": ["*"]}})
}

test_pm04_denies_missing_description if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"purpose": {"description": ""}})
	some v in vs
	contains(v.message, "has no description")
}

test_pm04_denies_purpose_lacking_description if {
	vs := pm.violation with input as object.union(object.remove(t.selecting([t.nhi]), ["purpose"]), {"purpose": object.remove(t.purpose, ["description"])})
	some v in vs
	contains(v.message, "has no description")
}

# --- PM-05 ---

test_pm05_allows_listed_columns if {
	not "PM-05" in t.rules(pm.violation) with input as t.selecting([t.nhi])
}

test_pm05_allows_star_over_non_identifying_columns if {
	inp := t.selecting([t.region])
	starred := object.union(inp, {"columns": [object.union(inp.columns[0], {"from_star": true})]})
	not "PM-05" in t.rules(pm.violation) with input as starred
}

test_pm05_denies_star_over_identifiable_table if {
	inp := t.selecting([t.nhi, t.full_name])
	starred := object.union(inp, {"columns": [object.union(c, {"from_star": true}) | some c in inp.columns]})
	vs := pm.violation with input as starred
	some v in vs
	v.rule == "PM-05"
	v.columns == ["health.patients.full_name", "health.patients.nhi"]
}

# --- PM-06 ---

test_pm06_allows_column_that_reaches_output if {
	not "PM-06" in t.rules(pm.violation) with input as t.selecting([t.nhi])
}

test_pm06_denies_identifiable_column_read_for_nothing if {
	unused := object.union(t.column("health.patients", "nhi", ["unique_identifier:nhi"]), {"outputs": [], "transforms": []})
	vs := pm.violation with input as t.with_parts({"columns": [unused]})
	some v in vs
	v.rule == "PM-06"
	v.columns == ["health.patients.nhi"]
}

test_pm06_allows_join_only_column if {
	joined := object.union(t.column("health.patients", "nhi", ["unique_identifier:nhi"]), {"uses": ["join"], "outputs": [], "transforms": []})
	not "PM-06" in t.rules(pm.violation) with input as t.with_parts({"columns": [joined]})
}

# --- PM-07 ---

test_pm07_allows_one_key if {
	not "PM-07" in t.rules(pm.violation) with input as t.selecting([t.nhi, t.date_of_birth])
}

test_pm07_denies_several_identifiers_in_person_level_output if {
	vs := pm.violation with input as t.selecting([t.nhi, t.full_name])
	some v in vs
	v.rule == "PM-07"
	v.columns == ["health.patients.full_name", "health.patients.nhi"]
}

test_pm07_allows_identifiers_in_aggregate_output if {
	inp := t.selecting([t.nhi, t.full_name])
	aggregated := object.union(inp, {
		"outputs": [object.union(o, {"transforms": ["aggregate"]}) | some o in inp.outputs],
		"aggregation": {"grouped": true, "count": true, "min_group_size": 10},
	})
	not "PM-07" in t.rules(pm.violation) with input as aggregated
}

# --- PM-08 ---

test_pm08_allows_approved_sensitive_category if {
	not "PM-08" in t.rules(pm.violation) with input as object.union(t.selecting([t.ethnicity]), {"purpose": {"sensitive_approved": ["ethnicity"]}})
}

test_pm08_denies_unapproved_sensitive_category if {
	vs := pm.violation with input as object.union(t.selecting([t.ethnicity]), {"purpose": {"sensitive_approved": ["sensitive:health"]}})
	some v in vs
	v.rule == "PM-08"
	v.columns == ["health.patients.ethnicity"]
}

test_pm08_reports_a_column_written_from_a_reported_source_once if {
	vs := pm.violation with input as object.union(inserted_ethnicity, {"purpose": {"sensitive_approved": []}})
	t.reported(vs, "PM-08") == [["health.patients.ethnicity"]]
}

test_pm08_reports_a_written_column_whose_source_is_unresolved if {
	# The query's source column could not be resolved: the written column is the only carrier.
	inp := t.with_parts({
		"columns": [t.written("analytics.x", "ethnicity", ["sensitive:ethnicity"])],
		"purpose": {"sensitive_approved": []},
	})
	vs := pm.violation with input as inp
	t.reported(vs, "PM-08") == [["analytics.x.ethnicity"]]
}

# --- PM-09 ---

test_pm09_allows_children_named_in_purpose if {
	child := ["education.students", "nsn", ["unique_identifier:nsn", "child"]]
	not "PM-09" in t.rules(pm.violation) with input as object.union(t.selecting([child]), {"purpose": {"sensitive_approved": ["child"]}})
}

test_pm09_denies_child_column if {
	child := ["education.students", "nsn", ["unique_identifier:nsn", "child"]]
	"PM-09" in t.rules(pm.violation) with input as object.union(t.selecting([child]), {"purpose": {"sensitive_approved": []}})
}

test_pm09_denies_child_table if {
	inp := object.union(t.selecting([t.region]), {
		"purpose": {"sensitive_approved": []},
		"tables": [{"name": "health.patients", "agency": "moh", "categories": ["child"]}],
	})
	vs := pm.violation with input as inp
	some v in vs
	v.rule == "PM-09"
	v.columns == ["health.patients.region"]
}

student_nsn := ["education.students", "nsn", ["unique_identifier:nsn", "child"]]

test_pm09_reports_a_table_and_column_written_from_children_data_once if {
	inp := object.union(t.inserting("analytics.kids", [student_nsn]), {
		"purpose": {"sensitive_approved": []},
		"tables": [
			{"name": "education.students", "agency": "moe", "categories": ["unique_identifier:nsn", "child"]},
			{"name": "analytics.kids", "agency": null, "categories": ["unique_identifier:nsn", "child"]},
		],
	})
	vs := pm.violation with input as inp
	t.reported(vs, "PM-09") == [["education.students.nsn"], ["education.students.nsn"]]
	{v.message | some v in vs; v.rule == "PM-09"} == {
		"education.students.nsn holds children's data, not approved by purpose 'readmission-research'",
		"table education.students holds children's data, not approved by purpose 'readmission-research'",
	}
}

test_pm09_reports_a_written_table_that_alone_holds_children_data if {
	source := object.union(t.column("education.students", "school", []), {"outputs": ["analytics.kids.school"]})
	inp := t.with_parts({
		"columns": [source, t.written("analytics.kids", "school", ["child"])],
		"purpose": {"sensitive_approved": []},
		"tables": [
			{"name": "education.students", "agency": "moe", "categories": []},
			{"name": "analytics.kids", "agency": null, "categories": ["child"]},
		],
	})
	vs := pm.violation with input as inp
	t.reported(vs, "PM-09") == [["analytics.kids.school"], ["analytics.kids.school"]]
}

# --- PM-10 and PM-11 ---

visits_nhi := object.union(t.column("health.visits", "nhi", ["unique_identifier:nhi"]), {"uses": ["join"], "outputs": [], "transforms": []})

patients_nhi := object.union(t.column("health.patients", "nhi", ["unique_identifier:nhi"]), {"uses": ["join"], "outputs": [], "transforms": []})

nhi_join := {"left": {"table": "health.visits", "column": "nhi"}, "right": {"table": "health.patients", "column": "nhi"}, "kind": "inner", "line": 4}

linking := t.with_parts({"columns": [visits_nhi, patients_nhi], "joins": [nhi_join]})

test_pm10_allows_approved_linking if {
	not "PM-10" in t.rules(pm.violation) with input as object.union(linking, {"purpose": {"linking_approved": true}})
}

test_pm10_denies_unapproved_linking if {
	vs := pm.violation with input as linking
	some v in vs
	v.rule == "PM-10"
	v.columns == ["health.patients.nhi", "health.visits.nhi"]
	v.line == 4
}

test_pm11_allows_own_identifier if {
	not "PM-11" in t.rules(pm.violation) with input as linking
}

test_pm11_denies_join_on_foreign_identifier if {
	vs := pm.violation with input as object.union(linking, {"job": {"agency": "msd"}})
	some v in vs
	v.rule == "PM-11"
	v.level == "hard"
	contains(v.message, "nhi")
}

test_pm11_uses_configured_issuers if {
	"PM-11" in t.rules(pm.violation) with input as linking with data.kaitiaki.issuer as {"nhi": "health_nz"}
}

# IPP13 restricts assigning, not recording (docs/legal-basis.md).
client_id := ["msd.clients", "client_id", ["unique_identifier:msd_client"]]

test_pm11_denies_foreign_identifier_as_the_only_key if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"job": {"agency": "msd"}})
	some v in vs
	v.rule == "PM-11"
	contains(v.message, "only key")
}

test_pm11_allows_the_only_key_back_to_its_issuer if {
	inp := object.union(t.selecting([t.nhi]), {"job": {"agency": "msd", "destination": {"kind": "external", "region": "nz", "name": "moh"}}})
	not "PM-11" in t.rules(pm.violation) with input as inp
}

test_pm11_denies_the_only_key_to_another_agency if {
	inp := object.union(t.selecting([t.nhi]), {"job": {"agency": "msd", "destination": {"kind": "external", "region": "nz", "name": "acc"}}})
	"PM-11" in t.rules(pm.violation) with input as inp
}

test_pm11_allows_recording_beside_own_key_with_approved_linking if {
	inp := object.union(t.selecting([t.nhi, client_id]), {"job": {"agency": "msd"}, "purpose": {"linking_approved": true}})
	not "PM-11" in t.rules(pm.violation) with input as inp
}

test_pm11_allows_recording_beside_own_key_under_an_agreement if {
	agreement := {"id": "ISA-3", "identified": true, "offshore_basis": null, "pseudonymised": false}
	inp := object.union(t.selecting([t.nhi, client_id]), {"job": {"agency": "msd"}, "purpose": {"sharing_agreement": agreement}})
	not "PM-11" in t.rules(pm.violation) with input as inp
}

test_pm11_denies_recording_without_linking_or_agreement if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi, client_id]), {"job": {"agency": "msd"}})
	some v in vs
	v.rule == "PM-11"
	contains(v.message, "neither approved linking nor a sharing agreement")
}

test_pm11_allows_hashed_foreign_identifier if {
	inp := object.union(t.selecting([t.nhi]), {"job": {"agency": "msd"}})
	hashed := object.union(inp, {
		"columns": [object.union(inp.columns[0], {"transforms": ["hash"]})],
		"outputs": [object.union(inp.outputs[0], {"transforms": ["hash"], "categories": ["person_key"]})],
	})
	not "PM-11" in t.rules(pm.violation) with input as hashed
}

# --- PM-12 ---

test_pm12_allows_tagged_retention if {
	not "PM-12" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"job": {"kind": "dbt_model"}})
}

test_pm12_warns_untagged_person_level_write if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"job": {"kind": "dbt_model", "tags": []}})
	some v in vs
	v.rule == "PM-12"
	v.level == "advisory"
}

written_nhi(tags) := object.union(t.selecting([t.nhi]), {"job": {"kind": "dbt_model", "tags": tags}})

test_pm12_warns_unbounded_retention if {
	vs := pm.violation with input as written_nhi(["retention:forever"])
	some v in vs
	v.rule == "PM-12"
	contains(v.message, "not a bounded period")
}

test_pm12_warns_retention_past_the_purpose_expiry if {
	vs := pm.violation with input as written_nhi(["retention:P2Y"])
	some v in vs
	v.rule == "PM-12"
	contains(v.message, "2028-11-26")
}

test_pm12_warns_a_date_past_the_purpose_expiry if {
	"PM-12" in t.rules(pm.violation) with input as written_nhi(["retention:2027-07-01"])
}

test_pm12_allows_a_date_within_the_purpose if {
	not "PM-12" in t.rules(pm.violation) with input as written_nhi(["retention:2027-06-30"])
}

test_pm12_rounds_days_up_to_months if {
	# 2026-11-26 + 210 days: rounded up to 8 months, 2027-07-26, after the expiry 2027-06-30
	"PM-12" in t.rules(pm.violation) with input as written_nhi(["retention:P30W"])
}

test_pm12_adds_every_unit_of_a_duration if {
	# 2026-11-26 + 1 year + 1 month + ceil(17 days / 28) months = 2028-01-26, after the expiry
	vs := pm.violation with input as written_nhi(["retention:P1Y1M2W3D"])
	some v in vs
	v.rule == "PM-12"
	contains(v.message, "ending 2028-01-26")
}

test_pm12_adds_a_unit_given_twice if {
	# 2026-11-26 + 1 month + 1 month = 2027-01-26, before the expiry 2027-06-30
	not "PM-12" in t.rules(pm.violation) with input as written_nhi(["retention:P1M1M"])
}

test_pm12_allows_untagged_read_only_query if {
	not "PM-12" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"job": {"tags": []}})
}

# --- PM-03 structured purpose limits (docs/legal-basis.md) ---

test_pm03_denies_person_level_output_for_an_aggregate_purpose if {
	vs := pm.violation with input as object.union(t.selecting([t.nhi]), {"purpose": {"output_level": "aggregate"}})
	some v in vs
	v.rule == "PM-03"
	contains(v.message, "only aggregate outputs")
}

test_pm03_allows_grouped_output_for_an_aggregate_purpose if {
	not "PM-03" in t.rules(pm.violation) with input as object.union(t.counts_by_region(10), {"purpose": {"output_level": "aggregate"}})
}

test_pm03_denies_a_destination_outside_the_purpose if {
	inp := object.union(t.selecting([t.nhi]), {"purpose": {"destinations": ["internal"]}, "job": {"destination": {"kind": "external"}}})
	"PM-03" in t.rules(pm.violation) with input as inp
}

test_pm03_allows_a_listed_destination if {
	not "PM-03" in t.rules(pm.violation) with input as object.union(t.selecting([t.nhi]), {"purpose": {"destinations": ["internal"], "regions": ["nz"]}})
}

test_pm03_denies_a_region_outside_the_purpose if {
	inp := object.union(t.selecting([t.nhi]), {"purpose": {"regions": ["nz"]}, "job": {"destination": {"region": "offshore"}}})
	"PM-03" in t.rules(pm.violation) with input as inp
}
