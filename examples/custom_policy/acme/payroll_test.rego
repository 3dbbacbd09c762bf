# Tests live outside kaitiaki.custom (kaitiaki.acme_test), so that gathering the violations never
# evaluates them. kaitiaki.testing (the bundled fixtures) builds the inputs.
package kaitiaki.acme_test

import data.kaitiaki.custom.acme
import data.kaitiaki.testing as t
import rego.v1

salary := ["payroll.salaries", "gross_pay", []]

test_acme01_allows_payroll_purpose if {
	inp := object.union(t.selecting([salary]), {"job": {"purpose": "payroll-run"}})
	not "ACME-01" in t.rules(acme.violation) with input as inp
}

test_acme01_denies_other_purposes if {
	vs := acme.violation with input as t.selecting([salary])
	some v in vs
	v.rule == "ACME-01"
	v.level == "soft"
	v.columns == ["payroll.salaries.gross_pay"]
}

test_acme01_reaches_the_decision if {
	d := data.kaitiaki.main.decision with input as t.selecting([salary])
	d.allow == false
	"ACME-01" in t.rules(d.violations)
}
