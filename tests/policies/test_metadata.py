"""The DPUP library's METADATA: the rule catalogue (docs/legal-basis.md), complete, and in agreement with
what each rule's violations carry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kaitiaki.engine import engine_data, policy_metadata, policy_set
from kaitiaki.engine.embedded import new_regorus_engine
from tests.policies.cases import case_input, rule_cases

# The rule catalogue: rule id → default level (the level column; context-dependent levels noted).
CATALOGUE = {
    "PM-01": "hard", "PM-02": "hard", "PM-03": "hard", "PM-04": "soft", "PM-05": "soft",
    "PM-06": "soft", "PM-07": "soft", "PM-08": "soft", "PM-09": "soft", "PM-10": "soft",
    "PM-11": "hard", "PM-12": "advisory", "TC-01": "soft", "TC-02": "advisory", "AI-01": "advisory",
    "SV-01": "hard", "SV-02": "soft", "SV-03": "hard", "SV-04": "soft", "SV-05": "soft",
    "SV-06": "advisory", "SV-07": "soft", "SV-08": "advisory", "SV-09": "hard", "SYS-01": "hard",
}  # fmt: skip
ESCALATED = {"TC-01": ("level_when_promised", "hard"), "SV-02": ("level_off_agency", "hard"),
             "SV-05": ("level_off_agency", "hard"), "SV-06": ("level_off_agency", "hard"),
             "SV-08": ("level_off_agency", "soft")}  # fmt: skip
PACKAGES = {
    "PM": "kaitiaki.dpup.purpose_matters", "TC": "kaitiaki.dpup.transparency_choice",
    "AI": "kaitiaki.dpup.access_information", "SV": "kaitiaki.dpup.sharing_value",
    "SYS": "kaitiaki.dpup.system",
}  # fmt: skip
FIELDS = ("title", "guideline", "principle", "law", "remediation")
METADATA = policy_metadata()


def test_every_catalogue_rule_has_metadata_at_its_default_level() -> None:
    assert {rule: meta["level"] for rule, meta in METADATA.items()} == CATALOGUE
    for rule, (key, level) in ESCALATED.items():
        assert METADATA[rule][key] == level


@pytest.mark.parametrize("rule", sorted(CATALOGUE))
def test_metadata_is_complete_and_in_its_guideline_package(rule: str) -> None:
    meta = METADATA[rule]
    for key in (*FIELDS, "description"):
        assert isinstance(meta[key], str) and meta[key].strip(), f"{rule} has no {key}"
    assert meta["package"] == PACKAGES[rule.split("-")[0]]
    assert meta["rule"] == "violation"


def package_violations(package: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    policies = policy_set(())
    engine = new_regorus_engine(policies.modules(), engine_data(policies)).engine
    engine.set_input_json(json.dumps(document))
    return list(json.loads(engine.eval_rule_as_json(f"data.{package}.violation")))


DENY_CASES = {c["rule"]: c for c in reversed(rule_cases()) if c["fires"] and c["rule"] in CATALOGUE}


@pytest.mark.parametrize("rule", sorted(CATALOGUE))
def test_violations_carry_their_rules_metadata(rule: str) -> None:
    meta = METADATA[rule]
    found = [
        v for v in package_violations(meta["package"], case_input(DENY_CASES[rule])) if v["rule"] == rule
    ]
    assert found, f"the package declaring {rule}'s METADATA did not produce {rule}"
    allowed_levels = {meta["level"]} | {v for k, v in meta.items() if k.startswith("level_")}
    for violation in found:
        assert {key: violation[key] for key in FIELDS} == {key: meta[key] for key in FIELDS}
        assert violation["level"] in allowed_levels
        assert violation["message"] and violation["waived"] is False
        assert all(isinstance(c, str) and "." in c for c in violation["columns"])


def test_no_remediation_offers_a_waiver_a_level_forbids() -> None:
    """A hard finding cannot be waived, so its help must not suggest asking for a waiver."""
    for rule, meta in METADATA.items():
        levels = {meta["level"], *(v for k, v in meta.items() if k.startswith("level_"))}
        if "hard" in levels:
            assert "waiver" not in meta["remediation"].lower(), rule
