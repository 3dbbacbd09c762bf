# The decision root: gathers every violation of the DPUP library and of the organisation's own
# packages (data.kaitiaki.custom.*), applies the configured levels and the waivers, and decides.
#
# decision = {allow, violations, policy_revision} (docs/governance.md), plus ignored_waivers when a waiver
# offered for the job does not count. advisory never blocks; soft blocks
# unless a valid waiver names the job and the rule; hard always blocks.
package kaitiaki.main

import data.kaitiaki.lib
import rego.v1

levels := {"advisory", "soft", "hard"}

# The DPUP packages are named one by one: iterating data.kaitiaki.dpup[_] would make regorus
# evaluate every rule of every package, not only the violations.
found contains v if {
	some v in data.kaitiaki.dpup.purpose_matters.violation
}

found contains v if {
	some v in data.kaitiaki.dpup.transparency_choice.violation
}

found contains v if {
	some v in data.kaitiaki.dpup.access_information.violation
}

found contains v if {
	some v in data.kaitiaki.dpup.sharing_value.violation
}

found contains v if {
	some v in data.kaitiaki.dpup.system.violation
}

# The DPUP rules build their violations with lib.violation, which gives every field; an
# organisation's rules may not, so theirs are completed first. Only a waiver in kaitiaki.yaml
# waives: a rule's own `waived` (true, null, anything) is replaced by false.
found contains normalised(raw) if {
	some custom in data.kaitiaki.custom
	some raw in custom.violation
}

# Every field a violation must carry; a custom rule that omits one still reports (and fails
# closed: no rule id means CUSTOM, no level means hard).
defaults := {
	"rule": "CUSTOM", "title": "", "guideline": "", "principle": "", "law": "", "level": "hard",
	"message": "", "columns": [], "line": null, "remediation": "", "waived": false,
}

normalised(raw) := object.union(defaults, object.remove(raw, {"waived"})) if {
	is_object(raw)
} else := object.union(defaults, {"message": raw}) if {
	is_string(raw)
} else := object.union(defaults, {"message": sprintf("%v", [raw])})

# kaitiaki.yaml's `levels` override a rule's own level; an unknown level counts as hard. Both
# lookups are tables built once per decision, so each violation costs two lookups.
level_overrides := {rule: level | some rule, level in data.kaitiaki.levels; level in levels}

known_levels := {"advisory": "advisory", "soft": "soft", "hard": "hard"}

# Without level overrides or valid waivers (most jobs), a violation keeps its own known level and
# is not waived: only an unknown level changes (to hard).
unadjusted if {
	level_overrides == {}
	waived_soft_rules == set()
}

# Most decisions: no override, no waiver, every level known: the violations are those found.
violations := found if {
	unadjusted
	every v in found {
		v.level in levels
	}
} else := adjusted

adjusted contains v if {
	unadjusted
	some v in found
	v.level in levels
}

adjusted contains final if {
	unadjusted
	some v in found
	not v.level in levels
	final := object.union(v, {"level": "hard", "waived": false})
}

adjusted contains final if {
	not unadjusted
	overrides := level_overrides
	known := known_levels
	waivable := waived_soft_rules
	some v in found
	level := object.get(overrides, v.rule, object.get(known, v.level, "hard"))
	final := object.union(v, {"level": level, "waived": [level, v.rule] in waivable})
}

# --- waivers ------------------------------------------------------------------------------------

# A waiver counts only if it names this job and the rule, has a justification and an approver,
# and has not expired (its expiry date is today or later; no or unreadable date = not valid).
valid_waivers contains w if {
	some w in input.waivers
	waiver_problem(w) == null
}

# Fields are read with object.get: OPA evaluates `w.rule` before a `not`, so a missing field would
# make the whole branch undefined and the waiver valid (regorus negates it: engines differ there).
waiver_problem(w) := "it is not an object" if {
	not is_object(w)
} else := "it names another job" if {
	object.get(w, "job", null) != input.job.id
} else := "it names no rule" if {
	not nonempty(object.get(w, "rule", null))
} else := "it has no justification" if {
	not nonempty(object.get(w, "justification", null))
} else := "it has no approver (approved_by)" if {
	not nonempty(object.get(w, "approved_by", null))
} else := "it has expired or has no readable expiry date" if {
	not lib.not_expired(object.get(w, "expires", null))
} else := null

# Waivers offered for this job that do not count, and why: the decision carries them (when there
# are any) so every report can show them beside the finding they failed to lift.
ignored_waivers contains {"rule": waiver_rule(w), "reason": reason} if {
	some w in input.waivers
	reason := waiver_problem(w)
	reason != null
}

# A valid waiver of a rule that is hard here lifts nothing: it is reported as ignored too.
ignored_waivers contains {"rule": w.rule, "reason": "the rule is hard here, and no waiver lifts a hard rule"} if {
	some w in valid_waivers
	some v in violations
	v.rule == w.rule
	v.level == "hard"
}

waiver_rule(w) := object.get(w, "rule", null) if is_object(w) else := null

# A valid waiver waives a soft finding of its rule: ["soft", rule] pairs, looked up per violation.
waived_soft_rules := {["soft", w.rule] | some w in valid_waivers}

nonempty(text) if {
	is_string(text)
	trim_space(text) != ""
}

# --- the decision -------------------------------------------------------------------------------

# A hard violation blocks, and so does a soft one that no valid waiver lifts: each violation's
# (level, waived) pair is looked up, without gathering the pairs or the blocking violations (a
# decision with many findings pays per finding).
blocking_kinds := {["hard", false], ["hard", true], ["soft", false]}

allow := false if {
	some v in violations
	[v.level, v.waived] in blocking_kinds
} else := true

policy_revision := data.kaitiaki.revision if is_string(data.kaitiaki.revision) else := ""

decision := {"allow": allow, "violations": violations, "policy_revision": policy_revision} if {
	ignored_waivers == set()
} else := {"allow": allow, "violations": violations, "policy_revision": policy_revision, "ignored_waivers": ignored_waivers}
