package kaitiaki.main_test

import data.kaitiaki.main
import data.kaitiaki.testing as t
import rego.v1

# Soft (PM-07) and advisory (SV-08) findings, nothing hard.
soft_only := t.selecting([t.nhi, t.full_name])

waiver(extra) := object.union(
	{"rule": "PM-07", "job": "sql:jobs/example.sql", "justification": "Contact tracing list for the outbreak team", "approved_by": "Privacy Officer", "expires": "2026-12-31"},
	extra,
)

test_allows_clean_input if {
	d := main.decision with input as t.selecting([t.nhi])
	d.allow == true
	d.violations == set()
}

test_gathers_every_dpup_package if {
	written := object.union(t.selecting([t.date_of_birth, t.ethnicity]), {
		"job": {"kind": "dbt_model", "destination": {"region": "offshore"}},
		"tables": [{"name": "health.patients", "agency": "moh", "categories": ["opt_out_flag"]}],
		"unresolved": [{"kind": "ambiguous_column", "detail": "id", "line": 1}],
	})
	d := main.decision with input as written
	{"AI-01", "TC-01", "SV-02", "SYS-01"} - t.rules(d.violations) == set()
	d.allow == false
}

test_soft_violation_blocks if {
	d := main.decision with input as soft_only
	d.allow == false
	t.level_of(d.violations, "PM-07") == {"soft"}
}

test_valid_waiver_unblocks_soft_violation if {
	d := main.decision with input as object.union(soft_only, {"waivers": [waiver({})]})
	d.allow == true
	some v in d.violations
	v.rule == "PM-07"
	v.waived == true
}

test_waiver_for_another_job_is_ignored if {
	d := main.decision with input as object.union(soft_only, {"waivers": [waiver({"job": "sql:jobs/other.sql"})]})
	d.allow == false
}

test_expired_waiver_is_ignored_and_reported if {
	inp := object.union(soft_only, {"waivers": [waiver({"expires": "2026-11-25"})]})
	d := main.decision with input as inp
	d.allow == false
	main.ignored_waivers == {{"rule": "PM-07", "reason": "it has expired or has no readable expiry date"}} with input as inp
}

test_decision_carries_ignored_waivers if {
	d := main.decision with input as object.union(soft_only, {"waivers": [waiver({"expires": "2026-11-25"})]})
	d.ignored_waivers == {{"rule": "PM-07", "reason": "it has expired or has no readable expiry date"}}
}

test_decision_without_ignored_waivers_keeps_its_three_fields if {
	d := main.decision with input as object.union(soft_only, {"waivers": [waiver({})]})
	object.keys(d) == {"allow", "violations", "policy_revision"}
}

test_waiver_of_a_hard_rule_is_reported_as_ignored if {
	inp := object.union(t.selecting([t.nhi]), {"purpose": null, "waivers": [waiver({"rule": "PM-02"})]})
	d := main.decision with input as inp
	{"rule": "PM-02", "reason": "the rule is hard here, and no waiver lifts a hard rule"} in d.ignored_waivers
}

test_waiver_without_justification_is_ignored if {
	d := main.decision with input as object.union(soft_only, {"waivers": [waiver({"justification": ""})]})
	d.allow == false
}

test_waiver_without_expiry_is_ignored if {
	d := main.decision with input as object.union(soft_only, {"waivers": [waiver({"expires": null})]})
	d.allow == false
}

# A waiver that lacks a field altogether (not only an empty one) is ignored, and why is reported,
# on every engine: OPA evaluates a missing field before a `not`, which could leave it valid.
missing_field_reasons := {
	"job": "it names another job",
	"rule": "it names no rule",
	"justification": "it has no justification",
	"approved_by": "it has no approver (approved_by)",
	"expires": "it has expired or has no readable expiry date",
}

without_field(field) := object.union(soft_only, {"waivers": [object.remove(waiver({}), [field])]})

outcome_without(field) := [d.allow, {r.reason | some r in ignored}] if {
	d := main.decision with input as without_field(field)
	ignored := main.ignored_waivers with input as without_field(field)
}

test_waiver_missing_a_field_is_ignored_and_reported if {
	outcomes := {field: outcome_without(field) | some field, _ in missing_field_reasons}
	outcomes == {field: [false, {reason}] | some field, reason in missing_field_reasons}
}

test_hard_violation_is_never_waived if {
	inp := object.union(t.selecting([t.nhi]), {"purpose": null, "waivers": [waiver({"rule": "PM-02"})]})
	d := main.decision with input as inp
	d.allow == false
	some v in d.violations
	v.rule == "PM-02"
	v.waived == false
}

test_advisory_never_blocks if {
	d := main.decision with input as object.union(t.selecting([t.nhi]), {"job": {"kind": "dbt_model", "tags": []}})
	d.allow == true
	t.level_of(d.violations, "PM-12") == {"advisory"}
}

test_level_override_from_configuration if {
	d := main.decision with input as soft_only with data.kaitiaki.levels as {"PM-07": "advisory"}
	d.allow == true
	t.level_of(d.violations, "PM-07") == {"advisory"}
}

test_level_override_can_harden if {
	d := main.decision with input as soft_only with data.kaitiaki.levels as {"PM-07": "hard"}
	d.allow == false
	t.level_of(d.violations, "PM-07") == {"hard"}
}

test_unknown_level_counts_as_hard if {
	d := main.decision with input as soft_only with data.kaitiaki.levels as {"PM-07": "critical"}
	t.level_of(d.violations, "PM-07") == {"soft"}
	d2 := main.decision with input as soft_only with data.kaitiaki.violation_fields.internal["PM-07"].level as "critical"
	t.level_of(d2.violations, "PM-07") == {"hard"}
}

test_custom_packages_are_gathered if {
	d := main.decision with input as t.selecting([t.nhi]) with data.kaitiaki.custom.acme.violation as {{"rule": "ACME-01", "message": "no", "level": "soft"}}
	d.allow == false
	some v in d.violations
	v.rule == "ACME-01"
	v.columns == []
	v.waived == false
}

test_custom_rule_cannot_waive_itself if {
	d := main.decision with input as t.selecting([t.nhi]) with data.kaitiaki.custom.acme.violation as {{"rule": "ACME-01", "level": "soft", "waived": true}}
	d.allow == false
	some v in d.violations
	v.rule == "ACME-01"
	v.waived == false
}

test_custom_hard_violation_with_null_waived_blocks if {
	d := main.decision with input as t.selecting([t.nhi]) with data.kaitiaki.custom.acme.violation as {{"rule": "ACME-01", "level": "hard", "waived": null}}
	d.allow == false
	some v in d.violations
	v.waived == false
}

test_custom_string_violation_fails_closed if {
	d := main.decision with input as t.selecting([t.nhi]) with data.kaitiaki.custom.acme.violation as {"bare message"}
	d.allow == false
	some v in d.violations
	v.rule == "CUSTOM"
	v.level == "hard"
}

test_custom_violation_of_another_type_fails_closed if {
	d := main.decision with input as t.selecting([t.nhi]) with data.kaitiaki.custom.acme.violation as {42}
	d.allow == false
	some v in d.violations
	v.message == "42"
}

test_malformed_waiver_is_ignored_and_reported if {
	inp := object.union(soft_only, {"waivers": ["PM-07 please"]})
	d := main.decision with input as inp
	d.allow == false
	main.ignored_waivers == {{"rule": null, "reason": "it is not an object"}} with input as inp
}

test_decision_carries_revision if {
	d := main.decision with input as t.base with data.kaitiaki.revision as "sha256:abc"
	d.policy_revision == "sha256:abc"
}
