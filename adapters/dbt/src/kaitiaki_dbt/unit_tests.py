"""dbt unit tests (dbt-core >= 1.8): what they read from the warehouse, as the gate decides it.

A unit test runs its model's SQL over fixture rows, fetches the actual and the expected rows
into dbt, and prints the rows that differ in dbt's output and log. It writes nothing that
stays: dbt-duckdb creates an empty temporary table for the column types and drops it (the
DuckDB file is unchanged; tests/dbt proves it). Rows written in the YAML (``dict``, ``csv``, a
seed's own CSV) read nothing from the warehouse. A ``format: sql`` fixture (``given``) or
expectation (``expect``) is any SQL, and may select from real tables: those rows then reach
dbt's output. So the gate reads exactly those SQL texts, one statement each, as what the test
brings out of the warehouse, decided under the tested model's purpose and destination. The
model's own SQL over the fixture is not followed (dbt never writes the fixture into the
model's relation), which is stricter than needed where the model aggregates what a fixture
reads: a unit test is meant to run on rows written for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kaitiaki.model import Position
from kaitiaki_dbt.manifest import Node

JINJA_MARKS = ("{{", "{%", "{#")
JINJA_FIXTURE = (
    "a `format: sql` fixture or expectation of unit test {name} is Jinja, which only dbt can render "
    "while the test runs, so what it reads cannot be known beforehand; write it as plain SQL, or "
    "as rows (format dict or csv)"
)


def sql_texts(node: Node) -> list[str]:
    """The ``format: sql`` texts of a unit test: its given inputs', then its expectation's."""
    parts: list[Mapping[str, Any]] = [g for g in node.get("given") or () if isinstance(g, Mapping)]
    expect = node.get("expect")
    if isinstance(expect, Mapping):
        parts.append(expect)
    return [str(part.get("rows") or "") for part in parts if part.get("format") == "sql"]


def statements(node: Node) -> list[str]:
    """The non-empty ``format: sql`` texts, each one statement without its closing ``;``."""
    texts = (text.strip().rstrip(";").strip() for text in sql_texts(node))
    return [text for text in texts if text]


def unit_test_sql(node: Node) -> str | None:
    """What a unit test reads from the warehouse, as SQL the gate analyses: "" when it reads
    nothing (rows written in YAML), None when a SQL fixture is Jinja (blocked by SYS-01)."""
    texts = statements(node)
    if any(mark in text for text in texts for mark in JINJA_MARKS):
        return None
    return ";\n".join(texts)


def unit_test_positions(node: Node, project_dir: Path | None) -> tuple[Position, ...]:
    """Each line of the job SQL (``unit_test_sql``) at its line and column in the YAML file.

    The SQL texts are found in the file after the unit test's ``name:``, line by line (a
    quoted one-line string or a block scalar alike); a line that cannot be found is placed at
    the ``name:`` line, marked inexact, rather than at a line of the SQL that means nothing
    in the YAML.
    """
    if project_dir is None:
        return ()
    try:
        lines = (project_dir / str(node.get("original_file_path"))).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ()
    name = re.compile(rf"^\s*-?\s*name:\s*['\"]?{re.escape(str(node.get('name')))}['\"]?\s*(#.*)?$")
    start = next((index for index, line in enumerate(lines) if name.match(line)), 0)
    out: list[Position] = []
    sql_line, cursor = 1, start
    for text in statements(node):
        for piece in text.split("\n"):
            needle = piece.strip()
            found = next((i for i in range(cursor, len(lines)) if needle and needle in lines[i]), None)
            if found is None:
                out.append(Position(sql_line, 1, start + 1, 1, exact=False))
            else:
                column = lines[found].index(needle) - (len(piece) - len(piece.lstrip())) + 1
                out.append(Position(sql_line, 1, found + 1, max(1, column)))
                cursor = found + 1
            sql_line += 1
    return tuple(out)


def tested_model(node: Node) -> str | None:
    """The unique id of the model a unit test tests (its only dependency)."""
    depends = (node.get("depends_on") or {}).get("nodes") or ()
    return next((str(uid) for uid in depends if str(uid).startswith("model.")), None)
