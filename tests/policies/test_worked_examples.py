"""The DPUP worked examples E1–E5, as hand-built policy inputs (fixtures/e*.json),
through every engine: each must give exactly the listed rules at the listed levels."""

from __future__ import annotations

from typing import Any

import pytest

from kaitiaki.engine import Engine
from tests.policies.cases import worked_examples

EXAMPLES = worked_examples()


def test_all_five_examples_are_present() -> None:
    assert [e["name"][:2] for e in EXAMPLES] == ["e1", "e2", "e3", "e4", "e5"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_worked_example(example: dict[str, Any], engine: Engine) -> None:
    decision = engine.evaluate(example["input"])
    found = {v.rule: v.level for v in decision.violations}
    assert found == example["expect"]["rules"], [(v.rule, v.level, v.message) for v in decision.violations]
    assert len({(v.rule, v.level) for v in decision.violations}) == len(found), "a rule at two levels"
    assert decision.allow is example["expect"]["allow"]
    for rule, columns in example["expect"].get("reports", {}).items():
        assert sorted(list(v.columns) for v in decision.violations if v.rule == rule) == columns, rule
    assert decision.policy_revision.startswith("sha256:")
    for violation in decision.violations:
        assert violation.title and violation.guideline and violation.law and violation.remediation
        assert violation.waived is False
