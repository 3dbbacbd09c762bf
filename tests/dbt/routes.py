"""The route fixture: examples/nz_social plus one leak and one legitimate twin per dbt route.

tests/dbt/routes_fixture holds the added files (snapshots, hooked models, seeds, a test that
stores failures, incremental and Python models, run-operation macros); ``route_project`` lays
them over a copy of the example and adds what kaitiaki.yaml and dbt_project.yml need.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tests.dbt.conftest import copy_example

FIXTURE = Path(__file__).resolve().parent / "routes_fixture"
PROJECT_HOOK = 'on-run-start: ["create schema if not exists exports"]\n'
DECLARED_PYTHON_MODEL = (
    "  marts.route_python_declared:\n    agency: msd\n    columns: {region: [], clients: []}\n"
)
OPERATIONS = "dbt:\n  operations: [count_clients]\n"


def route_project(destination: Path) -> Path:
    """A copy of the example with the route fixture laid over it."""
    project = copy_example(destination)
    shutil.copytree(FIXTURE, project, dirs_exist_ok=True)
    with (project / "dbt_project.yml").open("a") as handle:
        handle.write(PROJECT_HOOK)
    config = project / "kaitiaki.yaml"
    text = config.read_text().replace("\ncatalog:\n", "\ncatalog:\n" + DECLARED_PYTHON_MODEL, 1)
    config.write_text(text + OPERATIONS)
    return project


def tables(database: Path) -> dict[str, list[str]]:
    """``schema.name`` → column names of every table and view in the DuckDB file (its own
    catalog only: an in-process dbt connection may have other files attached to it)."""
    connection = duckdb.connect(str(database))
    try:
        rows = connection.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = ? order by table_schema, table_name, ordinal_position",
            [database.stem],
        ).fetchall()
    finally:
        connection.close()
    out: dict[str, list[str]] = {}
    for schema, name, column in rows:
        out.setdefault(f"{schema}.{name}", []).append(column)
    return out


def count(database: Path, relation: str, where: str = "true") -> int:
    connection = duckdb.connect(str(database))
    try:
        row = connection.execute(f"select count(*) from {relation} where {where}").fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else 0
