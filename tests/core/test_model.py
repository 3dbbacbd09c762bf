"""The decision contract: anything but the documented shape is rejected, never read as allow."""

from __future__ import annotations

from typing import Any

import pytest

from kaitiaki.model import Decision

VIOLATION = {
    "rule": "PM-03",
    "title": "Use within the purpose",
    "guideline": "Purpose Matters",
    "principle": "He Tāngata",
    "law": "Privacy Act 2020 IPP10",
    "level": "hard",
    "message": "m",
    "columns": ["health.patients.nhi"],
    "line": 9,
    "remediation": "r",
    "waived": False,
}


def test_a_documented_decision_round_trips() -> None:
    data = {"allow": False, "violations": [VIOLATION], "policy_revision": "sha256:ab"}
    decision = Decision.from_dict(data)
    assert decision.to_dict() == data


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {},
        {"allow": "true"},
        {"allow": 1},
        {"allow": True, "violations": {}},
        {"allow": True, "violations": ["PM-01"]},
        {"allow": False, "violations": [{**VIOLATION, "level": "severe"}]},
        {"allow": False, "violations": [{**VIOLATION, "columns": "nhi"}]},
        {"allow": False, "violations": [{**VIOLATION, "line": "9"}]},
        {"allow": False, "violations": [{k: v for k, v in VIOLATION.items() if k != "rule"}]},
        {"allow": True, "policy_revision": 7},
    ],
)
def test_malformed_decisions_are_rejected(bad: Any) -> None:
    with pytest.raises(ValueError):
        Decision.from_dict(bad)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"rule": None}, "'rule' must be a string, got None"),
        ({"title": 3, "law": None}, "'title' must be a string, got 3"),
        ({"law": ["IPP10"]}, "'law' must be a string, got ['IPP10']"),
        ({"message": False}, "'message' must be a string, got False"),
        ({"columns": ["a", 1]}, "'columns' must be a list of strings"),
    ],
)
def test_a_malformed_violation_names_its_first_wrong_field(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("[", r"\[").replace("]", r"\]")):
        Decision.from_dict({"allow": False, "violations": [{**VIOLATION, **changes}]})


def test_missing_descriptive_fields_default_to_empty_text() -> None:
    bare = {k: v for k, v in VIOLATION.items() if k not in ("title", "guideline", "principle", "law")}
    (violation,) = Decision.from_dict({"allow": False, "violations": [bare]}).violations
    assert (violation.rule, violation.title, violation.guideline, violation.principle, violation.law) == (
        "PM-03",
        "",
        "",
        "",
        "",
    )
    assert (violation.columns, violation.line, violation.remediation, violation.waived) == (
        ("health.patients.nhi",),
        9,
        "r",
        False,
    )
