"""The example DAGs under real Airflow 3, loaded as the scheduler loads them (DagBag → dag.test()).

Each scenario is one subprocess with its own AIRFLOW_HOME, the example DAGs folder (with its
kaitiaki.yaml) and a DuckDB warehouse built from the nz_social seeds. The policy reaches the
DAGs only through the installed ``airflow.policy`` entry point. Expected rows are computed from
the seed CSVs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.airflow.conftest import EXAMPLE_DAGS, AirflowRun, Scenario
from tests.airflow.warehouse import expected_extract, expected_uptake, query

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

UPTAKE = "nz_social_benefit_uptake"
EXTRACT = "nz_social_client_extract"
HEALTH = "nz_social_benefit_health"
COUNTS = "nz_social_benefit_counts"
HARMLESS_COLUMNS = ["region", "benefit_type"]


@dataclass(frozen=True)
class Enforced:
    """enforce mode, two processes on one home and warehouse (a DAG renders once per process)."""

    scenario: Scenario
    first: AirflowRun  # the allowed pipeline, and the extract rendered harmless by the run's conf
    denied: AirflowRun  # the extract with its default params: harmful once rendered


@pytest.fixture(scope="module")
def enforced(new_scenario: Callable[[str], Scenario]) -> Enforced:
    scenario = new_scenario("examples-enforce")
    scenario.add_dags(EXAMPLE_DAGS)
    first = scenario.load_and_run(
        {"dag_id": UPTAKE}, {"dag_id": EXTRACT, "conf": {"columns": HARMLESS_COLUMNS}}
    )
    denied = scenario.load_and_run({"dag_id": EXTRACT})
    return Enforced(scenario, first, denied)


def runtime_records(scenario: Scenario, job: str) -> list[dict[str, Any]]:
    return [r for r in scenario.decision_log() if r["labels"]["job"] == job and "run_id" in r["labels"]]


def test_every_sql_task_is_guarded_through_the_entry_point(enforced: Enforced) -> None:
    assert enforced.first.result["guarded"] == {
        f"{HEALTH}.benefit_health": True,
        f"{COUNTS}.benefit_types": True,
        f"{UPTAKE}.uptake_by_region": True,
        f"{UPTAKE}.regions_published": True,
        f"{EXTRACT}.client_extract": True,
        f"{EXTRACT}.extract_rows": True,
    }


def test_the_allowed_pipeline_runs_and_writes_its_rows(enforced: Enforced) -> None:
    run = enforced.first
    assert {task: state["state"] for task, state in run.tasks(UPTAKE).items()} == {
        "uptake_by_region": "success",
        "regions_published": "success",
    }
    sql = "select region, clients from analytics.benefit_uptake_by_region order by 1"
    rows = query(enforced.scenario.warehouse, sql)
    assert rows == expected_uptake()
    assert f"kaitiaki allowed airflow:{UPTAKE}.uptake_by_region" in run.output


def test_templated_sql_that_renders_harmless_runs(enforced: Enforced) -> None:
    assert enforced.first.tasks(EXTRACT) == {
        "client_extract": {"state": "success", "try_number": 1},
        "extract_rows": {"state": "success", "try_number": 1},
    }


def test_templated_sql_that_renders_harmful_fails_on_its_first_try(enforced: Enforced) -> None:
    assert enforced.denied.tasks(EXTRACT) == {
        "client_extract": {"state": "failed", "try_number": 1},
        "extract_rows": {"state": "upstream_failed", "try_number": 0},
    }


def test_the_denied_task_never_touched_the_warehouse(enforced: Enforced) -> None:
    """The denied run would have replaced the harmless run's table with names and phone numbers."""
    scenario = enforced.scenario
    columns = query(
        scenario.warehouse,
        "select column_name from information_schema.columns "
        "where table_schema = 'exports' and table_name = 'client_extract' order by ordinal_position",
    )
    assert [c for (c,) in columns] == HARMLESS_COLUMNS
    count = query(scenario.warehouse, "select count(*) from exports.client_extract")
    assert count == [(expected_extract("Waikato"),)]


def test_the_denied_tasks_log_explains_every_rule(enforced: Enforced) -> None:
    scenario, run = enforced.scenario, enforced.denied
    job = f"airflow:{EXTRACT}.client_extract"
    denied = [r for r in runtime_records(scenario, job) if not r["result"]["allow"]]
    assert len(denied) == 1
    rules = {v["rule"] for v in denied[0]["result"]["violations"]}
    assert rules, "a denial names its rules"
    assert f"kaitiaki blocked {job}." in run.output
    explained = run.output.split(f"kaitiaki blocked {job}.", 1)[1]
    assert all(rule in explained for rule in rules)
    assert "full_name" in explained


def test_runtime_decisions_are_logged_with_dag_task_run_and_try(enforced: Enforced) -> None:
    records = runtime_records(enforced.scenario, f"airflow:{EXTRACT}.client_extract")
    runs = [enforced.first.run(EXTRACT)["run_id"], enforced.denied.run(EXTRACT)["run_id"]]
    assert [r["labels"]["run_id"] for r in records] == runs
    assert [r["result"]["allow"] for r in records] == [True, False]
    for record in records:
        labels = record["labels"]
        assert (labels["dag_id"], labels["task_id"], labels["try_number"]) == (EXTRACT, "client_extract", "1")
        assert labels["entry_point"] == "airflow"


def test_parse_time_warns_about_literal_sql_and_logs_no_decision(enforced: Enforced) -> None:
    scenario, run = enforced.scenario, enforced.first
    assert HEALTH in run.result["dag_ids"] and run.result["import_errors"] == {}
    assert f"kaitiaki parse-time check of task {HEALTH}.benefit_health" in run.output
    assert not [r for r in scenario.decision_log() if r["labels"].get("stage") == "parse"]


def test_parse_time_block_takes_the_whole_file_out_of_scheduling(
    new_scenario: Callable[[str], Scenario],
) -> None:
    """Turning ``block`` on stops both DAGs of the flagged file, the harmless one too."""
    scenario = new_scenario("examples-parse-block")
    scenario.add_dags(EXAMPLE_DAGS)
    warned = scenario.load_and_run(sync=True)
    assert all(not model["stale"] for model in warned.result["dag_models"].values())
    scenario.edit_config("parse_time_check: warn", "parse_time_check: block")
    blocked = scenario.load_and_run(sync=True)
    errors = blocked.result["import_errors"]
    assert list(errors) == [str(scenario.dags / f"{HEALTH}.py")]
    message = next(iter(errors.values()))
    assert f"kaitiaki (parse_time_check: block) denies airflow:{HEALTH}.benefit_health" in message
    assert "import error of the whole DAG file" in message
    models = blocked.result["dag_models"]
    assert models[HEALTH] == models[COUNTS] == {"stale": True, "import_errors": True}
    assert models[UPTAKE] == models[EXTRACT] == {"stale": False, "import_errors": False}


def test_audit_mode_logs_the_denial_and_lets_the_task_run(new_scenario: Callable[[str], Scenario]) -> None:
    scenario = new_scenario("examples-audit")
    scenario.add_dags(EXAMPLE_DAGS)
    scenario.edit_config("mode: enforce", "mode: audit")
    run = scenario.load_and_run({"dag_id": EXTRACT})
    assert {task: state["state"] for task, state in run.tasks(EXTRACT).items()} == {
        "client_extract": "success",
        "extract_rows": "success",
    }
    assert f"kaitiaki (audit mode) would block airflow:{EXTRACT}.client_extract" in run.output
    (record,) = runtime_records(scenario, f"airflow:{EXTRACT}.client_extract")
    assert record["result"]["allow"] is False and record["labels"]["mode"] == "audit"
    assert query(scenario.warehouse, "select count(*) from exports.client_extract") == [
        (expected_extract("Waikato"),)
    ]
