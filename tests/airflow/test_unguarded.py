"""Tasks kaitiaki cannot read: listed by ``kaitiaki airflow audit``, named at parse time, and with
``unguarded_tasks: block`` failed before they run, while allowlisted ones run (real Airflow 3)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.airflow.conftest import BIN, EXAMPLE_DAGS, RUN_TIMEOUT_S, Scenario, airflow_env

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

UNGUARDED_DAGS = Path(__file__).resolve().parent / "unguarded_dags"
ALLOW = (
    "airflow:\n"
    "  unguarded_tasks: {mode}\n"
    "  unguarded_allow:\n"
    "    operators: [airflow.providers.standard.operators.bash.BashOperator]\n"
    "    tasks: [kt_unguarded.python_approved]\n"
)


def scenario_with(new_scenario: Callable[[str], Scenario], name: str, mode: str) -> Scenario:
    scenario = new_scenario(name)
    scenario.add_dags(UNGUARDED_DAGS)
    config = (EXAMPLE_DAGS / "kaitiaki.yaml").read_text(encoding="utf-8")
    config = config.replace("airflow:\n", ALLOW.format(mode=mode), 1)
    (scenario.dags / "kaitiaki.yaml").write_text(config, encoding="utf-8")
    markers = scenario.home / "markers"
    markers.mkdir()
    scenario.env["KT_MARKERS"] = str(markers)
    return scenario


def audit(scenario: Scenario, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "kaitiaki"), "airflow", "audit", "--dags-folder", str(scenario.dags), *args],
        env=airflow_env(scenario.home, scenario.dags, scenario.env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def test_the_audit_lists_every_task_and_why(new_scenario: Callable[[str], Scenario]) -> None:
    scenario = scenario_with(new_scenario, "audit", "warn")
    done = audit(scenario, "--format", "json")
    assert done.returncode == 1, done.stderr[-3000:]
    rows = {row["task"]: row for row in json.loads(done.stdout)["tasks"]}
    assert {task: row["status"] for task, row in rows.items()} == {
        "kt_unguarded.counted": "guarded",
        "kt_unguarded.hook_in_python": "unguarded",
        "kt_unguarded.python_approved": "allowlisted",
        "kt_unguarded.shell": "allowlisted",
        "kt_unguarded.start": "no-sql",
    }
    assert rows["kt_unguarded.hook_in_python"]["why"].startswith("runs Python")
    assert rows["kt_unguarded.counted"]["why"] == "sql (sql field)"
    assert "kt_unguarded.hook_in_python in" in done.stderr and "is unguarded" in done.stderr, (
        "warn: named at parse"
    )
    text = audit(scenario)
    assert "unguarded    kt_unguarded.hook_in_python" in text.stdout
    assert text.stdout.rstrip().endswith("5 tasks: 2 allowlisted, 1 guarded, 1 no-sql, 1 unguarded")


def test_the_audit_passes_once_the_python_task_is_allowlisted(
    new_scenario: Callable[[str], Scenario],
) -> None:
    scenario = scenario_with(new_scenario, "audit_clean", "warn")
    scenario.edit_config(
        "tasks: [kt_unguarded.python_approved]", "tasks: [kt_unguarded.python_*, kt_unguarded.hook_*]"
    )
    done = audit(scenario)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "unguarded    " not in done.stdout


def test_block_fails_the_unguarded_task_and_runs_the_allowlisted_ones(
    new_scenario: Callable[[str], Scenario],
) -> None:
    scenario = scenario_with(new_scenario, "unguarded_block", "block")
    run = scenario.load_and_run({"dag_id": "kt_unguarded"})
    states = {task: state["state"] for task, state in run.tasks("kt_unguarded").items()}
    assert states == {
        "start": "success",
        "counted": "success",
        "hook_in_python": "failed",
        "shell": "success",
        "python_approved": "success",
    }, run.output[-5000:]
    markers = {path.name for path in (scenario.home / "markers").iterdir()}
    assert markers == {"shell", "python_approved"}, "the blocked Python task ran its hook"
    assert (
        "kaitiaki (unguarded_tasks: block) does not let airflow:kt_unguarded.hook_in_python run" in run.output
    )
