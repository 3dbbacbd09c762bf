package kaitiaki.tests.lib

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

test_violation_takes_fields_from_metadata if {
	v := lib.violation("PM-01", "m", ["a.b"], 4) with data.kaitiaki.rules as {"PM-01": {"title": "T", "guideline": "G", "principle": "P", "law": "L", "level": "soft", "remediation": "R"}}
	v == {"rule": "PM-01", "title": "T", "guideline": "G", "principle": "P", "law": "L", "level": "soft", "message": "m", "columns": ["a.b"], "line": 4, "remediation": "R", "waived": false}
}

test_violation_without_metadata_is_hard if {
	v := lib.violation("X-1", "m", [], null) with data.kaitiaki.rules as {}
	v.level == "hard"
	v.title == "X-1"
}
