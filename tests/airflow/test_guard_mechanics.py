"""The runtime guard's mechanics under real Airflow 3, on the DAGs in ``tests/airflow/dags``.

One scenario, one process: the author's own pre-execute hook runs after an allowed check and
never after a denial; an unknown connection type fails closed on the first try; each mapped
copy is checked on its own rendered SQL; a team's own operator is guarded because it has a
``sql`` template field. Two team folders carry their own kaitiaki.yaml (the nearest one above a
DAG file wins): an invalid one fails its task closed naming file and line, and one whose OPA
server does not answer blocks its task (SYS-02) but leaves it to its retries.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import EXAMPLE_DAGS, TEST_DAGS, AirflowRun, Scenario
from tests.airflow.warehouse import query

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

CONFIG = "kaitiaki.yaml"
UNREACHABLE_OPA = "engine: {kind: opa, url: 'http://127.0.0.1:9', timeout_ms: 300}\n"


@dataclass(frozen=True)
class Mechanics:
    scenario: Scenario
    run: AirflowRun
    markers: Path
    broken_config: Path
    broken_line: int

    def states(self, dag_id: str) -> dict[str, str]:
        return {task: state["state"] for task, state in self.run.tasks(dag_id).items()}

    def runtime_records(self, job: str) -> list[dict[str, Any]]:
        records = self.scenario.decision_log()
        return [r for r in records if r["labels"]["job"] == job and "run_id" in r["labels"]]


def team_config(folder: Path, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / CONFIG).write_text(text, encoding="utf-8")
    return folder / CONFIG


@pytest.fixture(scope="module")
def mechanics(new_scenario: Callable[[str], Scenario]) -> Mechanics:
    scenario = new_scenario("mechanics")
    shutil.copytree(
        TEST_DAGS, scenario.dags, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    example = (EXAMPLE_DAGS / CONFIG).read_text(encoding="utf-8")
    shutil.copy(EXAMPLE_DAGS / CONFIG, scenario.dags / CONFIG)
    team_config(scenario.dags / "engine_team", UNREACHABLE_OPA + example)
    lines = example.splitlines()
    broken_line = next(i for i, line in enumerate(lines, 1) if line.startswith("mode: enforce"))
    broken = team_config(
        scenario.dags / "broken_team", example.replace("mode: enforce ", "mode: enforced ", 1)
    )
    markers = scenario.home / "markers"
    markers.mkdir()
    scenario.env["KT_MARKERS"] = str(markers)
    scenario.env["AIRFLOW_CONN_LEGACY_ODBC"] = '{"conn_type": "odbc", "host": "legacy-dsn"}'
    dag_ids = (
        "author_hook",
        "unknown_connection",
        "mapped",
        "custom_operator",
        "broken_config",
        "engine_down",
    )
    run = scenario.load_and_run(*({"dag_id": f"kaitiaki_{name}"} for name in dag_ids))
    return Mechanics(scenario, run, markers, broken.resolve(), broken_line)


def test_the_authors_hook_runs_after_an_allowed_check_and_never_after_a_denial(mechanics: Mechanics) -> None:
    assert mechanics.states("kaitiaki_author_hook") == {
        "allowed_with_hook": "success",
        "denied_with_hook": "failed",
    }
    assert "allowed_with_hook" in {p.name for p in mechanics.markers.iterdir()}
    assert "denied_with_hook" not in {p.name for p in mechanics.markers.iterdir()}


def test_an_unknown_connection_type_fails_closed_on_the_first_try(mechanics: Mechanics) -> None:
    assert mechanics.run.tasks("kaitiaki_unknown_connection") == {
        "on_unknown_connection": {"state": "failed", "try_number": 1},
        "after_unknown": {"state": "upstream_failed", "try_number": 0},
    }
    assert "connection 'legacy_odbc' has type 'odbc'" in mechanics.run.output


def test_each_mapped_copy_is_checked_on_its_own_rendered_sql(mechanics: Mechanics) -> None:
    assert mechanics.states("kaitiaki_mapped") == {"mapped_sql[0]": "success", "mapped_sql[1]": "failed"}
    records = mechanics.runtime_records("airflow:kaitiaki_mapped.mapped_sql")
    assert sorted((r["labels"]["map_index"], r["result"]["allow"]) for r in records) == [
        ("0", True),
        ("1", False),
    ]


def test_a_custom_operator_with_a_sql_field_is_guarded(mechanics: Mechanics) -> None:
    assert mechanics.states("kaitiaki_custom_operator") == {"custom_denied": "failed"}
    tables = query(
        mechanics.scenario.warehouse,
        "select table_name from information_schema.tables where table_schema = 'msd'",
    )
    assert tables == [("clients",)]


def test_a_broken_team_config_fails_its_task_closed_naming_file_and_line(mechanics: Mechanics) -> None:
    assert mechanics.run.tasks("kaitiaki_broken_config") == {
        "under_broken_config": {"state": "failed", "try_number": 1}
    }
    assert "under_broken_config" not in {p.name for p in mechanics.markers.iterdir()}
    assert f"{mechanics.broken_config}:{mechanics.broken_line}: mode is 'enforced'" in mechanics.run.output


def test_an_engine_that_does_not_answer_blocks_but_leaves_the_task_to_its_retries(
    mechanics: Mechanics,
) -> None:
    assert mechanics.run.tasks("kaitiaki_engine_down") == {
        "waits_for_engine": {"state": "failed", "try_number": 2},
        "after_engine": {"state": "upstream_failed", "try_number": 0},
    }
    records = mechanics.runtime_records("airflow:kaitiaki_engine_down.waits_for_engine")
    assert [(r["labels"]["try_number"], [v["rule"] for v in r["result"]["violations"]]) for r in records] == [
        ("1", ["SYS-02"]),
        ("2", ["SYS-02"]),
    ]
    assert "The policy engine gave no answer; the task's retries apply." in mechanics.run.output
