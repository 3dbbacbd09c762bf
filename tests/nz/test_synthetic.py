"""The seeded synthetic NZ generator: deterministic, valid where it says so, written to real files."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from kaitiaki_nz.detectors import is_email, is_nz_phone, is_valid_ird, is_valid_nhi
from kaitiaki_nz.synthetic import (
    CHILD_COLUMNS,
    CLIENT_COLUMNS,
    IWI,
    PATIENT_COLUMNS,
    STUDENT_COLUMNS,
    generate_children_in_care,
    generate_clients,
    generate_patients,
    generate_students,
    write_duckdb,
    write_seed_csv,
)


def test_the_same_seed_gives_the_same_records_and_another_seed_does_not() -> None:
    assert generate_clients(50, seed=1) == generate_clients(50, seed=1)
    assert generate_clients(50, seed=1) != generate_clients(50, seed=2)


def test_records_have_the_documented_columns() -> None:
    assert tuple(generate_clients(1, 3)[0]) == CLIENT_COLUMNS
    assert tuple(generate_patients(1, 3)[0]) == PATIENT_COLUMNS
    assert tuple(generate_students(1, 3)[0]) == STUDENT_COLUMNS
    assert tuple(generate_children_in_care(1, 3)[0]) == CHILD_COLUMNS


def test_identifiers_are_valid_except_the_deliberately_invalid_share() -> None:
    patients = generate_patients(2_000, seed=4, invalid_share=0.1)
    invalid = sum(1 for p in patients if not is_valid_nhi(p["nhi"]))
    assert 120 <= invalid <= 280  # 10% of 2,000, give or take sampling
    assert all(p["nhi"].startswith("Z") for p in patients)  # the Ministry's test range
    clean = generate_clients(500, seed=4, invalid_share=0.0)
    assert all(is_valid_ird(c["ird_number"]) for c in clean)
    assert all(is_nz_phone(c["phone"]) and is_email(c["email"]) for c in clean)
    assert all(c["email"].rsplit("@", 1)[1].startswith("example.") for c in clean)


def test_people_look_like_the_nz_population_they_stand_for() -> None:
    clients = generate_clients(1_000, seed=5)
    assert {c["ethnicity"] for c in clients} >= {"Māori", "European", "Pacific Peoples", "Asian"}
    assert all((c["iwi"] in IWI) == (c["ethnicity"] == "Māori") for c in clients)
    assert any("ā" in c["full_name"] or "ē" in c["full_name"] or "ū" in c["full_name"] for c in clients)
    children = generate_children_in_care(300, seed=5)
    assert all(dt.date(2008, 1, 1) <= c["ra_whanau"] <= dt.date(2026, 1, 1) for c in children)
    assert all(len(c["meshblock"]) == 7 for c in generate_patients(100, seed=5))


def test_write_duckdb_creates_every_table(tmp_path: Path) -> None:
    path = write_duckdb(tmp_path / "nz.duckdb", seed=6, size=40)
    with duckdb.connect(str(path), read_only=True) as connection:
        counts = {
            table: connection.execute(f"select count(*) from {table}").fetchall()[0][0]
            for table in (
                "msd.clients",
                "health.patients",
                "education.students",
                "oranga_tamariki.children_in_care",
            )
        }
        types = dict(
            connection.execute(
                "select column_name, data_type from information_schema.columns where table_name = 'clients'"
            ).fetchall()
        )
    assert counts == dict.fromkeys(counts, 40)
    assert types["date_of_birth"] == "DATE"
    assert types["opted_out"] == "BOOLEAN"


def test_write_seed_csv_is_what_dbt_seed_reads(tmp_path: Path) -> None:
    path = write_seed_csv(tmp_path / "clients.csv", generate_clients(5, seed=7))
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CLIENT_COLUMNS
    assert rows[0]["opted_out"] in {"true", "false"}
    assert dt.date.fromisoformat(rows[0]["date_of_birth"])


@pytest.mark.parametrize(
    "generator", [generate_clients, generate_patients, generate_students, generate_children_in_care]
)
def test_zero_records_is_an_empty_list(generator: Callable[[int, int], list[dict[str, object]]]) -> None:
    assert generator(0, 1) == []
