package kaitiaki.dpup.system_test

import data.kaitiaki.dpup.system as sys
import data.kaitiaki.testing as t
import rego.v1

test_sys01_allows_complete_analysis if {
	not "SYS-01" in t.rules(sys.violation) with input as t.selecting([t.nhi])
}

test_sys01_denies_unresolved_star if {
	inp := t.with_parts({"unresolved": [{"kind": "star_without_schema", "detail": "SELECT * from health.mystery", "line": 3}]})
	vs := sys.violation with input as inp
	some v in vs
	v.rule == "SYS-01"
	v.level == "hard"
	v.line == 3
	contains(v.message, "star_without_schema")
}

test_sys01_denies_malformed_unresolved_entry if {
	"SYS-01" in t.rules(sys.violation) with input as t.with_parts({"unresolved": ["something odd"]})
}

test_sys01_denies_input_without_columns if {
	vs := sys.violation with input as object.remove(t.base, ["columns"])
	some v in vs
	contains(v.message, "input.columns is not a list")
}

# Parts missing altogether are reported on every engine (OPA does not negate a missing reference).
test_sys01_denies_input_without_job_id_or_aggregation if {
	inp := object.union(object.remove(t.base, ["aggregation", "job"]), {"job": object.remove(t.base.job, ["id"])})
	messages := {v.message | some v in sys.violation} with input as inp
	{
		"the policy input is incomplete: input.job.id is missing",
		"the policy input is incomplete: input.aggregation is missing",
	} - messages == set()
}

test_sys01_denies_unreadable_time if {
	"SYS-01" in t.rules(sys.violation) with input as t.with_parts({"kaitiaki": {"now": "yesterday"}})
}

test_sys01_denies_missing_policy_parameters if {
	vs := sys.violation with input as t.base with data.kaitiaki.params as {}
	some v in vs
	contains(v.message, "data.kaitiaki.params.min_count_cell is missing")
}
