"""What a cosmos task's dbt command runs beyond its node's SQL is decided too: the node's own
hooks, the project's on-run-start/on-run-end hooks (dbt runs them on every ``dbt run``, ``seed``,
``test``…), a seed's CSV, and the tests that store failing rows and every test's sql_header when
the task is ``dbt test``.
Each leaking route is blocked naming the column; its nearest legitimate twin is allowed, and a
``dbt test`` whose tests store nothing is left to run with nothing to decide.

One real dbt-duckdb project compiled once (a copy recompiled for the project-hook cases),
decided through ``decide_dbt_node`` on real cosmos operators, as the guard does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.errors import KaitiakiError
from tests.airflow.cosmos_project import CONFIG as BASE
from tests.airflow.cosmos_project import dbt_run, write_settings
from tests.airflow.cosmos_project import decide as cosmos_decide

pytestmark = [pytest.mark.airflow, pytest.mark.dbt]

NAME = "kt_routes"
MODELS = {
    "regions": "select region from {{ source('msd', 'clients') }}",
    "hooked_ok": (
        "{{ config(post_hook='create table kt_regions as select region from msd.clients') }}\n"
        "select region from {{ source('msd', 'clients') }}"
    ),
    "hooked_leak": (
        "{{ config(post_hook='create table kt_names as select full_name from msd.clients') }}\n"
        "select region from {{ source('msd', 'clients') }}"
    ),
    "header_leak_tested": "select region from {{ source('msd', 'clients') }}",
    "header_ok_tested": "select region from {{ source('msd', 'clients') }}",
}
TESTS = {
    # copies the names of every client in a region into an audit table when it fails
    "regions_names_stored": (
        "{{ config(store_failures=true) }}\n"
        "select c.full_name from {{ source('msd', 'clients') }} c\n"
        "join {{ ref('regions') }} r on c.region = r.region"
    ),
    # the same check, its failures not stored: it only counts rows
    "hooked_ok_names_counted": (
        "select c.full_name from {{ source('msd', 'clients') }} c\n"
        "join {{ ref('hooked_ok') }} h on c.region = h.region"
    ),
    "hooked_leak_regions_stored": (
        "{{ config(store_failures=true) }}\nselect region from {{ ref('hooked_leak') }} where region is null"
    ),
    # counts rows, but its sql_header copies every client's name
    "header_leak_counted": (
        "{{ config(sql_header='create table kt_header_names as select full_name from msd.clients;') }}\n"
        "select region from {{ ref('header_leak_tested') }} where region is null"
    ),
    # the same test, its header only setting the session
    "header_ok_counted": (
        "{{ config(sql_header='set threads = 1;') }}\n"
        "select region from {{ ref('header_ok_tested') }} where region is null"
    ),
}
SOURCES = """version: 2
sources:
  - name: msd
    schema: msd
    tables:
      - name: clients
        columns:
          - name: region
          - name: full_name
            data_tests: [{not_null: {config: {store_failures: true}}}]
      - name: offices
        columns:
          - name: region
            data_tests: [not_null]
"""
SEEDS = {"people": "full_name,region\nAroha Ngata,north\n", "areas": "region,code\nnorth,1\n"}
CONFIG = {
    **BASE,
    "catalog": {**BASE["catalog"], "msd.offices": {"agency": "msd", "columns": {"region": []}}},
}


def write_project(root: Path, on_run_start: str | None = None) -> None:
    (root / "models").mkdir(parents=True, exist_ok=True)
    for folder in ("tests", "seeds", "macros"):
        (root / folder).mkdir(exist_ok=True)
    purpose = {"+meta": {"kaitiaki": {"purpose": "plan"}}}
    project: dict[str, Any] = {
        "name": NAME,
        "version": "1.0.0",
        "config-version": 2,
        "profile": NAME,
        "models": {NAME: purpose},
        "seeds": {NAME: purpose},
        "data_tests": {NAME: purpose},
    }
    if on_run_start is not None:
        project["on-run-start"] = [on_run_start]
    (root / "dbt_project.yml").write_text(yaml.safe_dump(project))
    (root / "macros" / "grant_all.sql").write_text("{% macro grant_all() %}select 1{% endmacro %}\n")
    (root / "models" / "sources.yml").write_text(SOURCES)
    for name, sql in MODELS.items():
        (root / "models" / f"{name}.sql").write_text(sql + "\n")
    for name, sql in TESTS.items():
        (root / "tests" / f"{name}.sql").write_text(sql + "\n")
    for name, rows in SEEDS.items():
        (root / "seeds" / f"{name}.csv").write_text(rows)
    write_settings(root, NAME, CONFIG)
    dbt_run(root, "compile")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cosmos_routes")
    write_project(root)
    return root


def decide(project: Path, operator: str, uid: str, select: str) -> Any:
    return cosmos_decide(project, uid, select, operator=operator)


def blocked_on(verdict: Any, column: str) -> str:
    """The blocked verdict's node id, after checking it names ``column``."""
    assert verdict is not None and verdict.blocked, verdict
    assert any(column in " ".join(v.columns) or column in v.message for v in verdict.decision.violations)
    return str(verdict.job.meta.get("unique_id"))


def test_a_models_own_hooks_are_decided_with_it(project: Path) -> None:
    uid = f"model.{NAME}.hooked_leak"
    assert blocked_on(decide(project, "DbtRunLocalOperator", uid, "hooked_leak"), "full_name") == (
        f"{uid}#post-hook.0"
    )
    twin = decide(project, "DbtRunLocalOperator", f"model.{NAME}.hooked_ok", "hooked_ok")
    assert twin.decision.allow is True


def test_a_seed_task_is_decided_as_the_write_of_its_csv(project: Path) -> None:
    uid = f"seed.{NAME}.people"
    assert blocked_on(decide(project, "DbtSeedLocalOperator", uid, "people"), "full_name") == uid
    assert decide(project, "DbtSeedLocalOperator", f"seed.{NAME}.areas", "areas").decision.allow is True


def test_a_test_task_decides_the_tests_that_store_failing_rows(project: Path) -> None:
    stored = f"test.{NAME}.regions_names_stored"
    verdict = decide(project, "DbtTestLocalOperator", f"model.{NAME}.regions", "regions")
    assert blocked_on(verdict, "full_name") == stored
    # the model's run does not run its tests
    assert decide(project, "DbtRunLocalOperator", f"model.{NAME}.regions", "regions").decision.allow is True
    # tests that only count rows write nothing: nothing to decide
    assert decide(project, "DbtTestLocalOperator", f"model.{NAME}.hooked_ok", "hooked_ok") is None
    # a stored test that keeps regions only is allowed
    verdict = decide(project, "DbtTestLocalOperator", f"model.{NAME}.hooked_leak", "hooked_leak")
    assert verdict.decision.allow is True
    assert verdict.job.meta.get("unique_id") == f"test.{NAME}.hooked_leak_regions_stored"


def test_a_test_task_decides_the_sql_header_of_every_test_it_runs(project: Path) -> None:
    """dbt runs a test's sql_header before its query when its REQUIRE_SQL_HEADER_IN_TEST_CONFIGS
    flag is on, which the manifest a task holds cannot show: every test's header is decided,
    stored or not. The leaking header blocks the task; its harmless twin is allowed."""
    uid = f"model.{NAME}.header_leak_tested"
    verdict = decide(project, "DbtTestLocalOperator", uid, "header_leak_tested")
    assert blocked_on(verdict, "full_name") == f"test.{NAME}.header_leak_counted#sql-header.0"
    twin = decide(project, "DbtTestLocalOperator", f"model.{NAME}.header_ok_tested", "header_ok_tested")
    assert twin.decision.allow is True
    assert twin.job.meta.get("unique_id") == f"test.{NAME}.header_ok_counted#sql-header.0"
    # the model's run does not run its tests
    assert decide(project, "DbtRunLocalOperator", uid, "header_leak_tested").decision.allow is True


def test_a_test_header_edited_after_the_compile_fails_closed(tmp_path: Path) -> None:
    """The header decided is the manifest's: when the test's file no longer is the one compiled,
    what dbt would run is not what was decided (the twin: the same task, the file unchanged)."""
    write_project(tmp_path)
    uid = f"model.{NAME}.header_ok_tested"
    assert decide(tmp_path, "DbtTestLocalOperator", uid, "header_ok_tested").decision.allow is True
    test_file = tmp_path / "tests" / "header_ok_counted.sql"
    test_file.write_text(TESTS["header_leak_counted"].replace("header_leak_tested", "header_ok_tested"))
    with pytest.raises(KaitiakiError, match="header_ok_counted"):
        decide(tmp_path, "DbtTestLocalOperator", uid, "header_ok_tested")


def test_a_build_task_decides_the_node_its_hooks_and_its_stored_tests(project: Path) -> None:
    verdict = decide(project, "DbtBuildLocalOperator", f"model.{NAME}.regions", "regions")
    assert blocked_on(verdict, "full_name") == f"test.{NAME}.regions_names_stored"


def test_a_source_test_task_decides_its_stored_tests(project: Path) -> None:
    """dbt's eager selection of ``source:msd.clients`` runs every test that reads the source: its
    generic not_null and the singular test that joins it, both storing names."""
    verdict = decide(project, "DbtTestLocalOperator", f"source.{NAME}.msd.clients", "source:msd.clients")
    stored = blocked_on(verdict, "full_name")
    assert stored.startswith(f"test.{NAME}.source_not_null_msd_clients_full_name") or stored == (
        f"test.{NAME}.regions_names_stored"
    )
    twin = decide(project, "DbtTestLocalOperator", f"source.{NAME}.msd.offices", "source:msd.offices")
    assert twin is None
    with pytest.raises(KaitiakiError, match="dbt would run"):
        decide(project, "DbtTestLocalOperator", f"source.{NAME}.msd.offices", "source:msd")


@pytest.mark.parametrize(
    ("hook", "operations", "outcome"),
    [
        ("create table kt_start as select full_name from msd.clients", [], "full_name"),
        ("create table if not exists kt_start as select region from msd.clients", [], None),
        ("{{ grant_all() }}", [], "only dbt can render"),
        ("{{ grant_all() }}", ["grant_all"], None),
    ],
)
def test_the_projects_on_run_start_hooks_are_decided_on_every_task(
    tmp_path: Path, hook: str, operations: list[str], outcome: str | None
) -> None:
    write_project(tmp_path, on_run_start=hook)
    if operations:
        config = {**CONFIG, "dbt": {"operations": operations}}
        (tmp_path / "kaitiaki.yaml").write_text(yaml.safe_dump(config))
    for operator, uid, select in [
        ("DbtRunLocalOperator", f"model.{NAME}.regions", "regions"),
        ("DbtSeedLocalOperator", f"seed.{NAME}.areas", "areas"),
    ]:
        verdict = decide(tmp_path, operator, uid, select)
        if outcome is None:
            assert verdict.decision.allow is True, verdict.decision.violations
            continue
        assert (
            verdict.blocked and verdict.job.meta.get("unique_id") == f"operation.{NAME}.{NAME}-on-run-start-0"
        )
        assert any(
            outcome in " ".join(v.columns) or outcome in v.message for v in verdict.decision.violations
        )
    # the orchestrators' entry point (a pod per model) decides the project's hooks too
    from kaitiaki_dbt.decide import decide_node

    found = decide_node(
        tmp_path / "target" / "manifest.json", f"model.{NAME}.regions", config=tmp_path / "kaitiaki.yaml"
    )
    assert found.blocked is (outcome is not None)
    assert f"operation.{NAME}.{NAME}-on-run-start-0" in {v.job.meta.get("unique_id") for v in found.verdicts}


@pytest.mark.parametrize(("value", "stored"), [("true", True), ("1", True), ("false", False), ("0", False)])
def test_store_failures_turned_on_by_the_tasks_env_decides_the_tests(
    project: Path, value: str, stored: bool
) -> None:
    """dbt reads --store-failures from DBT_STORE_FAILURES too: a test task whose env sets it makes
    hooked_ok's counting test copy the names it finds into an audit table. It was not decided
    (only the --store-failures flag was read); its twin, the variable set false, still stores
    nothing and has nothing to decide."""
    uid = f"model.{NAME}.hooked_ok"
    env = {"DBT_STORE_FAILURES": value}
    verdict = cosmos_decide(project, uid, "hooked_ok", operator="DbtTestLocalOperator", env=env)
    if stored:
        assert blocked_on(verdict, "full_name") == f"test.{NAME}.hooked_ok_names_counted"
    else:
        assert verdict is None
