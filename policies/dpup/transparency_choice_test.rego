package kaitiaki.dpup.transparency_choice_test

import data.kaitiaki.dpup.transparency_choice as tc
import data.kaitiaki.testing as t
import rego.v1

opted_out := object.union(t.column("msd.clients", "opted_out", ["opt_out_flag"]), {"uses": ["filter"], "outputs": [], "transforms": []})

client_region := t.column("msd.clients", "region", [])

test_tc01_allows_filtered_opt_out if {
	not "TC-01" in t.rules(tc.violation) with input as t.with_parts({"columns": [client_region, opted_out]})
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
	not "TC-01" in t.rules(tc.violation) with input as object.union(copied, object.union(copied_tables, {"columns": columns}))
}

test_tc01_reports_the_read_table_not_the_written_copy if {
	vs := tc.violation with input as object.union(copied, copied_tables)
	{v.message | some v in vs} == {"msd.clients records people's opt-out choice, but the job does not filter on its opt-out flag"}
}

test_tc01_reports_a_written_table_that_alone_records_opt_outs if {
	# analytics.x.opted_out is an opt-out flag by its own catalog entry, written from a constant.
	inp := t.with_parts({
		"columns": [client_region, t.written("analytics.x", "opted_out", ["opt_out_flag"])],
		"tables": [{"name": "analytics.x", "agency": null, "categories": ["opt_out_flag"]}],
	})
	vs := tc.violation with input as inp
	{v.message | some v in vs} == {"analytics.x records people's opt-out choice, but the job does not filter on its opt-out flag"}
}
