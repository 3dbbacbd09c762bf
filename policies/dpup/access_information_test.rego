package kaitiaki.dpup.access_information_test

import data.kaitiaki.dpup.access_information as ai
import data.kaitiaki.testing as t
import rego.v1

written(inp) := object.union(inp, {"job": {"kind": "dbt_model"}})

test_ai01_allows_write_that_keeps_a_key if {
	not "AI-01" in t.rules(ai.violation) with input as written(t.selecting([t.nhi, t.date_of_birth, t.ethnicity]))
}

test_ai01_warns_write_that_drops_every_key if {
	vs := ai.violation with input as written(t.selecting([t.date_of_birth, t.ethnicity]))
	some v in vs
	v.rule == "AI-01"
	v.level == "advisory"
	v.columns == ["health.patients.date_of_birth", "health.patients.ethnicity"]
}

test_ai01_allows_read_only_query if {
	not "AI-01" in t.rules(ai.violation) with input as t.selecting([t.date_of_birth, t.ethnicity])
}

test_ai01_allows_data_leaving_the_agency if {
	inp := object.union(written(t.selecting([t.date_of_birth])), {"job": {"destination": {"kind": "external"}}})
	not "AI-01" in t.rules(ai.violation) with input as inp
}
