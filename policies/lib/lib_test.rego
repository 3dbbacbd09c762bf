package kaitiaki.lib_test

import data.kaitiaki.lib
import data.kaitiaki.testing as t
import rego.v1

test_identifiable_categories if {
	lib.identifiable_category("direct_identifier")
	lib.identifiable_category("unique_identifier:nhi")
	lib.identifiable_category("quasi_identifier")
	lib.identifiable_category("person_key")
	lib.identifiable_category("sensitive:health")
	lib.identifiable_category("child")
	not lib.identifiable_category("opt_out_flag")
}

test_identifier_columns if {
	lib.identifier({"categories": ["person_key"]})
	lib.identifier({"categories": ["quasi_identifier", "unique_identifier:ird"]})
	not lib.identifier({"categories": ["quasi_identifier", "sensitive:health"]})
	lib.identifiable({"categories": ["child"]})
	not lib.identifiable({"categories": ["opt_out_flag"]})
}

test_uid_scheme if lib.uid_scheme("unique_identifier:msd_client") == "msd_client"

test_foreign_uid_defaults_and_configuration if {
	lib.foreign_uid_category("unique_identifier:ird") with input as t.base
	not lib.foreign_uid_category("unique_identifier:nhi") with input as t.base
	lib.foreign_uid_category("unique_identifier:nhi") with input as t.base with data.kaitiaki.issuer as {"nhi": "te_whatu_ora"}
	not lib.foreign_uid_category("unique_identifier:unknown_scheme") with input as t.base
}

test_off_agency if {
	lib.off_agency with input as object.union(t.base, {"job": {"destination": {"kind": "shared"}}})
	not lib.off_agency with input as t.base
}

test_person_level if {
	lib.person_level with input as t.base
	not lib.person_level with input as t.counts_by_region(6)
}

test_not_expired_fails_closed if {
	lib.not_expired("2026-11-26") with input as t.base
	not lib.not_expired("2026-11-25") with input as t.base
	not lib.not_expired("soon") with input as t.base
	not lib.not_expired("2027-01-01") with input as object.union(t.base, {"kaitiaki": {"now": "tomorrow"}})
}

fields := {"rule": "PM-01", "title": "T", "guideline": "G", "principle": "P", "law": "L", "level": "soft", "remediation": "R", "waived": false}

test_violation_takes_the_fields_for_its_destination if {
	prepared := {"internal": {"PM-01": fields}, "off_agency": {"PM-01": object.union(fields, {"level": "hard"})}}
	v := lib.violation("PM-01", "m", ["a.b"], 4) with data.kaitiaki.violation_fields as prepared
	v == object.union(fields, {"message": "m", "columns": ["a.b"], "line": 4})
	shared := object.union(t.base, {"job": {"destination": {"kind": "shared"}}})
	w := lib.violation("PM-01", "m", ["a.b"], 4) with data.kaitiaki.violation_fields as prepared with input as shared
	w.level == "hard"
}

test_violation_reads_metadata_without_prepared_fields if {
	v := lib.violation("PM-01", "m", ["a.b"], 4) with data.kaitiaki.violation_fields as {"internal": {}, "off_agency": {}} with data.kaitiaki.rules as {"PM-01": object.remove(fields, ["rule", "waived"])}
	v == object.union(fields, {"message": "m", "columns": ["a.b"], "line": 4})
}

test_violation_without_metadata_is_hard if {
	v := lib.violation("X-1", "m", [], null) with data.kaitiaki.rules as {}
	v.level == "hard"
	v.title == "X-1"
}

# The loader's prepared fields say exactly what reading the METADATA would, for every rule and
# both destinations (kaitiaki.engine.metadata.violation_fields mirrors from_metadata/level_for).
test_prepared_fields_match_the_metadata if {
	shared := object.union(t.base, {"job": {"destination": {"kind": "shared"}}})
	every id, _ in data.kaitiaki.rules {
		every doc in [t.base, shared] {
			fast := lib.violation(id, "m", ["a.b"], 3) with input as doc
			m := lib.meta(id)
			slow := lib.from_metadata(m, id, lib.level_for(m), "m", ["a.b"], 3) with input as doc
			fast == slow
		}
	}
}

test_column_and_output_categories_are_gathered_once if {
	inp := object.union(t.selecting([t.nhi, t.ethnicity, t.region]), {"outputs": [
		{"table": null, "column": "n", "categories": ["quasi_identifier"], "transforms": ["aggregate"], "sources": []},
		{"table": null, "column": "k", "categories": ["person_key"], "transforms": ["hash"], "sources": []},
	]})
	lib.column_categories == {"unique_identifier:nhi", "sensitive:ethnicity"} with input as inp
	lib.identifier_column_categories == {"unique_identifier:nhi"} with input as inp
	lib.sensitive_column_categories == {"sensitive:ethnicity"} with input as inp
	lib.identifiable_output_categories == {"person_key"} with input as inp
	{c.column | some c in lib.identifiable_columns} == {"nhi", "ethnicity"} with input as inp
	{c.column | some c in lib.sensitive_columns} == {"ethnicity"} with input as inp
	{o.column | some o in lib.identifier_outputs} == {"k"} with input as inp
}

test_line_of_matches_earliest_line if {
	col := t.column("a", "b", [])
	lib.line_of(object.union(col, {"lines": [7, 3]})) == lib.earliest_line({object.union(col, {"lines": [7, 3]})})
	lib.line_of(object.union(col, {"lines": []})) == null
}

# sources_finding names the same columns, and the same line, as names and earliest_line of sources_of.
test_sources_finding_matches_names_and_earliest_line_of_the_sources if {
	a := object.union(t.column("s", "a", []), {"lines": [9, 4]})
	b := object.union(t.column("s", "b", []), {"lines": []})
	inp := t.with_parts({"columns": [a, b]})
	outs := {{"sources": ["s.b", "s.a", "s.missing"]}, {"sources": []}}
	f := lib.sources_finding("m", outs) with input as inp
	f == {"message": "m", "columns": ["s.a", "s.b"], "line": 4}
	f.columns == lib.names(lib.sources_of(outs)) with input as inp
	f.line == lib.earliest_line(lib.sources_of(outs)) with input as inp
	lib.sources_finding("m", {{"sources": ["s.b"]}}) == {"message": "m", "columns": ["s.b"], "line": null} with input as inp
}

# --- columns this job only writes ---

diagnosis := ["health.patients", "diagnosis", ["sensitive:health"]]

test_own_categories_of_a_read_column_are_all_its_categories if {
	inp := t.inserting("analytics.x", [diagnosis])
	lib.own_categories(inp.columns[0]) == ["sensitive:health"] with input as inp
}

test_own_categories_of_a_written_column_leave_out_what_its_source_carries if {
	inp := t.inserting("analytics.x", [diagnosis])
	lib.written_only(inp.columns[1])
	lib.own_categories(inp.columns[1]) == set() with input as inp
	tagged := object.union(inp.columns[1], {"categories": ["sensitive:health", "child"]})
	lib.own_categories(tagged) == {"child"} with input as inp
}

test_own_categories_of_a_written_column_without_a_source_are_all_its_categories if {
	alone := t.written("analytics.x", "diagnosis", ["sensitive:health"])
	lib.own_categories(alone) == {"sensitive:health"} with input as t.with_parts({"columns": [alone]})
}

test_carried_in_pairs_a_written_column_with_what_its_source_carries if {
	inp := t.inserting("analytics.x", [diagnosis, t.nhi])
	lib.carried_in == {["analytics.x.diagnosis", "sensitive:health"], ["analytics.x.nhi", "unique_identifier:nhi"]} with input as inp
	alone := t.written("analytics.x", "diagnosis", ["sensitive:health"])
	lib.carried_in == set() with input as t.with_parts({"columns": [alone]})
}

test_a_column_written_and_read_is_not_written_only if {
	not lib.written_only(object.union(t.written("analytics.x", "k", []), {"uses": ["select", "write"]}))
}

test_table_categories_of_a_written_only_table_are_its_written_columns_own if {
	inp := object.union(t.inserting("analytics.x", [diagnosis]), {"tables": [
		{"name": "health.patients", "agency": "moh", "categories": ["sensitive:health", "unique_identifier:nhi"]},
		{"name": "analytics.x", "agency": null, "categories": ["sensitive:health", "child"]},
	]})
	lib.written_only_tables == {"analytics.x"} with input as inp
	lib.table_categories(inp.tables[0]) == ["sensitive:health", "unique_identifier:nhi"] with input as inp
	lib.table_categories(inp.tables[1]) == set() with input as inp
}

test_least_and_greatest_compare_numbers_as_numbers if {
	lib.least({9, 10, 30}) == 9
	lib.greatest({9, 10, 3}) == 10
	lib.least({6}) == 6
	not lib.least(set())
}
