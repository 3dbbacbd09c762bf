"""Reading the embedded engine's answer: the one-pass reader of the usual shape (msgspec) accepts
exactly what the field-by-field check accepts, gives the same Decision, and leaves every other
answer to it, so a malformed answer is refused with the same EngineError as before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kaitiaki.engine.base import decision_from_raw, decision_json, usual_decision
from kaitiaki.engine.embedded import UNDEFINED, read_decision
from kaitiaki.errors import EngineError
from kaitiaki.model import Decision

VIOLATION: dict[str, Any] = {
    "rule": "PM-03",
    "title": "Use within the purpose",
    "guideline": "Purpose Matters",
    "principle": "He Tāngata",
    "law": "Privacy Act 2020 IPP10",
    "level": "soft",
    "message": "3 columns outside the purpose",
    "columns": ["health.patients.nhi", "health.patients.dob"],
    "line": 9,
    "remediation": "r",
    "waived": False,
}
SECOND = {**VIOLATION, "rule": "AI-01", "level": "hard", "line": None, "columns": []}
DECISION: dict[str, Any] = {"allow": False, "violations": [VIOLATION, SECOND], "policy_revision": "sha256:ab"}

# Values of every JSON type, and the near misses of each field's own type.
# Integers beyond 64 bits are read as floats by orjson.
ODD_VALUES: tuple[Any, ...] = (
    *(None, True, False, 0, 7, -1, 1.0, 2.5, "", "x", "soft", [], ["a"], ["a", 1], {}),
    *(2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 2**70),
)


def with_field(value: Any, key: str, changed: Any) -> dict[str, Any]:
    return {**value, key: changed}


def without(value: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != key}


def answers() -> list[Any]:
    """The documented decision, and every variant of it with one field removed, added or of
    another type, at the top and in a violation."""
    found: list[Any] = [DECISION, {**DECISION, "violations": []}, {**DECISION, "allow": True}]
    found += [without(DECISION, key) for key in DECISION]
    found += [with_field(DECISION, key, odd) for key in DECISION for odd in ODD_VALUES]
    found += [{**DECISION, "extra": 1}, {**DECISION, "ignored_waivers": []}]
    found += [{**DECISION, "ignored_waivers": odd} for odd in ODD_VALUES]
    waiver = {"rule": "PM-03", "reason": "expired"}
    found += [{**DECISION, "ignored_waivers": [waiver, {**waiver, "rule": "AA-01"}]}]
    found += [
        {**DECISION, "ignored_waivers": [with_field(waiver, key, odd)]}
        for key in waiver
        for odd in ODD_VALUES
    ]
    found += [{**DECISION, "ignored_waivers": [without(waiver, key)]} for key in waiver]
    found += [{**DECISION, "violations": [VIOLATION, without(VIOLATION, key)]} for key in VIOLATION]
    found += [
        {**DECISION, "violations": [with_field(VIOLATION, key, odd), SECOND]}
        for key in VIOLATION
        for odd in (*ODD_VALUES, "advisory", "hard", "fatal", "Soft")
    ]
    found += [{**DECISION, "violations": [VIOLATION, odd]} for odd in ODD_VALUES]
    found += [{**DECISION, "violations": [{**VIOLATION, "extra": [1]}]}]
    found += [None, True, 3, "x", UNDEFINED, [], [DECISION], {}]
    return found


def reference(text: str) -> Decision | str:
    """What the field-by-field check makes of an answer (read as the engine read it before the
    one-pass reader): its Decision, or its error."""
    value = decision_json(text)
    try:
        return decision_from_raw(None if value == UNDEFINED else value, engine="embedded")
    except EngineError as exc:
        return str(exc)


def read(text: str) -> Decision | str:
    try:
        return read_decision(text)
    except EngineError as exc:
        return str(exc)


@pytest.mark.parametrize("answer", answers())
def test_every_answer_is_read_as_the_field_by_field_check_reads_it(answer: Any) -> None:
    text = json.dumps(answer, ensure_ascii=False)
    assert read(text) == reference(text)


def test_the_usual_answer_is_read_in_one_pass_in_a_stable_order() -> None:
    pytest.importorskip("msgspec")
    decision = usual_decision(json.dumps(DECISION))
    assert decision is not None
    assert [v.rule for v in decision.violations] == ["AI-01", "PM-03"]
    assert decision == reference(json.dumps(DECISION))


@pytest.mark.parametrize(
    ("key", "odd"),
    [("level", "fatal"), ("line", True), ("line", 9.0), ("title", None), ("columns", ["a", 1])],
)
def test_a_malformed_violation_is_left_to_the_check_that_names_it(key: str, odd: Any) -> None:
    text = json.dumps({**DECISION, "violations": [with_field(VIOLATION, key, odd)]})
    assert usual_decision(text) is None
    with pytest.raises(EngineError, match=f"decision is malformed: .*'?{key}"):
        read_decision(text)


def test_an_answer_without_optional_fields_takes_their_defaults_either_way() -> None:
    bare = {k: VIOLATION[k] for k in ("rule", "level", "message")}
    text = json.dumps({**DECISION, "violations": [bare]})
    (violation,) = read_decision(text).violations
    assert (violation.title, violation.columns, violation.line, violation.waived) == ("", (), None, False)
