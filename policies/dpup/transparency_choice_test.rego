package kaitiaki.tests.transparency_choice

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
