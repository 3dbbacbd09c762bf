"""Every provider family's operators, guarded where they keep their SQL: real Airflow 3 runs.

One scenario runs ``provider_dags/provider_operators.py``: per family a DAG whose ``allowed``
task runs and whose ``denied`` twin fails without running (its recorded call never happens),
on SQL rendered at run time, each decided in the dialect its operator or connection speaks.
Operators that would call a cloud service record their fields instead (see the DAG file's
docstring); google and snowflake are stand-ins with their providers' field layout, because
installing those providers here would add 108 distributions (google) or take SQLAlchemy back
to 2.0.58 (snowflake); the DAG file says how that was re-checked.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import EXAMPLE_DAGS, AirflowRun, Scenario
from tests.airflow.warehouse import query

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

PROVIDER_DAGS = Path(__file__).resolve().parent / "provider_dags"

# DAG (kp_<name>) → (dialect the SQL is read in, SQL fields the reader found)
FAMILIES: dict[str, tuple[str, str]] = {
    "common_sql": ("duckdb", "preoperator,sql"),
    "analytics": ("postgres", "queries"),
    "insert_rows": ("duckdb", "preoperator,postoperator"),
    "athena": ("athena", "query"),
    "sql_to_s3": ("duckdb", "query"),
    "redshift_to_s3": ("redshift", "select_query"),
    "redshift_data": ("redshift", "sql"),
    "databricks": ("databricks", "sql"),
    "databricks_statements": ("databricks", "statement"),
    "deferred": ("databricks", "statement"),
    "spark": ("spark", "sql"),
    "hive": ("hive", "hql"),
    "trino": ("trino", "sql"),
    "bigquery": ("bigquery", 'configuration["query"]["query"]'),
    "spanner": ("bigquery", "query"),
    "snowflake": ("snowflake", "sql"),
    "task_sql": ("duckdb", "sql"),
    "exasol": ("exasol", "query_or_table"),
    "teradata": ("teradata", "ddl"),
    "dataproc": ("spark", 'job["spark_sql_job"]["query_list"]["queries"]'),
    "oracle": ("oracle", "source_sql"),
}
RECORDED = ("athena", "sql_to_s3", "redshift_to_s3", "redshift_data", "databricks", "databricks_statements")
RECORDED += (
    "deferred",
    "spark",
    "hive",
    "trino",
    "bigquery",
    "spanner",
    "snowflake",
    "analytics",
    "insert_rows",
    "exasol",
    "teradata",
    "oracle",
    "dataproc",
)


@dataclass(frozen=True)
class Providers:
    scenario: Scenario
    run: AirflowRun
    markers: Path

    def states(self, dag_id: str) -> dict[str, str | None]:
        return {task: state["state"] for task, state in self.run.tasks(dag_id).items()}

    def records(self, dag_id: str) -> dict[str, dict[str, Any]]:
        """The runtime decision of each task of the DAG, by task id (and map index)."""
        found = {}
        for record in self.scenario.decision_log():
            labels = record["labels"]
            if labels.get("dag_id") == dag_id and "run_id" in labels:
                key = labels["task_id"] + (f"[{labels['map_index']}]" if "map_index" in labels else "")
                found[key] = record
        return found

    def recorded(self, name: str) -> dict[str, Any] | None:
        path = self.markers / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


@pytest.fixture(scope="module")
def providers(new_scenario: Callable[[str], Scenario]) -> Providers:
    scenario = new_scenario("providers")
    scenario.add_dags(PROVIDER_DAGS)
    shutil.copy(EXAMPLE_DAGS / "kaitiaki.yaml", scenario.dags / "kaitiaki.yaml")
    markers = scenario.home / "markers"
    markers.mkdir()
    scenario.env["KT_MARKERS"] = str(markers)
    scenario.env["AIRFLOW_CONN_TRINO_WH"] = '{"conn_type": "trino", "host": "localhost"}'
    dag_ids = [f"kp_{name}" for name in FAMILIES] + ["kp_mapped"]
    run = scenario.load_and_run(*({"dag_id": dag_id} for dag_id in dag_ids))
    assert run.result["import_errors"] == {}, run.output[-4000:]
    return Providers(scenario, run, markers)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_denied_twin_fails_and_the_allowed_one_runs(providers: Providers, family: str) -> None:
    dag_id = f"kp_{family}"
    assert providers.states(dag_id) == {"allowed": "success", "denied": "failed"}, providers.run.output[
        -6000:
    ]
    records = providers.records(dag_id)
    assert records["allowed"]["result"]["allow"] is True
    assert records["denied"]["result"]["allow"] is False
    rules = {v["rule"] for v in records["denied"]["result"]["violations"]}
    assert "PM-03" in rules, rules
    dialect, fields = FAMILIES[family]
    for record in records.values():
        assert (record["labels"]["dialect"], record["labels"]["sql_fields"]) == (dialect, fields)


@pytest.mark.parametrize("family", RECORDED)
def test_what_runs_is_the_rendered_sql_that_was_allowed(providers: Providers, family: str) -> None:
    allowed = providers.recorded(f"kp_{family}.allowed")
    assert allowed is not None, "the allowed task never reached its operator's call"
    assert "{{" not in json.dumps(allowed) and "count(distinct client_number) >= 6" in json.dumps(allowed)
    assert providers.recorded(f"kp_{family}.denied") is None, "the denied task reached its operator's call"


def test_common_sql_ran_for_real_on_the_warehouse(providers: Providers) -> None:
    copied = query(providers.scenario.warehouse, "select count(*) from main.copied_allowed")
    assert copied[0][0] > 0
    tables = query(providers.scenario.warehouse, "select table_name from information_schema.tables")
    assert ("copied_denied",) not in tables, "the denied transfer's preoperator ran"


def test_each_mapped_copy_is_decided_on_its_own_sql(providers: Providers) -> None:
    states = providers.states("kp_mapped")
    assert states == {
        "athena[0]": "success",
        "athena[1]": "failed",
        "bigquery[0]": "success",
        "bigquery[1]": "failed",
    }
    assert providers.recorded("kp_mapped.athena.0") and providers.recorded("kp_mapped.bigquery.0")
    assert not providers.recorded("kp_mapped.athena.1") and not providers.recorded("kp_mapped.bigquery.1")
    records = providers.records("kp_mapped")
    assert [
        records[k]["result"]["allow"] for k in ("athena[0]", "athena[1]", "bigquery[0]", "bigquery[1]")
    ] == [
        True,
        False,
        True,
        False,
    ]
