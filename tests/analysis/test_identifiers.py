"""Identifier rules per dialect and per platform setting (issue #16), on each platform's real rules.

MySQL: column names never compare by case; table names do unless ``lower_case_table_names`` is 1
or 2. T-SQL (default collation), Spark/Databricks, DuckDB and Redshift: names compare without
case unless the platform is told otherwise. Snowflake folds unquoted names to upper case, quoted
names keep theirs unless ``QUOTED_IDENTIFIERS_IGNORE_CASE``. DuckDB runs here, so its rule is
confirmed against the real engine. Real sqlglot, no mocks.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from kaitiaki.analysis import analyze_sql, normalise_schema
from kaitiaki.config import Identifiers, parse_settings
from kaitiaki.errors import ConfigError
from kaitiaki.gate import Gate, settings_schema
from kaitiaki.model import Job, SqlFacts


def facts(
    sql: str, dialect: str, schema: dict[str, dict[str, str]], rules: Identifiers | None = None
) -> SqlFacts:
    return analyze_sql(
        sql, dialect=dialect, schema=normalise_schema(schema, dialect, rules), identifiers=rules
    )


def edges(result: SqlFacts) -> set[tuple[str, str]]:
    return {(e.source.qualified, e.target.column) for e in result.lineage}


def kinds(result: SqlFacts) -> set[str]:
    return {u.kind for u in result.unresolved}


def test_mysql_columns_compare_without_case() -> None:
    result = facts("select max(`col1`, COL2) as m from t", "mysql", {"t": {"col1": "int", "col2": "int"}})
    assert not result.unresolved and edges(result) == {("t.col1", "m"), ("t.col2", "m")}


def test_mysql_unknown_column_twin_is_still_unknown() -> None:
    result = facts("select max(`col1`, COL3) as m from t", "mysql", {"t": {"col1": "int", "col2": "int"}})
    assert kinds(result) == {"unknown_column"}


def test_mysql_table_names_keep_case_by_default() -> None:
    result = facts("select * from Patients", "mysql", {"patients": {"nhi": "text"}})
    assert kinds(result) == {"star_without_schema"}
    assert facts("select * from patients", "mysql", {"patients": {"nhi": "text"}}).unresolved == ()


@pytest.mark.parametrize("setting", [1, 2])
def test_mysql_lower_case_table_names(setting: int) -> None:
    rules = Identifiers(lower_case_table_names=setting)
    result = facts("select * from Patients", "mysql", {"patients": {"nhi": "text"}}, rules)
    assert not result.unresolved and edges(result) == {("patients.nhi", "nhi")}


def test_mysql_table_alias_keeps_case_and_column_alias_does_not() -> None:
    sql = "select P.NHI as PKey from patients P order by PKEY"
    result = facts(sql, "mysql", {"patients": {"nhi": "text"}})
    assert not result.unresolved and edges(result) == {("patients.nhi", "pkey")}


def test_tsql_default_collation_is_case_insensitive() -> None:
    result = facts("select COL2 from dbo.t", "tsql", {"dbo.t": {"col2": "int"}})
    assert not result.unresolved and edges(result) == {("dbo.t.col2", "col2")}


def test_tsql_case_sensitive_collation() -> None:
    rules = Identifiers(case_sensitive=True)
    result = facts("select COL2 from dbo.t", "tsql", {"dbo.t": {"col2": "int"}}, rules)
    assert kinds(result) == {"unknown_column"}
    assert not facts("select col2 from dbo.t", "tsql", {"dbo.t": {"col2": "int"}}, rules).unresolved


def test_databricks_spark_case_sensitive_setting() -> None:
    schema = {"s.t": {"Amount": "int"}}
    assert not facts("select amount from s.t", "databricks", schema).unresolved
    assert kinds(facts("select amount from s.t", "databricks", schema, Identifiers(case_sensitive=True))) == {
        "unknown_column"
    }


def test_redshift_quoted_names_fold_unless_case_sensitive() -> None:
    schema = {"s.t": {"nhi": "text"}}
    assert not facts('select "NHI" from s.t', "redshift", schema).unresolved
    sensitive = Identifiers(case_sensitive=True)
    assert kinds(facts('select "NHI" from s.t', "redshift", schema, sensitive)) == {"unknown_column"}
    assert not facts("select NHI from s.t", "redshift", schema, sensitive).unresolved


def test_snowflake_quoted_identifiers_ignore_case() -> None:
    schema = {"db.s.t": {"nhi": "text"}}
    assert kinds(facts('select "nhi" from db.s.t', "snowflake", schema)) == {"unknown_column"}
    rules = Identifiers(quoted_identifiers_ignore_case=True)
    result = facts('select "nhi" from db.s.t', "snowflake", schema, rules)
    assert not result.unresolved and edges(result) == {("db.s.t.nhi", "nhi")}


def test_postgres_quoted_upper_is_another_column() -> None:
    schema = {"t": {"nhi": "text"}}
    assert kinds(facts('select "NHI" from t', "postgres", schema)) == {"unknown_column"}
    assert not facts("select NHI from t", "postgres", schema).unresolved


def test_duckdb_rule_matches_the_engine() -> None:
    """DuckDB compares every name without case, quoted or not: the engine agrees with kaitiaki."""
    connection = duckdb.connect()
    connection.execute('create table t ("Nhi" varchar, region varchar)')
    sql = 'select "NHI", Region from T'
    assert connection.execute(sql).description is not None  # the engine resolves it
    result = facts(sql, "duckdb", {"t": {"Nhi": "varchar", "region": "varchar"}})
    assert not result.unresolved and {c for _, c in edges(result)} == {"nhi", "region"}


def test_settings_reach_the_gate(tmp_path: Path) -> None:
    path = tmp_path / "kaitiaki.yaml"
    text = "dialect: mysql\nidentifiers: {lower_case_table_names: 1}\nschema: schema.yaml\n"
    (tmp_path / "schema.yaml").write_text("Health.Patients: {NHI: text}\n", encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    settings = parse_settings(text, path)
    assert settings.identifiers == Identifiers(lower_case_table_names=1)
    assert settings_schema(settings, "mysql") == {"health.patients": {"nhi": "text"}}
    job = Job(id="sql:x.sql", kind="sql", name="x", sql="select * from HEALTH.patients", dialect="mysql")
    result = Gate(settings).analyse(job)
    assert not result.unresolved and edges(result) == {("health.patients.nhi", "nhi")}


def test_bigquery_shard_patterns_are_configurable() -> None:
    schema = {"ds.events": {"user_id": "string"}}
    sql = "select * from ds.events_202401"
    assert kinds(facts(sql, "bigquery", schema)) == {"star_without_schema"}  # not a default shard
    monthly = Identifiers(table_shards=("_[0-9]{8}", "_[0-9]{6}"))
    result = facts(sql, "bigquery", schema, monthly)
    assert not result.unresolved and edges(result) == {("ds.events.user_id", "user_id")}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("identifiers:\n  lower_case_table_name: 1\n", 2, "unknown key 'lower_case_table_name'"),
        ("identifiers:\n  lower_case_table_names: 3\n", 2, "must be 0, 1 or 2"),
        ("identifiers:\n  case_sensitive: sometimes\n", 2, "must be true or false"),
        (
            "dialect: postgres\nidentifiers:\n  quoted_identifiers_ignore_case: true\n",
            3,
            "a setting of snowflake",
        ),
        ("dialect: snowflake\nidentifiers:\n  lower_case_table_names: 1\n", 3, "not of snowflake"),
        ("dialect: bigquery\nidentifiers:\n  table_shards: ['_[0-9']\n", 3, "is not a regular expression"),
        ("dialect: mysql\nidentifiers:\n  table_shards: ['_[0-9]{8}']\n", 3, "a setting of bigquery"),
    ],
)
def test_bad_identifier_settings_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = tmp_path / "kaitiaki.yaml"
    with pytest.raises(ConfigError) as info:
        parse_settings(text, path)
    assert info.value.line == line and fragment in str(info.value)
