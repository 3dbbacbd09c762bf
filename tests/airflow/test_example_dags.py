"""The example DAGs under real Airflow 3, loaded as the scheduler loads them (DagBag → dag.test()).

Each scenario is one subprocess with its own AIRFLOW_HOME, the example DAGs folder (with its
kaitiaki.yaml) and a DuckDB warehouse built from the nz_social seeds. The policy reaches the
DAGs only through the installed ``airflow.policy`` entry point. Expected rows are computed from
the seed CSVs.
"""

from __future__ import annotations

from collections.abc import Callable
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


@pytest.fixture(scope="module")
def enforced(new_scenario: Callable[[str], Scenario]) -> tuple[Scenario, AirflowRun]:
    """enforce mode: the allowed pipeline, the extract rendered harmless, then rendered harmful."""
    scenario = new_scenario("examples-enforce")
    scenario.add_dags(EXAMPLE_DAGS)
    run = scenario.load_and_run(
        {"dag_id": UPTAKE},
        {"dag_id": EXTRACT, "conf": {"columns": HARMLESS_COLUMNS}},
        {"dag_id": EXTRACT},
    )
    return scenario, run


def runtime_records(scenario: Scenario, job: str) -> list[dict[str, Any]]:
    return [r for r in scenario.decision_log() if r["labels"]["job"] == job and "run_id" in r["labels"]]


def test_every_sql_task_is_guarded_through_the_entry_point(enforced: tuple[Scenario, AirflowRun]) -> None:
    _, run = enforced
    assert run.result["guarded"] == {
        f"{HEALTH}.benefit_health": True,
        f"{COUNTS}.benefit_types": True,
        f"{UPTAKE}.uptake_by_region": True,
        f"{UPTAKE}.regions_published": True,
        f"{EXTRACT}.client_extract": True,
        f"{EXTRACT}.extract_rows": True,
    }


def test_the_allowed_pipeline_runs_and_writes_its_rows(enforced: tuple[Scenario, AirflowRun]) -> None:
    scenario, run = enforced
    assert {task: state["state"] for task, state in run.tasks(UPTAKE).items()} == {
        "uptake_by_region": "success",
        "regions_published": "success",
    }
    rows = query(
        scenario.warehouse, "select region, clients from analytics.benefit_uptake_by_region order by 1"
    )
    assert rows == expected_uptake()
    assert f"kaitiaki allowed airflow:{UPTAKE}.uptake_by_region" in run.output


def test_templated_sql_that_renders_harmless_runs(enforced: tuple[Scenario, AirflowRun]) -> None:
    _, run = enforced
    assert run.tasks(EXTRACT, 0) == {
        "client_extract": {"state": "success", "try_number": 1},
        "extract_rows": {"state": "success", "try_number": 1},
    }


def test_templated_sql_that_renders_harmful_fails_on_its_first_try(
    enforced: tuple[Scenario, AirflowRun],
) -> None:
    _, run = enforced
    assert run.tasks(EXTRACT, 1) == {
        "client_extract": {"state": "failed", "try_number": 1},
        "extract_rows": {"state": "upstream_failed", "try_number": 0},
    }


def test_the_denied_task_never_touched_the_warehouse(enforced: tuple[Scenario, AirflowRun]) -> None:
    """The denied run would have replaced the harmless run's table with names and phone numbers."""
    scenario, _ = enforced
    columns = query(
        scenario.warehouse,
        "select column_name from information_schema.columns "
        "where table_schema = 'exports' and table_name = 'client_extract' order by ordinal_position",
    )
    assert [c for (c,) in columns] == HARMLESS_COLUMNS
    count = query(scenario.warehouse, "select count(*) from exports.client_extract")
    assert count == [(expected_extract("Waikato"),)]


def test_the_denied_tasks_log_explains_every_rule(enforced: tuple[Scenario, AirflowRun]) -> None:
    scenario, run = enforced
    job = f"airflow:{EXTRACT}.client_extract"
    denied = [r for r in runtime_records(scenario, job) if not r["result"]["allow"]]
    assert len(denied) == 1
    rules = {v["rule"] for v in denied[0]["result"]["violations"]}
    assert rules, "a denial names its rules"
    assert f"kaitiaki blocked {job}." in run.output
    explained = run.output.split(f"kaitiaki blocked {job}.", 1)[1]
    assert all(rule in explained for rule in rules)
    assert "full_name" in explained


def test_runtime_decisions_are_logged_with_dag_task_run_and_try(
    enforced: tuple[Scenario, AirflowRun],
) -> None:
    scenario, run = enforced
    records = runtime_records(scenario, f"airflow:{EXTRACT}.client_extract")
    assert [r["labels"]["run_id"] for r in records] == [
        run.run(EXTRACT, 0)["run_id"],
        run.run(EXTRACT, 1)["run_id"],
    ]
    for record in records:
        labels = record["labels"]
        assert (labels["dag_id"], labels["task_id"], labels["try_number"]) == (EXTRACT, "client_extract", "1")
        assert labels["entry_point"] == "airflow"


def test_parse_time_warns_about_literal_sql_and_logs_no_decision(
    enforced: tuple[Scenario, AirflowRun],
) -> None:
    scenario, run = enforced
    assert HEALTH in run.result["dag_ids"] and run.result["import_errors"] == {}
    assert f"kaitiaki parse-time check of task {HEALTH}.benefit_health" in run.output
    assert not [r for r in scenario.decision_log() if r["labels"].get("stage") == "parse"]


def test_parse_time_block_makes_the_whole_file_an_import_error(
    new_scenario: Callable[[str], Scenario],
) -> None:
    scenario = new_scenario("examples-parse-block")
    scenario.add_dags(EXAMPLE_DAGS)
    scenario.edit_config("parse_time_check: warn", "parse_time_check: block")
    run = scenario.load_and_run()
    errors = run.result["import_errors"]
    assert list(errors) == [str(scenario.dags / f"{HEALTH}.py")]
    message = next(iter(errors.values()))
    assert f"kaitiaki (parse_time_check: block) denies airflow:{HEALTH}.benefit_health" in message
    assert "import error of the whole DAG file" in message
    assert HEALTH not in run.result["dag_ids"] and COUNTS not in run.result["dag_ids"]
    assert {UPTAKE, EXTRACT} <= set(run.result["dag_ids"])


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
