# kaitiaki's own fail-closed rule: what the analysis could not see, or an input or policy data
# that is incomplete, is never allowed.
package kaitiaki.dpup.system

import data.kaitiaki.lib
import data.kaitiaki.lib.params
import data.kaitiaki.lib.today
import rego.v1

# METADATA
# title: Analysis complete
# description: >-
#   kaitiaki never allows what it cannot see. A star that cannot be expanded, an unparseable
#   statement, an ambiguous column, an incomplete policy input or missing policy parameters
#   block the job until they are fixed.
# custom:
#   id: SYS-01
#   level: hard
#   guideline: kaitiaki
#   principle: fail closed
#   law: none (kaitiaki's own rule)
#   remediation: Fix the SQL or the manifest, or declare the columns (schema or catalog); kaitiaki never allows what it cannot see.
violation contains v if {
	some u in input.unresolved
	v := lib.violation("SYS-01", unresolved_message(u), [], unresolved_line(u))
}

violation contains v if {
	not complete
	some message in incomplete
	v := lib.violation("SYS-01", message, [], null)
}

# What is missing from the input and from the policy data, each as its finding's message.
incomplete contains sprintf("the policy input is incomplete: %s", [problem]) if some problem in input_problems

incomplete contains sprintf("the policy data is incomplete: data.kaitiaki.params.%s is missing", [key]) if {
	some key in missing_params
}

# Nearly every input and policy data are complete: one conjunction of the checks below, before
# looking for problems (it holds only when there are none). The parameters are tested on the whole
# object: every required key is there and no parameter is null (a test per key costs several times
# more; a null parameter that is not required only sends the decision the long way round).
complete if {
	is_array(input.columns)
	is_array(input.joins)
	is_array(input.outputs)
	is_array(input.tables)
	is_array(input.unresolved)
	is_array(input.waivers)
	is_string(input.job.id)
	is_object(input.aggregation)
	today
	given := params
	is_object(given)
	required_params - object.keys(given) == set()
	not null in given
}

unresolved_message(u) := sprintf("the analysis could not resolve %s: %s", [u.kind, u.detail]) if {
	is_string(u.kind)
	is_string(u.detail)
} else := sprintf("the analysis could not resolve: %v", [u])

unresolved_line(u) := u.line if is_number(u.line) else := null

# The shape of each column fact and output is checked by the engines before evaluation
# (kaitiaki.engine.base.check_input); the top-level parts are checked here as well.
lists := ["columns", "joins", "outputs", "tables", "unresolved", "waivers"]

# Each check is a rule that is negated, never `not f(input.x)`: OPA evaluates a reference given
# to a function before the `not`, so a missing input.x would make the problem undefined, not found.
input_problems contains sprintf("input.%s is not a list", [key]) if {
	listed := listed_keys
	some key in lists
	not key in listed
}

# The keys that hold lists, in one pass (a negated function call per key costs several times more).
listed_keys := {key | some key in lists; is_array(input[key])}

input_problems contains "input.job.id is missing" if not job_identified

job_identified if is_string(input.job.id)

input_problems contains "input.aggregation is missing" if not aggregation_given

aggregation_given if is_object(input.aggregation)

input_problems contains "input.kaitiaki.now is not an RFC 3339 time" if not today

required_params := {
	"off_agency_kinds", "vague_phrases", "min_count_cell", "min_magnitude_cell", "rounding_tags",
	"retention_tag_prefix", "insight_tags", "opt_out_promised_tables", "maori_data_categories",
	"ethnicity_categories", "default_issuers", "stats_nz_sources", "qi_combinations", "qi_coarsenings",
	"ipp3a_from",
}

# The required parameters that are absent or null: the given ones are gathered in one pass over
# the parameters (a negated function call per required key costs several times more).
missing_params := required_params - {key | is_object(params); some key in object.keys(params); params[key] != null}
