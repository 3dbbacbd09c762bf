"""Airflow tasks as kaitiaki Jobs, on real Airflow 3 operators and DAGs (no DAG run needed)."""

from __future__ import annotations

import copy
import inspect
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.sql.operators.sql import (
    SQLExecuteQueryOperator,
    SQLIntervalCheckOperator,
    SQLValueCheckOperator,
)
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseOperator
from kaitiaki_airflow.dialects import CONN_TYPE_DIALECTS, dialect_for
from kaitiaki_airflow.locate import locate
from kaitiaki_airflow.parse_time import check_at_parse
from kaitiaki_airflow.providers.generic import sql_fields
from kaitiaki_airflow.runtime import (
    execute_guarded,
    guarded,
    held_sql_digest,
    install_guard,
    is_guard,
    running_task,
)
from kaitiaki_airflow.tasks import (
    combined_sql,
    declared,
    job_for_task,
    purpose_of,
    static_sql,
)

from kaitiaki.config import parse_settings
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import Destination, TaskSql

pytestmark = pytest.mark.airflow

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "examples" / "nz_social" / "dags"

START = datetime(2026, 1, 1)


def dag(**kwargs: Any) -> DAG:
    return DAG(kwargs.pop("dag_id", "d"), schedule=None, start_date=START, **kwargs)


class TeamOperator(BaseOperator):
    """A team's own operator with a ``sql`` field and its own connection attribute."""

    template_fields = ("sql",)

    def __init__(self, *, sql: str, warehouse_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.warehouse_conn_id = warehouse_conn_id


def located(task: Any) -> TaskSql:
    found = locate(task)
    assert found is not None, f"no reader found the SQL of {task.task_id}"
    return found


def noop() -> None:
    """A Python callable for the operators that are not SQL tasks."""


def test_sql_tasks_are_those_with_a_sql_template_field() -> None:
    with dag():
        execute = SQLExecuteQueryOperator(task_id="execute", conn_id="c", sql="select 1")
        value = SQLValueCheckOperator(task_id="value", conn_id="c", sql="select 1", pass_value=1)
        interval = SQLIntervalCheckOperator(task_id="interval", conn_id="c", table="t", metrics_thresholds={})
        team = TeamOperator(task_id="team", sql="select 1", warehouse_conn_id="w")
        mapped = SQLExecuteQueryOperator.partial(task_id="mapped", conn_id="c").expand(sql=["select 1"])
        python = PythonOperator(task_id="python", python_callable=noop)
        bash = BashOperator(task_id="bash", bash_command="echo 1")
    assert [(locate(t) is not None) for t in (execute, value, team, mapped)] == [True] * 4
    assert sql_fields(interval) == ("sql1", "sql2")
    assert locate(python) is None and locate(bash) is None


def test_statements_are_joined_once_without_empty_ones() -> None:
    text = combined_sql(["select 1;", ["select 2 ;", "  ", "select 3 -- the last"]], where="task d.t")
    assert text == "select 1\n;\nselect 2\n;\nselect 3 -- the last"


def test_a_trailing_comment_cannot_swallow_the_next_statement() -> None:
    from kaitiaki.analysis import analyze_sql

    text = combined_sql(["select a from t -- first", "select b from u"], where="task d.t")
    facts = analyze_sql(text, dialect="duckdb", schema={"t": {"a": "int"}, "u": {"b": "int"}})
    assert [s.kind for s in facts.statements] == ["select", "select"] and not facts.errors


def test_sql_that_is_not_text_fails_closed_naming_the_task() -> None:
    with pytest.raises(KaitiakiError, match=r"the SQL of task d\.t .* is a dict"):
        combined_sql([{"q": "select 1"}], where="task d.t in dags/x.py")


def test_only_literal_sql_is_checked_at_parse_time() -> None:
    with dag():
        literal = SQLExecuteQueryOperator(
            task_id="literal", conn_id="c", sql=["select a from t;", "select 2"]
        )
        jinja = SQLExecuteQueryOperator(task_id="jinja", conn_id="c", sql="select {{ params.cols }} from t")
        comment = SQLExecuteQueryOperator(task_id="comment", conn_id="c", sql="select 1 {# note #}")
        unresolved_file = SQLExecuteQueryOperator(task_id="file", conn_id="c", sql="queries/missing.sql")
        mapped = SQLExecuteQueryOperator.partial(task_id="mapped", conn_id="c").expand(
            sql=["select 1", "select 2"]
        )
    assert static_sql(literal, located(literal)) == "select a from t\n;\nselect 2"
    assert (
        static_sql(jinja, located(jinja)) is None
        and static_sql(comment, located(comment)) is None
        and static_sql(unresolved_file, located(unresolved_file)) is None
    )
    assert static_sql(mapped, located(mapped)) == "select 1\n;\nselect 2"


def test_mapped_sql_comes_from_the_expand_arguments() -> None:
    with dag():
        mapped = SQLExecuteQueryOperator.partial(task_id="m", conn_id="c").expand(
            sql=["select 1", "select 2"]
        )
    assert located(mapped).values == (["select 1", "select 2"],)


def test_the_connection_is_conn_id_or_the_one_star_conn_id_attribute() -> None:
    with dag():
        execute = SQLExecuteQueryOperator(task_id="execute", conn_id="warehouse", sql="select 1")
        team = TeamOperator(task_id="team", sql="select 1", warehouse_conn_id="lake")
        mapped = SQLExecuteQueryOperator.partial(task_id="m", conn_id="mapped_wh").expand(sql=["select 1"])
        none = SQLExecuteQueryOperator(task_id="none", sql="select 1")
    assert [located(t).conn_id for t in (execute, team, mapped, none)] == [
        "warehouse",
        "lake",
        "mapped_wh",
        None,
    ]


def test_declarations_merge_the_dag_and_the_task_params() -> None:
    with dag(params={"kaitiaki": {"purpose": "p", "destination": "shared"}}):
        inherits = SQLExecuteQueryOperator(task_id="inherits", conn_id="c", sql="select 1")
        overrides = SQLExecuteQueryOperator(
            task_id="overrides", conn_id="c", sql="select 1", params={"kaitiaki": {"destination": "external"}}
        )
    assert declared(inherits) == {"purpose": "p", "destination": "shared"}
    assert declared(overrides) == {"purpose": "p", "destination": "external"}


def test_an_unknown_declaration_key_names_the_key_and_the_dag_file() -> None:
    with dag(params={"kaitiaki": {"purpse": "p"}}):
        task = SQLExecuteQueryOperator(task_id="t", conn_id="c", sql="select 1")
    with pytest.raises(KaitiakiError, match="unknown key\\(s\\) 'purpse'") as raised:
        declared(task)
    assert raised.value.path == __file__


def test_the_purpose_can_come_from_one_dag_tag() -> None:
    with dag(tags=["team:x", "purpose:benefit-uptake"]):
        tagged = SQLExecuteQueryOperator(task_id="t", conn_id="c", sql="select 1")
    with dag(dag_id="two", tags=["purpose:a", "purpose:b"]):
        ambiguous = SQLExecuteQueryOperator(task_id="t", conn_id="c", sql="select 1")
    assert purpose_of(tagged, {}) == "benefit-uptake"
    assert purpose_of(tagged, {"purpose": "declared"}) == "declared"
    with pytest.raises(KaitiakiError, match="2 purpose tags"):
        purpose_of(ambiguous, {})


def test_a_task_becomes_a_job_with_its_ids_tags_and_declarations(tmp_path: Path) -> None:
    settings = parse_settings(
        "default_destination: {kind: shared, region: nz}\nowner: data-team\n", tmp_path / "kaitiaki.yaml"
    )
    with dag(dag_id="nz", tags=["retention:P1Y", "purpose:benefit-uptake"]):
        first = SQLExecuteQueryOperator(task_id="first", conn_id="c", sql="select 1")
        second = SQLExecuteQueryOperator(
            task_id="second",
            conn_id="c",
            sql="select 1",
            owner="analytics",
            params={
                "kaitiaki": {"destination": {"kind": "external", "region": "offshore"}, "tags": ["insight"]}
            },
        )
        first >> second
    job = job_for_task(
        second, sql="select 1", dialect="duckdb", conn_id="c", conn_type="duckdb", settings=settings
    )
    assert (job.id, job.kind, job.name, job.dialect) == (
        "airflow:nz.second",
        "airflow_task",
        "second",
        "duckdb",
    )
    assert job.purpose == "benefit-uptake" and job.owner == "analytics"
    assert job.destination == Destination(kind="external", region="offshore")
    assert job.tags == ("purpose:benefit-uptake", "retention:P1Y", "insight")
    assert job.upstream == ("airflow:nz.first",)
    assert job.meta["conn_type"] == "duckdb" and job.meta["operator"] == "SQLExecuteQueryOperator"
    assert job.source.path is None and job.meta["dag_file"] == __file__, "rendered SQL has no file lines"
    default = job_for_task(
        first, sql="select 1", dialect="duckdb", conn_id="c", conn_type="duckdb", settings=settings
    )
    assert default.destination == settings.default_destination and default.owner is None


def test_connection_types_map_to_sqlglot_dialects() -> None:
    from kaitiaki.analysis.dialects import known_dialects

    assert set(CONN_TYPE_DIALECTS.values()) <= set(known_dialects())
    where = "task d.t in dags/x.py"
    expect = {
        "postgres": "postgres",
        "mssql": "tsql",
        "google_cloud_platform": "bigquery",
        "duckdb": "duckdb",
    }
    for conn_type, dialect in expect.items():
        assert (
            dialect_for(
                spoken=CONN_TYPE_DIALECTS.get(conn_type),
                conn_type=conn_type,
                task_dialect=None,
                configured_dialect=None,
                conn_id="c",
                where=where,
            )
            == dialect
        )
    assert (
        dialect_for(
            spoken=CONN_TYPE_DIALECTS.get("odbc"),
            conn_type="odbc",
            task_dialect=None,
            configured_dialect="trino",
            conn_id="c",
            where=where,
        )
        == "trino"
    )
    assert (
        dialect_for(
            spoken=CONN_TYPE_DIALECTS.get("mssql"),
            conn_type="mssql",
            task_dialect="fabric",
            configured_dialect=None,
            conn_id="c",
            where=where,
        )
        == "fabric"
    )


def test_an_unknown_connection_type_fails_closed_with_a_way_out() -> None:
    with pytest.raises(KaitiakiError) as raised:
        dialect_for(
            spoken=CONN_TYPE_DIALECTS.get("odbc"),
            conn_type="odbc",
            task_dialect=None,
            configured_dialect=None,
            conn_id="legacy",
            where="task d.t",
        )
    message = str(raised.value)
    assert "connection 'legacy' has type 'odbc'" in message and "does not run" in message
    assert 'params={"kaitiaki": {"dialect"' in message and "`dialect:` in kaitiaki.yaml" in message


def test_the_guard_is_chained_once_in_front_of_the_authors_hook() -> None:
    def authors_hook(context: Any) -> None:
        """The DAG author's hook."""

    with dag():
        plain = SQLExecuteQueryOperator(task_id="plain", conn_id="c", sql="select 1")
        hooked = SQLExecuteQueryOperator(
            task_id="hooked", conn_id="c", sql="select 1", pre_execute=authors_hook
        )
        mapped = SQLExecuteQueryOperator.partial(task_id="mapped", conn_id="c").expand(sql=["select 1"])
    for task in (plain, hooked, mapped):
        install_guard(task)
    guard = hooked._pre_execute_hook
    install_guard(hooked)
    assert is_guard(plain._pre_execute_hook) and is_guard(mapped.partial_kwargs["pre_execute"])
    assert hooked._pre_execute_hook is guard, "installing twice must not chain the guard twice"
    assert inspect.getclosurevars(guard).nonlocals["previous"] is authors_hook


def test_a_generator_hook_stays_a_generator_so_airflow_still_drains_it() -> None:
    def yielding_hook(context: Any) -> Any:
        yield context

    assert inspect.isgeneratorfunction(guarded(yielding_hook))
    assert not inspect.isgeneratorfunction(guarded(None))


def test_sql_mapped_per_copy_is_left_quietly_to_the_run(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_C", '{"conn_type": "duckdb"}')
    with dag(dag_id="parse_quiet", params={"kaitiaki": {"purpose": "benefit-uptake"}}) as parsed:
        per_copy = SQLExecuteQueryOperator.partial(task_id="per_copy", conn_id="c").expand_kwargs(
            [{"sql": "select full_name from msd.clients"}, {"sql": ["select 1", "select 2"]}]
        )
        literal = SQLExecuteQueryOperator(
            task_id="literal", conn_id="c", sql="select full_name from msd.clients"
        )
    parsed.fileloc = str(EXAMPLE_DAGS / "parse_quiet.py")
    assert static_sql(per_copy, located(per_copy)) is None
    with caplog.at_level("INFO", logger="kaitiaki.airflow"):
        check_at_parse(per_copy, located(per_copy))
        assert not caplog.records
        check_at_parse(literal, located(literal))
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "kaitiaki parse-time check of task parse_quiet.literal in " + parsed.fileloc
    ]


def test_execute_is_wrapped_once_and_follows_the_copy_airflow_runs() -> None:
    with dag():
        plain = SQLExecuteQueryOperator(task_id="plain", conn_id="c", sql="select 1")
    install_guard(plain)
    wrapper = plain.execute
    install_guard(plain)
    assert plain.__dict__["execute"] is wrapper and wrapper.__func__ is execute_guarded
    shallow = plain.prepare_for_execution()
    assert running_task(plain, {"task": shallow}) is shallow
    assert running_task(plain, {"task": object()}) is plain
    deep = copy.deepcopy(plain)
    assert deep.execute.__self__ is deep


def test_what_the_check_saw_is_sql_and_connection() -> None:
    with dag():
        task = SQLExecuteQueryOperator(task_id="t", conn_id="c", sql="select 1")
    seen = held_sql_digest(task)
    assert seen is not None
    task.sql = "select full_name from msd.clients"
    assert held_sql_digest(task) not in (seen, None)
    task.sql, task.conn_id = "select 1", "other"
    assert held_sql_digest(task) not in (seen, None)
    task.sql = {"not": "sql"}
    assert held_sql_digest(task) is None
