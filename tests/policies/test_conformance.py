"""Every rule's cases (fixtures/rule_cases.yaml) through every engine available: each engine must
give the same decision as the embedded one, and the case's rule must fire (or not) as stated."""

from __future__ import annotations

from typing import Any

import pytest

from kaitiaki.engine import Engine, policy_metadata
from tests.policies.cases import case_input, rule_cases, worked_examples

CASES = rule_cases()


def test_every_rule_has_an_allow_and_a_deny_case() -> None:
    rules = set(policy_metadata())
    fires = {c["rule"] for c in CASES if c["fires"]}
    quiet = {c["rule"] for c in CASES if not c["fires"]}
    assert rules == fires, rules ^ fires
    assert rules == quiet, rules ^ quiet
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rule_case(case: dict[str, Any], engine: Engine) -> None:
    decision = engine.evaluate(case_input(case))
    matching = [v for v in decision.violations if v.rule == case["rule"]]
    summary = [(v.rule, v.level, v.message) for v in decision.violations]
    assert bool(matching) is case["fires"], summary
    if "level" in case:
        assert {v.level for v in matching} == {case["level"]}, summary
    if "reports" in case:
        assert sorted(list(v.columns) for v in matching) == case["reports"], summary
    if "waived" in case:
        assert {v.waived for v in matching} == {case["waived"]}, summary
    if "allow" in case:
        assert decision.allow is case["allow"], summary
    elif case["fires"] and case.get("level") in ("soft", "hard"):
        assert decision.allow is False


INPUTS = [(c["name"], case_input(c)) for c in CASES] + [(e["name"], e["input"]) for e in worked_examples()]


@pytest.mark.parametrize(("name", "document"), INPUTS, ids=[name for name, _ in INPUTS])
def test_engines_agree(name: str, document: dict[str, Any], all_engines: dict[str, Engine]) -> None:
    expected = all_engines["embedded"].evaluate(document)
    for kind, other in all_engines.items():
        assert other.evaluate(document) == expected, f"{kind} differs from embedded on {name}"
