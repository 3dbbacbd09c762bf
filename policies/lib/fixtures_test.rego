# Test fixtures: a complete policy input with no findings, and builders for column facts and
# outputs, so each rule's tests say only what differs. Loaded by `kaitiaki policy test` only.
package kaitiaki.testing

import rego.v1

purpose := {
	"id": "readmission-research",
	"description": "Reduce avoidable readmissions: readmission rates per region for the planning team",
	"allowed_categories": ["direct_identifier", "unique_identifier", "quasi_identifier", "person_key", "sensitive", "child"],
	"allowed_uses": [],
	"approved_by": "Data Governance Board",
	"expires": "2027-06-30",
	"linking_approved": false,
	"sensitive_approved": true,
	"sharing_agreement": null,
}

base := {
	"kaitiaki": {"version": "0.1.0", "mode": "enforce", "now": "2026-11-26T00:00:00Z"},
	"job": {
		"id": "sql:jobs/example.sql", "kind": "sql", "name": "example.sql", "dialect": "postgres",
		"source": {"path": "jobs/example.sql", "line_offset": 0}, "owner": null,
		"purpose": "readmission-research",
		"destination": {"kind": "internal", "region": "nz", "name": null},
		"tags": ["retention:P6M"], "upstream": [], "meta": {}, "agency": "moh",
	},
	"purpose": purpose,
	"columns": [],
	"joins": [],
	"outputs": [],
	"aggregation": {"grouped": false, "count": false, "magnitudes": [], "min_group_size": null, "single_value": [], "cells": []},
	"row_filters": [],
	"tables": [],
	"unresolved": [],
	"waivers": [],
}

# The base input with some top-level parts replaced (objects merge, lists are replaced).
with_parts(parts) := object.union(base, parts)

# A column selected raw into the query result, on line 2.
column(table, name, categories) := {
	"table": table, "column": name, "uses": ["select"], "transforms": ["none"],
	"outputs": [name], "lines": [2], "from_star": false, "categories": categories,
	"classified_by": ["catalog"],
}

# The query-result column fed raw by `table.name`.
output(table, name, categories) := {
	"table": null, "column": name, "categories": categories, "transforms": ["none"],
	"sources": [concat(".", [table, name])],
}

# A person-level query selecting the columns raw, with matching outputs.
selecting(columns) := with_parts({
	"columns": [column(c[0], c[1], c[2]) | some c in columns],
	"outputs": [output(c[0], c[1], c[2]) | some c in columns],
})

# The column fact of `target.name`, a column the job only writes (an INSERT target), on line 1.
written(target, name, categories) := {
	"table": target, "column": name, "uses": ["write"], "transforms": [], "outputs": [],
	"lines": [1], "from_star": false, "categories": categories, "classified_by": ["lineage"],
}

# INSERT INTO target SELECT the columns raw: each source column feeds a written column of the same
# name, which carries the source's categories (as lineage gives them).
inserting(target, columns) := with_parts({
	"columns": array.concat(
		[object.union(column(c[0], c[1], c[2]), {"outputs": [concat(".", [target, c[1]])]}) | some c in columns],
		[written(target, c[1], c[2]) | some c in columns],
	),
	"outputs": [object.union(output(c[0], c[1], c[2]), {"table": target}) | some c in columns],
})

# The findings of `rule` among the violations, as sorted lists of the columns each one names.
reported(violations, rule) := sort([v.columns | some v in violations; v.rule == rule])

nhi := ["health.patients", "nhi", ["unique_identifier:nhi"]]

full_name := ["health.patients", "full_name", ["direct_identifier"]]

date_of_birth := ["health.patients", "date_of_birth", ["quasi_identifier"]]

ethnicity := ["health.patients", "ethnicity", ["sensitive:ethnicity"]]

region := ["health.patients", "region", []]

rules(violations) := {v.rule | some v in violations}

level_of(violations, rule) := {v.level | some v in violations; v.rule == rule}

# A grouped count of people by region, suppressed with HAVING COUNT(DISTINCT client_key) >= min_size
# (null: no threshold).
counts_by_region(min_size) := with_parts({
	"columns": [object.union(column("health.visits", "region", []), {"uses": ["select", "group"]}), counted_key],
	"outputs": [
		output("health.visits", "region", []),
		{"table": null, "column": "n", "categories": [], "transforms": ["aggregate"], "sources": ["health.visits.client_key"]},
	],
	"aggregation": {
		"grouped": true, "count": true, "magnitudes": [], "min_group_size": min_size, "single_value": [],
		"cells": [{"populations": ["all"], "thresholds": people_threshold(min_size)}],
	},
})

# The person key a count counts (COUNT(DISTINCT client_key)), on line 3.
counted_key := {
	"table": "health.visits", "column": "client_key", "uses": ["select"], "transforms": ["aggregate"],
	"outputs": ["n"], "lines": [3], "from_star": false, "categories": ["person_key"], "classified_by": ["catalog"],
}

people_threshold(min_size) := [threshold(min_size, true, ["health.visits.client_key"], [], false)] if {
	is_number(min_size)
} else := []

# A suppression threshold fact (input.aggregation.cells[_].thresholds[_]) on the whole population.
threshold(min_size, distinct, columns, tables, joined) := {
	"min": min_size, "distinct": distinct, "columns": columns, "tables": tables, "joined": joined,
	"population": "all",
}

# The aggregation facts of one cell with these thresholds.
one_cell(thresholds) := {"cells": [{"populations": ["all"], "thresholds": thresholds}]}
