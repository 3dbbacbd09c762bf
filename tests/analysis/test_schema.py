"""Schema files: YAML or JSON, flat or nested; errors name the file and line; normalisation per dialect."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kaitiaki.analysis import analyze_sql
from kaitiaki.analysis.names import normalise_table_name
from kaitiaki.analysis.schema import load_schema_file, normalise_schema
from kaitiaki.errors import ConfigError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_flat_dotted_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "schema.yaml", "health.patients: {nhi: text, dob: date}\nref.clinics: {id: int}\n")
    assert load_schema_file(path) == {
        "health.patients": {"nhi": "text", "dob": "date"},
        "ref.clinics": {"id": "int"},
    }


def test_nested_keys_and_column_lists(tmp_path: Path) -> None:
    text = "health:\n  patients:\n    nhi: text\n    region:\nref:\n  clinics: [id, name]\n"
    schema = load_schema_file(write(tmp_path, "schema.yml", text))
    assert schema == {"health.patients": {"nhi": "text", "region": ""}, "ref.clinics": {"id": "", "name": ""}}


def test_three_level_nesting(tmp_path: Path) -> None:
    text = "dev:\n  health:\n    patients: {nhi: text}\n"
    assert load_schema_file(write(tmp_path, "s.yaml", text)) == {"dev.health.patients": {"nhi": "text"}}


def test_json_schema(tmp_path: Path) -> None:
    path = write(tmp_path, "schema.json", '{"health": {"patients": {"nhi": "text"}}}')
    assert load_schema_file(path) == {"health.patients": {"nhi": "text"}}


@pytest.mark.parametrize(
    ("name", "text", "line", "fragment"),
    [
        ("bad.yaml", "health.patients: {nhi: text}\nref.clinics: 3\n", 2, "must map column names"),
        ("bad.yaml", "- a\n- b\n", 1, "must be a mapping"),
        ("bad.yaml", "t:\n  - nhi\n  - [x]\n", 3, "column name must be a string"),
        ("bad.yaml", "t: {a: text\n", 2, "YAML syntax error"),
        ("bad.json", '{"t": {"a": "text"},\n "u": }', 2, "JSON syntax error"),
        ("bad.yaml", "a:\n  b:\n    c:\n      d: {x: int}\n", 4, "must map column names"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, name: str, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError) as caught:
        load_schema_file(path)
    assert caught.value.path == str(path) and caught.value.line == line
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read schema file"):
        load_schema_file(tmp_path / "nope.yaml")


def test_normalise_schema_per_dialect() -> None:
    mapping = {"Health.Patients": {"NHI": "text", '"Mixed"': "text"}, "health": {"visits": {"nhi": "text"}}}
    assert normalise_schema(mapping, "postgres") == {
        "health.patients": {"nhi": "text", '"Mixed"': "text"},
        "health.visits": {"nhi": "text"},
    }
    snowflake = normalise_schema(mapping, "snowflake")
    assert snowflake["health.patients"] == {"nhi": "text", '"Mixed"': "text"}
    assert normalise_schema({"T": {'"nhi"': "x", "NHI": "y"}}, "snowflake") == {
        "t": {'"nhi"': "x", "nhi": "y"}
    }
    assert normalise_schema(mapping, "duckdb")["health.patients"] == {"nhi": "text", "mixed": "text"}


def test_normalise_drops_tables_without_columns() -> None:
    assert normalise_schema({"t": {}, "u": {"a": "int"}}, "postgres") == {"u": {"a": "int"}}


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z_][A-Za-z0-9_]{0,8}){0,2}", fullmatch=True),
        st.dictionaries(
            st.from_regex(r'"?[A-Za-z_][A-Za-z0-9_ ]{0,8}"?', fullmatch=True), st.just("text"), min_size=1
        ),
        max_size=4,
    ),
    st.sampled_from(["postgres", "snowflake", "bigquery", "tsql", "duckdb", "spark"]),
)
def test_normalise_schema_is_idempotent(mapping: dict[str, dict[str, str]], dialect: str) -> None:
    once = normalise_schema(mapping, dialect)
    assert normalise_schema(once, dialect) == once


def test_table_names_match_the_facts() -> None:
    assert normalise_table_name('"DB"."MAIN".Clients', "postgres") == '"DB"."MAIN".clients'
    assert normalise_table_name("DB.MAIN.CLIENTS", "snowflake") == "db.main.clients"
    facts = analyze_sql("SELECT C.NHI FROM DB.MAIN.CLIENTS C", dialect="snowflake")
    assert [c.qualified for c in facts.columns] == [
        f"{normalise_table_name('DB.MAIN.CLIENTS', 'snowflake')}.nhi"
    ]


def test_loaded_schema_expands_stars(tmp_path: Path) -> None:
    path = write(tmp_path, "schema.yaml", "Health:\n  Patients: [NHI, Region]\n")
    schema = normalise_schema(load_schema_file(path), "postgres")
    facts = analyze_sql("select * from health.patients", dialect="postgres", schema=schema)
    assert [(c.qualified, c.from_star) for c in facts.columns] == [
        ("health.patients.nhi", True),
        ("health.patients.region", True),
    ]
    assert not facts.unresolved
