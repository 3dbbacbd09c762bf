# An organisation's own rule, beside the DPUP library: packages under kaitiaki.custom are gathered
# by kaitiaki.main exactly like the DPUP packages (levels, waivers, the decision).
package kaitiaki.custom.acme

import data.kaitiaki.lib
import rego.v1

# METADATA
# title: Payroll data stays with payroll
# description: >-
#   Salary tables may be read only by jobs that declare one of the payroll purposes listed in
#   data.kaitiaki.acme.payroll_purposes, whatever the DPUP purpose allows.
# custom:
#   id: ACME-01
#   level: soft
#   guideline: Purpose Matters
#   principle: He Tāngata
#   law: Employment Relations Act 2000 s 130 (wage records); Privacy Act 2020 IPP10
#   remediation: Declare a payroll purpose, or ask People & Culture for an aggregate extract.
violation contains v if {
	some table in {col.table | some col in input.columns; col.table in data.kaitiaki.acme.restricted_tables}
	not input.job.purpose in data.kaitiaki.acme.payroll_purposes
	cols := {col | some col in input.columns; col.table == table}
	message := concat("", ["the job reads ", table, " without a payroll purpose"])
	v := lib.violation("ACME-01", message, lib.names(cols), lib.earliest_line(cols))
}
