"""The analysis fixture corpus: SQL + dialect + optional schema → expected facts.

Each YAML file under ``fixtures/`` (except ``schemas.yaml``) is a list of cases; adding a case
is adding a few lines. Expectations are subsets where written so (``columns``, ``lineage``,
``joins``), exact where marked (``*_exact``), and ``unresolved`` / ``errors`` default to *none*,
so every case also checks the analysis did not give up. Runs real sqlglot, no mocks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.analysis import analyze_sql, normalise_schema
from kaitiaki.model import SqlFacts

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMAS: dict[str, Any] = yaml.safe_load((FIXTURES / "schemas.yaml").read_text(encoding="utf-8"))
EXPECTATION_KEYS = {
    "columns",
    "absent",
    "lineage",
    "joins",
    "statements",
    "aggregation",
    "unresolved",
    "errors",
}
CASE_KEYS = EXPECTATION_KEYS | {
    "name",
    "sql",
    "dialect",
    "schema",
    "columns_exact",
    "lineage_exact",
    "joins_exact",
    "note",
}


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        if path.name == "schemas.yaml":
            continue
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append((f"{path.stem}:{case['name']}", case))
    return cases


CASES = load_cases()


def case_schema(case: dict[str, Any], dialect: str) -> dict[str, dict[str, str]] | None:
    spec = case.get("schema")
    if spec is None:
        return None
    mapping = SCHEMAS[spec] if isinstance(spec, str) else spec
    return normalise_schema(mapping, dialect)


def analyse(case: dict[str, Any]) -> SqlFacts:
    dialect = case.get("dialect", "postgres")
    return analyze_sql(case["sql"], dialect=dialect, schema=case_schema(case, dialect), path="case.sql")


def split_column(qualified: str) -> tuple[str | None, str]:
    """``health.patients.nhi`` → (``health.patients``, ``nhi``); a bare name → (None, name)."""
    table, _, column = qualified.rpartition(".")
    return (table or None), column


def parse_edge(text: str) -> tuple[tuple[str | None, str], tuple[str | None, str], tuple[str, ...]]:
    """``src.table.col -> target [hash, none]`` (target is ``table.col`` or a bare output name)."""
    arrow, _, transforms = text.partition("[")
    source, _, target = arrow.partition(" -> ")
    kinds = tuple(t.strip() for t in transforms.rstrip("] ").split(",") if t.strip())
    return split_column(source.strip()), split_column(target.strip()), kinds


def parse_join(text: str) -> tuple[str, str, str, int | None]:
    """``a.t.x = b.u.y kind [@line]``."""
    words = text.split()
    line = int(words.pop()[1:]) if words[-1].startswith("@") else None
    left, eq, right, kind = words
    assert eq == "=", text
    return left, right, kind, line


def test_corpus_is_large_and_covers_the_dialects() -> None:
    names = [name for name, _ in CASES]
    assert len(names) == len(set(names)), "case names must be unique per file"
    assert len(CASES) >= 150
    dialects = {case.get("dialect", "postgres") for _, case in CASES}
    assert {"postgres", "snowflake", "bigquery", "tsql", "duckdb", "spark"} <= dialects


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_case(case: dict[str, Any]) -> None:
    unknown = set(case) - CASE_KEYS
    assert not unknown, f"unknown keys {unknown}"
    assert EXPECTATION_KEYS & set(case), "a case must expect something"
    facts = analyse(case)
    check_errors(case, facts)
    check_unresolved(case, facts)
    check_statements(case, facts)
    check_columns(case, facts)
    check_lineage(case, facts)
    check_joins(case, facts)
    check_aggregation(case, facts)


def check_errors(case: dict[str, Any], facts: SqlFacts) -> None:
    messages = [e.message for e in facts.errors]
    expected = case.get("errors", [])
    if not expected:
        assert not messages, messages
    for fragment in expected:
        assert any(fragment in m for m in messages), (fragment, messages)


def check_unresolved(case: dict[str, Any], facts: SqlFacts) -> None:
    kinds = sorted({u.kind for u in facts.unresolved})
    assert kinds == sorted(set(case.get("unresolved", []))), [u.to_dict() for u in facts.unresolved]


def check_statements(case: dict[str, Any], facts: SqlFacts) -> None:
    if "statements" not in case:
        return
    actual = []
    for statement, spec in zip(facts.statements, case["statements"], strict=False):
        words = spec.split()
        text = statement.kind
        if len(words) > 1 and not words[1].startswith("@"):
            text += f" {statement.target}"
        if words[-1].startswith("@"):
            text += f" @{statement.line}"
        actual.append(text)
    assert actual == case["statements"] and len(facts.statements) == len(case["statements"]), [
        s.to_dict() for s in facts.statements
    ]


def check_columns(case: dict[str, Any], facts: SqlFacts) -> None:
    actual = {c.qualified: c.to_dict(with_categories=False) for c in facts.columns}
    for qualified, expected in (case.get("columns") or {}).items():
        assert qualified in actual, (qualified, sorted(actual))
        for key, value in (expected or {}).items():
            assert actual[qualified][key] == value, (qualified, key, actual[qualified])
    if case.get("columns_exact"):
        assert set(actual) == set(case.get("columns") or {}), sorted(actual)
    for qualified in case.get("absent", []):
        assert qualified not in actual, (qualified, actual.get(qualified))


def check_lineage(case: dict[str, Any], facts: SqlFacts) -> None:
    actual = {
        ((e.source.table, e.source.column), (e.target.table, e.target.column)): e.transforms
        for e in facts.lineage
    }
    expected = [parse_edge(text) for text in case.get("lineage", [])]
    for source, target, transforms in expected:
        assert (source, target) in actual, (source, target, sorted(actual, key=str))
        assert actual[(source, target)] == transforms, (source, target, actual[(source, target)])
    if case.get("lineage_exact"):
        assert set(actual) == {(s, t) for s, t, _ in expected}, sorted(actual, key=str)


def check_joins(case: dict[str, Any], facts: SqlFacts) -> None:
    actual = {(j.left.qualified, j.right.qualified, j.kind): j.line for j in facts.joins}
    expected = [parse_join(text) for text in case.get("joins", [])]
    for left, right, kind, line in expected:
        assert (left, right, kind) in actual, ((left, right, kind), sorted(actual))
        if line is not None:
            assert actual[(left, right, kind)] == line, (left, right, actual[(left, right, kind)])
    if case.get("joins_exact"):
        assert set(actual) == {(left, right, kind) for left, right, kind, _ in expected}, sorted(actual)


def check_aggregation(case: dict[str, Any], facts: SqlFacts) -> None:
    actual = facts.aggregation.to_dict()
    for key, value in (case.get("aggregation") or {}).items():
        assert actual[key] == value, (key, actual)
