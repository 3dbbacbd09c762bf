"""The real-world corpus (``tests/analysis/corpus``): loading and scoring, shared with the bench.

Each dialect file holds statements in the shape of public dbt projects and SQL style guides
(the ``sources`` each is modelled on, with its licence), the schema they read
(``schema.yaml``, written by hand) and the lineage expected of them, written by hand as
``source.table.column -> target`` (``target`` is the output column of a bare SELECT, or
``table.column`` of a written table). Names compare without case: identifier rules per
dialect are tested on their own (``test_identifiers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kaitiaki.analysis import analyze_sql, normalise_schema
from kaitiaki.model import SqlFacts

CORPUS = Path(__file__).parent / "corpus"
Edge = tuple[str, str]


@dataclass(frozen=True)
class Statement:
    id: str
    dialect: str
    source: str
    sql: str
    expected: frozenset[Edge]


def load_corpus() -> list[Statement]:
    statements: list[Statement] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        if path.name == "schema.yaml":
            continue
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        sources: dict[str, str] = data["sources"]
        for case in data["cases"]:
            expected = frozenset(parse_edge(text) for text in case["lineage"])
            statements.append(
                Statement(case["id"], data["dialect"], sources[case["from"]], case["sql"], expected)
            )
    return statements


def parse_edge(text: str) -> Edge:
    source, _, target = text.partition(" -> ")
    return source.strip().lower(), target.strip().lower()


def load_schemas() -> dict[str, dict[str, dict[str, str]]]:
    raw: dict[str, dict[str, list[str]]] = yaml.safe_load(
        (CORPUS / "schema.yaml").read_text(encoding="utf-8")
    )
    return {
        dialect: {t: {c: "" for c in cols} for t, cols in tables.items()} for dialect, tables in raw.items()
    }


def analyse(statement: Statement, schemas: dict[str, dict[str, dict[str, str]]]) -> SqlFacts:
    dialect = statement.dialect
    schema = normalise_schema(schemas[dialect], dialect)
    return analyze_sql(statement.sql, dialect=dialect, schema=schema)


def facts_edges(facts: SqlFacts) -> frozenset[Edge]:
    return frozenset(
        (
            f"{e.source.table}.{e.source.column}".lower().replace("`", "").replace('"', ""),
            (f"{e.target.table}.{e.target.column}" if e.target.table else e.target.column)
            .lower()
            .replace("`", "")
            .replace('"', ""),
        )
        for e in facts.lineage
    )


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    def add(self, expected: frozenset[Edge], found: frozenset[Edge]) -> None:
        self.true_positive += len(expected & found)
        self.false_positive += len(found - expected)
        self.false_negative += len(expected - found)

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positive + self.false_negative
        return self.true_positive / expected if expected else 1.0
