# DPUP guideline "Access to Information": help people see and correct the information held about
# them (Mana Whakahaere; Privacy Act 2020 IPP6 and IPP7).
package kaitiaki.dpup.access_information

import data.kaitiaki.lib
import data.kaitiaki.lib.identifier_output_categories
import data.kaitiaki.lib.inside_agency
import data.kaitiaki.lib.person_level
import data.kaitiaki.lib.writes
import rego.v1

# METADATA
# title: Person-key lineage kept
# description: >-
#   A person-level table written inside the agency that keeps sensitive or quasi-identifying
#   attributes but drops every identifier still describes people, yet no access or correction
#   request can find their rows in it.
# custom:
#   id: AI-01
#   level: advisory
#   guideline: Access to Information
#   principle: Mana Whakahaere
#   law: Privacy Act 2020 IPP6, IPP7
#   remediation: Keep the agency's key (or a reversible pseudonym) so that access and correction requests can be met.
violation contains v if {
	inside_agency
	identifier_output_categories == set()
	person_level
	writes
	kept := {out | some out in input.outputs; lib.in_output(out); some cat in out.categories; attribute_category(cat)}
	kept != set()
	cols := lib.sources_of(kept)
	message := concat("", ["the job writes person-level attributes (", lib.list({out.column | some out in kept}), ") without any key to the person"])
	v := lib.violation("AI-01", message, lib.names(cols), lib.earliest_line(cols))
}

attribute_category(cat) if split(cat, ":")[0] == "quasi_identifier"

attribute_category(cat) if lib.sensitive_category(cat)
