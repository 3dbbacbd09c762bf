package kaitiaki.dpup.transparency_choice_test

import data.kaitiaki.dpup.transparency_choice as tc
import data.kaitiaki.testing as t
import rego.v1

opted_out := object.union(t.column("msd.clients", "opted_out", ["opt_out_flag"]), {"uses": ["filter"], "outputs": [], "transforms": []})

client_region := t.column("msd.clients", "region", [])

excluded := {"row_filters": [{"table": "msd.clients", "kind": "false", "column": "msd.clients.opted_out"}]}

# docs/legal-basis.md: a condition counts only when it removes opted-out people on every path.
test_tc01_allows_opted_out_people_excluded if {
	not "TC-01" in t.rules(tc.violation) with input as t.with_parts(object.union({"columns": [client_region, opted_out]}, excluded))
}

test_tc01_denies_a_filter_that_keeps_the_opted_out if {
	kept := {"row_filters": [{"table": "msd.clients", "kind": "true", "column": "msd.clients.opted_out"}]}
	"TC-01" in t.rules(tc.violation) with input as t.with_parts(object.union({"columns": [client_region, opted_out]}, kept))
}

test_tc01_denies_a_flag_used_without_a_guaranteed_exclusion if {
	"TC-01" in t.rules(tc.violation) with input as t.with_parts({"columns": [client_region, opted_out]})
}

consent := object.union(t.column("msd.consent", "consented", ["consent_flag"]), {"uses": ["filter", "join"], "outputs": []})

flagged_table := {"name": "msd.clients", "agency": "msd", "categories": ["opt_out_flag"]}

client_key := object.union(t.column("msd.clients", "client_key", ["unique_identifier:msd_client"]), {"uses": ["join"], "outputs": []})

consent_key := object.union(t.column("msd.consent", "client_key", ["unique_identifier:msd_client"]), {"uses": ["join"], "outputs": []})

list_key := object.union(t.column("msd.opt_outs", "client_key", ["unique_identifier:msd_client"]), {"uses": ["join"], "outputs": []})

client_key_join(other, kind) := {"left": {"table": "msd.clients", "column": "client_key"}, "right": {"table": other, "column": "client_key"}, "kind": kind, "line": 1}

test_tc01_allows_a_join_to_consent_true if {
	inp := t.with_parts({
		"columns": [client_region, client_key, consent, consent_key],
		"tables": [flagged_table],
		"joins": [client_key_join("msd.consent", "inner")],
		"row_filters": [{"table": "msd.clients", "kind": "true", "column": "msd.consent.consented"}],
	})
	not "TC-01" in t.rules(tc.violation) with input as inp
}

# EXISTS (SELECT 1 FROM consent k WHERE k.consented), uncorrelated, or joined on region or <>:
# someone's consent, not necessarily that of the people in the output.
test_tc01_denies_consent_not_joined_on_the_person if {
	region_join := {"left": {"table": "msd.clients", "column": "region"}, "right": {"table": "msd.consent", "column": "region"}, "kind": "semi", "line": 1}
	consent_region := t.column("msd.consent", "region", [])
	some joins in [[], [region_join]]
	inp := t.with_parts({
		"columns": [client_region, client_key, consent, consent_key, consent_region],
		"tables": [flagged_table],
		"joins": joins,
		"row_filters": [{"table": "msd.clients", "kind": "true", "column": "msd.consent.consented"}],
	})
	"TC-01" in t.rules(tc.violation) with input as inp
}

test_tc01_denies_keeping_those_without_consent if {
	# LEFT JOIN consent … WHERE consent.k IS NULL is an anti-join to the consent table
	inp := t.with_parts({
		"columns": [client_region, consent],
		"tables": [flagged_table, {"name": "msd.consent", "agency": "msd", "categories": ["consent_flag"]}],
		"row_filters": [{"table": "msd.clients", "kind": "anti", "column": "msd.consent"}],
	})
	"TC-01" in t.rules(tc.violation) with input as inp
}

test_tc01_allows_an_anti_join_to_the_opt_out_list if {
	inp := t.with_parts({
		"columns": [client_region, client_key, list_key],
		"tables": [flagged_table, {"name": "msd.opt_outs", "agency": "msd", "categories": ["opt_out_list"]}],
		"joins": [client_key_join("msd.opt_outs", "anti")],
		"row_filters": [{"table": "msd.clients", "kind": "anti", "column": "msd.opt_outs"}],
	})
	not "TC-01" in t.rules(tc.violation) with input as inp
}

# NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.client_key = 0): removes nobody in particular.
test_tc01_denies_an_opt_out_list_not_joined_on_the_person if {
	inp := t.with_parts({
		"columns": [client_region, client_key, list_key],
		"tables": [flagged_table, {"name": "msd.opt_outs", "agency": "msd", "categories": ["opt_out_list"]}],
		"joins": [],
		"row_filters": [{"table": "msd.clients", "kind": "anti", "column": "msd.opt_outs"}],
	})
	"TC-01" in t.rules(tc.violation) with input as inp
}

test_tc01_allows_tables_without_opt_out if {
	not "TC-01" in t.rules(tc.violation) with input as t.with_parts({"columns": [client_region]})
}

test_tc01_denies_unfiltered_opt_out_column if {
	selected := object.union(opted_out, {"uses": ["select"], "outputs": ["opted_out"]})
	vs := tc.violation with input as t.with_parts({"columns": [client_region, selected]})
	some v in vs
	v.rule == "TC-01"
	v.level == "soft"
	v.columns == ["msd.clients.opted_out", "msd.clients.region"]
}

test_tc01_denies_opt_out_table_never_filtered if {
	inp := t.with_parts({
		"columns": [client_region],
		"tables": [{"name": "msd.clients", "agency": "msd", "categories": ["opt_out_flag"]}],
	})
	"TC-01" in t.rules(tc.violation) with input as inp
}

test_tc01_is_hard_when_the_choice_was_promised if {
	inp := t.with_parts({
		"columns": [client_region],
		"tables": [{"name": "msd.clients", "agency": "msd", "categories": ["opt_out_flag"]}],
	})
	vs := tc.violation with input as inp with data.kaitiaki.params.opt_out_promised_tables as ["msd.clients"]
	t.level_of(vs, "TC-01") == {"hard"}
}

# INSERT INTO analytics.x SELECT region, opted_out FROM msd.clients [WHERE NOT opted_out]: the
# written table records the opt-out choice only because the job copies it from msd.clients.
copied := t.inserting("analytics.x", [["msd.clients", "region", []], ["msd.clients", "opted_out", ["opt_out_flag"]]])

copied_tables := {"tables": [
	{"name": "msd.clients", "agency": "msd", "categories": ["opt_out_flag"]},
	{"name": "analytics.x", "agency": null, "categories": ["opt_out_flag"]},
]}

test_tc01_allows_copying_an_opt_out_flag_that_is_filtered if {
	filtered := object.union(copied.columns[1], {"uses": ["select", "filter"]})
	columns := [copied.columns[0], filtered, copied.columns[2], copied.columns[3]]
	parts := object.union(copied_tables, object.union(excluded, {"columns": columns}))
	not "TC-01" in t.rules(tc.violation) with input as object.union(copied, parts)
}

test_tc01_reports_the_read_table_not_the_written_copy if {
	vs := tc.violation with input as object.union(copied, copied_tables)
	{v.message | some v in vs} == {"msd.clients records people's opt-out choice, but the job does not exclude the people who opted out on every path to its output"}
}

test_tc01_reports_a_written_table_that_alone_records_opt_outs if {
	# analytics.x.opted_out is an opt-out flag by its own catalog entry, written from a constant.
	inp := t.with_parts({
		"columns": [client_region, t.written("analytics.x", "opted_out", ["opt_out_flag"])],
		"tables": [{"name": "analytics.x", "agency": null, "categories": ["opt_out_flag"]}],
	})
	vs := tc.violation with input as inp
	{v.message | some v in vs} == {"analytics.x records people's opt-out choice, but the job does not exclude the people who opted out on every path to its output"}
}

# --- TC-02 (IPP3A, from 1 May 2026) ---

other_agency := object.union(t.selecting([t.nhi]), {
	"job": {"kind": "dbt_model", "agency": "msd"},
	"tables": [{"name": "health.patients", "agency": "moh", "categories": ["unique_identifier:nhi"]}],
})

test_tc02_advises_person_level_data_from_another_agency if {
	vs := tc.violation with input as other_agency
	t.level_of(vs, "TC-02") == {"advisory"}
}

test_tc02_quiet_for_the_agency_s_own_tables if {
	not "TC-02" in t.rules(tc.violation) with input as object.union(other_agency, {"job": {"agency": "moh"}})
}

test_tc02_quiet_before_ipp3a_commenced if {
	not "TC-02" in t.rules(tc.violation) with input as object.union(other_agency, {"kaitiaki": {"now": "2026-04-30T00:00:00Z"}})
}

test_tc02_quiet_for_aggregates if {
	inp := object.union(t.counts_by_region(10), {
		"job": {"kind": "dbt_model", "agency": "msd"},
		"tables": [{"name": "health.visits", "agency": "moh", "categories": []}],
	})
	not "TC-02" in t.rules(tc.violation) with input as inp
}
