"""The example platform's warehouse for the DAG tests, built from the nz_social dbt seeds.

The seeds (``examples/nz_social/seeds``) are synthetic and committed. The tables land where
``dbt seed`` puts them (``msd.clients``, ``health.patients``, ``stats.spine``), loaded straight
with DuckDB so the Airflow tests do not need a dbt run. The tests compute what a DAG should
write from the same CSV rows, so no outcome is hard-coded.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

SEEDS = Path(__file__).resolve().parents[2] / "examples" / "nz_social" / "seeds"
TABLES = {
    "msd.clients": "msd_clients.csv",
    "health.patients": "moh_patients.csv",
    "stats.spine": "idi_spine.csv",
}
BOOLEAN_COLUMNS = {"msd.clients": ("opted_out",)}
MIN_CELL = 6


def seed_rows(table: str) -> list[dict[str, str]]:
    with (SEEDS / TABLES[table]).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_uptake() -> list[tuple[str, int]]:
    """``analytics.benefit_uptake_by_region``: clients not opted out, regions of six or more."""
    by_region: dict[str, set[str]] = {}
    for row in seed_rows("msd.clients"):
        if row["opted_out"] != "true":
            by_region.setdefault(row["region"], set()).add(row["client_number"])
    return sorted((region, len(keys)) for region, keys in by_region.items() if len(keys) >= MIN_CELL)


def expected_extract(region: str) -> int:
    """Rows of a region's extract: its clients who did not opt out."""
    return sum(
        1 for row in seed_rows("msd.clients") if row["region"] == region and row["opted_out"] != "true"
    )


def build_warehouse(path: Path) -> Path:
    """Create the DuckDB file; its connection is closed on return (DuckDB allows one writer)."""
    con = duckdb.connect(str(path))
    try:
        for table, seed in TABLES.items():
            schema = table.split(".")[0]
            con.execute(f"create schema if not exists {schema}")
            con.execute(
                f"create table {table} as select * from read_csv(?, header = true, all_varchar = true)",
                [str(SEEDS / seed)],
            )
            for column in BOOLEAN_COLUMNS.get(table, ()):
                con.execute(f"alter table {table} alter {column} type boolean")
    finally:
        con.close()
    return path


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
