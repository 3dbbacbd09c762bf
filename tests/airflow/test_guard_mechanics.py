"""The runtime guard's mechanics under real Airflow 3 (``dags/guard_mechanics.py``).

The author's own pre-execute hook runs after an allowed check and never after a denial; an
unknown connection type and a broken kaitiaki.yaml fail the task closed on its first try; each
mapped copy is checked on its own rendered SQL; a team's own operator is guarded because it has
a ``sql`` template field.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.airflow.conftest import EXAMPLE_DAGS, TEST_DAGS, AirflowRun, Scenario
from tests.airflow.warehouse import query

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def mechanics(new_scenario: Callable[[str], Scenario], name: str) -> Scenario:
    scenario = new_scenario(name)
    shutil.copy(TEST_DAGS / "guard_mechanics.py", scenario.dags)
    shutil.copy(EXAMPLE_DAGS / "kaitiaki.yaml", scenario.dags)
    markers = scenario.home / "markers"
    markers.mkdir()
    scenario.env["KT_MARKERS"] = str(markers)
    scenario.env["AIRFLOW_CONN_LEGACY_ODBC"] = '{"conn_type": "odbc", "host": "legacy-dsn"}'
    return scenario


def states(run: AirflowRun, dag_id: str) -> dict[str, str]:
    return {task: state["state"] for task, state in run.tasks(dag_id).items()}


@pytest.fixture(scope="module")
def enforced(new_scenario: Callable[[str], Scenario]) -> tuple[Scenario, AirflowRun]:
    scenario = mechanics(new_scenario, "mechanics-enforce")
    run = scenario.load_and_run(
        {"dag_id": "kaitiaki_author_hook"},
        {"dag_id": "kaitiaki_unknown_connection"},
        {"dag_id": "kaitiaki_mapped"},
        {"dag_id": "kaitiaki_custom_operator"},
    )
    return scenario, run


def test_the_authors_hook_runs_after_an_allowed_check_and_never_after_a_denial(
    enforced: tuple[Scenario, AirflowRun],
) -> None:
    scenario, run = enforced
    assert states(run, "kaitiaki_author_hook") == {
        "allowed_with_hook": "success",
        "denied_with_hook": "failed",
    }
    assert sorted(p.name for p in Path(scenario.env["KT_MARKERS"]).iterdir()) == ["allowed_with_hook"]


def test_an_unknown_connection_type_fails_closed_on_the_first_try(
    enforced: tuple[Scenario, AirflowRun],
) -> None:
    _, run = enforced
    assert run.tasks("kaitiaki_unknown_connection") == {
        "on_unknown_connection": {"state": "failed", "try_number": 1},
        "after_unknown": {"state": "upstream_failed", "try_number": 0},
    }
    assert "connection 'legacy_odbc' has type 'odbc'" in run.output


def test_each_mapped_copy_is_checked_on_its_own_rendered_sql(enforced: tuple[Scenario, AirflowRun]) -> None:
    _, run = enforced
    assert states(run, "kaitiaki_mapped") == {"mapped_sql[0]": "success", "mapped_sql[1]": "failed"}


def test_a_custom_operator_with_a_sql_field_is_guarded(enforced: tuple[Scenario, AirflowRun]) -> None:
    scenario, run = enforced
    assert states(run, "kaitiaki_custom_operator") == {"custom_denied": "failed"}
    tables = query(
        scenario.warehouse, "select table_name from information_schema.tables where table_schema = 'msd'"
    )
    assert tables == [("clients",)]


def test_a_broken_config_fails_the_task_closed_naming_file_and_line(
    new_scenario: Callable[[str], Scenario],
) -> None:
    scenario = mechanics(new_scenario, "mechanics-broken-config")
    scenario.edit_config("mode: enforce ", "mode: enforced ")
    config = scenario.dags / "kaitiaki.yaml"
    line = (
        config.read_text(encoding="utf-8")
        .splitlines()
        .index(
            next(text for text in config.read_text(encoding="utf-8").splitlines() if text.startswith("mode:"))
        )
    )
    run = scenario.load_and_run({"dag_id": "kaitiaki_author_hook"})
    assert run.tasks("kaitiaki_author_hook")["allowed_with_hook"] == {"state": "failed", "try_number": 1}
    assert not list(Path(scenario.env["KT_MARKERS"]).iterdir())
    assert f"{config}:{line + 1}: mode is 'enforced'" in run.output
