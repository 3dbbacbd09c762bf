"""A DAG author against the runtime guard, in real Airflow 3 (issue #7).

``bypass_dags/bypass_attempts.py`` holds one DAG per attempt to copy ``msd.clients.full_name``
(a direct identifier that purpose ``benefit-uptake`` does not allow) into ``loot.<attempt>``.
All of them load through ``DagBag`` and run through ``dag.test()`` in one process. An attempt is
stopped when its task fails and its table does not exist; SQL swapped after the pre-execute check
is checked again just before the operator executes. What still gets through is Python the author
wrote that runs instead of the operator: the documented limits of
docs/airflow.md ("What is and is not guarded") and docs/security.md (trust boundaries).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.airflow.conftest import EXAMPLE_DAGS, REPO, AirflowRun, Scenario
from tests.airflow.warehouse import query

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ATTEMPTS_FOLDER = Path(__file__).resolve().parent / "bypass_dags"
ATTEMPTS_FILE = ATTEMPTS_FOLDER / "bypass_attempts.py"
UNHOOKABLE_FILE = "bypass_unhookable.py"
CONF = {"kaitiaki": {"purpose": "benefit-health-research"}, "columns": "full_name"}

# Python the DAG author runs instead of the checked operator.
DOCUMENTED_LIMITS = {
    "python_task": "a @task function calling a hook",
    "own_execute": "an operator whose execute runs other SQL",
}

# What each stopped attempt's log says (kaitiaki's own words, from the task log).
STOPPED_BECAUSE = {
    "mode_on_dag": "unknown key(s) 'mode' in params[\"kaitiaki\"]",
    "mode_on_task": "unknown key(s) 'mode' in params[\"kaitiaki\"]",
    "self_waiver": "unknown key(s) 'levels', 'waivers' in params[\"kaitiaki\"]",
    "mapped_params": "unknown key(s) 'mode' in params[\"kaitiaki\"]",
    "two_purpose_tags": "the DAG has 2 purpose tags",
    "purpose_tag_case": "kaitiaki blocked airflow:kt_bypass_purpose_tag_case.",
    "purpose_tag_space": "kaitiaki blocked airflow:kt_bypass_purpose_tag_space.",
    "run_conf_declaration": "kaitiaki blocked airflow:kt_bypass_run_conf_declaration.",
    "run_conf_mapped": "kaitiaki blocked airflow:kt_bypass_run_conf_mapped.",
    "param_object": "kaitiaki blocked airflow:kt_bypass_param_object.",
    "sql_list": "kaitiaki blocked airflow:kt_bypass_sql_list.",
    "sql_file": "kaitiaki blocked airflow:kt_bypass_sql_file.",
    "variable_jinja": "kaitiaki blocked airflow:kt_bypass_variable_jinja.",
    "run_conf_jinja": "kaitiaki blocked airflow:kt_bypass_run_conf_jinja.",
    "bind_parameter_sql": "kaitiaki blocked airflow:kt_bypass_bind_parameter_sql.",
    "dialect_quotes": "declares dialect 'mysql', but its connection 'nz_social_duckdb' has type 'duckdb'",
    "hook_cleared_in_file": "kaitiaki blocked airflow:kt_bypass_hook_cleared_in_file.",
    "untemplated_sql": "kaitiaki blocked airflow:kt_bypass_untemplated_sql.",
    "mapped_hook": "kaitiaki blocked airflow:kt_bypass_mapped_hook.",
    "mapped_kwargs_hook": "kaitiaki blocked airflow:kt_bypass_mapped_kwargs_hook.",
    "mapped_kwargs": "kaitiaki blocked airflow:kt_bypass_mapped_kwargs.",
    "teardown_in_group": "kaitiaki blocked airflow:kt_bypass_teardown_in_group.group.teardown_in_group.",
    "sql_decorator": "kaitiaki blocked airflow:kt_bypass_sql_decorator.",
    "sql_swapped_by_hook": "kaitiaki blocked airflow:kt_bypass_sql_swapped_by_hook.",
    "sql_swapped_by_method": "kaitiaki blocked airflow:kt_bypass_sql_swapped_by_method.",
    "sql_swapped_by_callback": "kaitiaki blocked airflow:kt_bypass_sql_swapped_by_callback.",
}

# SQL swapped after the pre-execute check: checked again just before the operator executes.
SWAPPED_AFTER_CHECK = ("sql_swapped_by_hook", "sql_swapped_by_method", "sql_swapped_by_callback")


@dataclass(frozen=True)
class Attempts:
    scenario: Scenario
    run: AirflowRun
    names: tuple[str, ...]

    def loot(self) -> set[str]:
        rows = query(
            self.scenario.warehouse,
            "select table_name from information_schema.tables where table_schema = 'loot'",
        )
        return {str(name) for (name,) in rows}

    def states(self, name: str) -> set[str]:
        return {task["state"] for task in self.run.tasks(f"kt_bypass_{name}").values()}


@pytest.fixture(scope="module")
def attempts(new_scenario: Callable[[str], Scenario]) -> Attempts:
    scenario = new_scenario("bypass")
    for path in ATTEMPTS_FOLDER.iterdir():
        if path.is_file():
            shutil.copy(path, scenario.dags / path.name)
    shutil.copy(EXAMPLE_DAGS / "kaitiaki.yaml", scenario.dags / "kaitiaki.yaml")
    con = duckdb.connect(str(scenario.warehouse))
    try:
        con.execute("create schema loot")
    finally:
        con.close()
    scenario.env["AIRFLOW_VAR_KT_COLUMNS"] = "full_name"
    names = tuple(re.findall(r'bypass_dag\(\s*"(\w+)"', ATTEMPTS_FILE.read_text(encoding="utf-8")))
    runs = [
        {"dag_id": f"kt_bypass_{name}", **({"conf": CONF} if "run_conf" in name else {})} for name in names
    ]
    return Attempts(scenario, scenario.load_and_run(*runs), names)


def test_every_attempt_is_accounted_for(attempts: Attempts) -> None:
    assert len(attempts.names) >= 15
    assert set(attempts.names) == set(STOPPED_BECAUSE) | set(DOCUMENTED_LIMITS)
    assert {Path(path).name for path in attempts.run.result["import_errors"]} == {UNHOOKABLE_FILE}


def test_an_operator_that_will_not_keep_the_guard_does_not_load(attempts: Attempts) -> None:
    (error,) = attempts.run.result["import_errors"].values()
    assert "the operator does not keep the pre-execute hook Airflow gives it" in error
    assert "kt_bypass_hook_property" not in attempts.run.result["dag_ids"]
    assert "hook_property" not in attempts.loot()


def test_no_attempt_but_the_documented_limits_copies_an_identifier(attempts: Attempts) -> None:
    assert attempts.loot() == set(DOCUMENTED_LIMITS)


@pytest.mark.parametrize("name", sorted(STOPPED_BECAUSE))
def test_each_stopped_attempt_fails_for_its_reason(attempts: Attempts, name: str) -> None:
    assert "failed" in attempts.states(name)
    assert STOPPED_BECAUSE[name] in attempts.run.output


@pytest.mark.parametrize("name", ["run_conf_declaration", "run_conf_mapped"])
def test_a_run_conf_declares_nothing(attempts: Attempts, name: str) -> None:
    job = f"airflow:kt_bypass_{name}.{name}"
    records = [r for r in attempts.scenario.decision_log() if r["labels"]["job"] == job]
    assert [(r["labels"]["purpose"], r["result"]["allow"]) for r in records] == [("benefit-uptake", False)]


@pytest.mark.parametrize("name", SWAPPED_AFTER_CHECK)
def test_sql_swapped_after_the_check_is_checked_again_before_execute(attempts: Attempts, name: str) -> None:
    job = f"airflow:kt_bypass_{name}.{name}"
    records = [r for r in attempts.scenario.decision_log() if r["labels"]["job"] == job]
    assert [r["result"]["allow"] for r in records] == [True, False]
    assert f"the SQL of {job} is not the SQL its pre-execute check saw" in attempts.run.output
    assert attempts.run.tasks(f"kt_bypass_{name}")[name]["try_number"] == 1


def test_the_guard_does_not_claim_python_it_never_saw(attempts: Attempts) -> None:
    jobs = {r["labels"]["job"] for r in attempts.scenario.decision_log()}
    assert "airflow:kt_bypass_python_task.python_task" not in jobs
    assert "kaitiaki allowed airflow:kt_bypass_python_task" not in attempts.run.output
    assert all(attempts.states(name) == {"success"} for name in DOCUMENTED_LIMITS)


def test_the_limits_are_documented() -> None:
    guide = " ".join((REPO / "docs" / "airflow.md").read_text(encoding="utf-8").split())
    security = " ".join((REPO / "docs" / "security.md").read_text(encoding="utf-8").split())
    trust = security[security.index("## Trust boundaries") :]
    for phrase in ("`@task` functions", "overridden `pre_execute` method", "`on_execute_callback`"):
        assert phrase in guide
    for phrase in ("`tests/airflow/test_bypass_dags.py`", "overrides `execute`", "`@task.sql`"):
        assert phrase in trust
    assert "SQL swapped after the check" in trust
    assert "SQL changed after the check**" not in guide
