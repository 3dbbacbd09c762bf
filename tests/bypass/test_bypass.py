"""The bypass corpus: SQL that tries to slip an identifying column past the gate.

Every case runs through the real gate (analysis, classification, the DPUP Rego library on the
embedded engine) under a purpose that allows no identifiable data; each attempt must be denied
naming the column it touches, and each control must be allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.config import load_settings
from kaitiaki.gate import Gate
from kaitiaki.model import Job, SourceLocation

HERE = Path(__file__).parent
PAIRS: list[dict[str, Any]] = yaml.safe_load((HERE / "fail_closed.yaml").read_text())


def _pair(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """A fail-closed entry is an attempt and its legitimate twin, which must stay allowed."""
    attempt = {key: value for key, value in entry.items() if key not in {"twin", "engine"}}
    twin = {"name": f"{entry['name']}-twin", "sql": entry["twin"], "allow": True}
    if "dialect" in entry:
        twin["dialect"] = entry["dialect"]
    return [attempt, twin]


CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "corpus.yaml").read_text()) + [
    case for entry in PAIRS for case in _pair(entry)
]


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate(load_settings(HERE / "kaitiaki.yaml"), now="2026-11-26T00:00:00Z")


def test_corpus_is_large_and_names_are_unique() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))
    assert sum(1 for case in CASES if not case.get("allow")) >= 60


def test_every_fail_closed_attempt_has_a_twin() -> None:
    assert all(entry.get("twin") and entry["twin"] != entry["sql"] for entry in PAIRS)


def bypass_job(case: dict[str, Any]) -> Job:
    """One corpus case as the SQL-file job the gate decides (also replayed by bench/policy_compare.py)."""
    return Job(
        id=f"sql:bypass/{case['name']}.sql",
        kind="sql",
        name=case["name"],
        sql=case["sql"],
        dialect=case.get("dialect", "postgres"),
        source=SourceLocation(path=f"bypass/{case['name']}.sql"),
        purpose="clinic-load",
    )


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bypass_case(case: dict[str, Any], gate: Gate) -> None:
    job = bypass_job(case)
    verdict = gate.decide(job)
    violations = verdict.decision.violations
    summary = [(v.rule, v.columns, v.message) for v in violations]
    if case.get("allow"):
        assert verdict.decision.allow, summary
        assert not verdict.blocked
        return
    assert not verdict.decision.allow, f"bypass succeeded: {case['sql']}"
    assert verdict.blocked
    if "deny_rule" in case:
        assert case["deny_rule"] in {v.rule for v in violations}, summary
    named = {column for v in violations if not v.waived for column in v.columns}
    for column in case.get("deny", []):
        assert column in named, f"{column} not named in {summary}"
