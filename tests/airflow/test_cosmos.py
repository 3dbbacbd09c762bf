"""astronomer-cosmos end to end: a DbtTaskGroup over examples/nz_social in real ``dag.test()``.

Each model task is decided through the dbt checker from the compiled manifest (by its node's
unique_id, with lineage); the denied model's task fails before dbt runs, its descendant does
not run, and the allowed models are built in DuckDB.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.airflow.conftest import BIN, RUN_TIMEOUT_S, AirflowRun, Scenario

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nz_social"
COSMOS_DAGS = Path(__file__).resolve().parent / "cosmos_dags"
NOT_COPIED = shutil.ignore_patterns(
    "target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal", ".kaitiaki", "dags"
)


@dataclass(frozen=True)
class CosmosRun:
    scenario: Scenario
    run: AirflowRun
    project: Path
    database: Path

    def states(self) -> dict[str, str | None]:
        """Model name → state (cosmos names a model's task ``<group>.<model>_run``)."""
        tasks = self.run.tasks("kt_cosmos")
        return {key.split(".")[-1].removesuffix("_run"): value["state"] for key, value in tasks.items()}

    def relations(self) -> set[str]:
        connection = duckdb.connect(str(self.database))
        try:
            rows = connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        finally:
            connection.close()
        return {f"{schema}.{name}" for schema, name in rows}


def dbt(project: Path, database: Path, *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "dbt"), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        env={"PATH": str(BIN), "NZ_SOCIAL_DUCKDB": str(database), "HOME": str(project)},
        cwd=project,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def cosmos_run(new_scenario: Callable[[str], Scenario]) -> CosmosRun:
    scenario = new_scenario("cosmos")
    project = shutil.copytree(EXAMPLE, scenario.home / "nz_social", ignore=NOT_COPIED)
    database = project / "nz_social.duckdb"
    dbt(project, database, "seed")
    dbt(project, database, "compile")
    scenario.add_dags(COSMOS_DAGS)
    shutil.copy(EXAMPLE / "kaitiaki.yaml", scenario.dags / "kaitiaki.yaml")
    scenario.env.update(
        {
            "KT_DBT_PROJECT": str(project),
            "KT_DBT_EXECUTABLE": str(BIN / "dbt"),
            "NZ_SOCIAL_DUCKDB": str(database),
        }
    )
    run = scenario.load_and_run({"dag_id": "kt_cosmos"})
    assert run.result["import_errors"] == {}, run.output[-4000:]
    return CosmosRun(scenario, run, project, database)


def test_the_denied_model_fails_and_its_descendant_does_not_run(cosmos_run: CosmosRun) -> None:
    assert cosmos_run.states() == {
        "stg_msd_clients": "success",
        "benefit_uptake_by_region": "success",
        "nhi_benefit_match": "failed",
        "benefit_health_summary": "upstream_failed",
    }, cosmos_run.run.output[-6000:]
    assert "kaitiaki blocked dbt:model.nz_social.nhi_benefit_match" in cosmos_run.run.output


def test_only_the_allowed_models_reach_the_database(cosmos_run: CosmosRun) -> None:
    relations = cosmos_run.relations()
    assert {"staging.stg_msd_clients", "marts.benefit_uptake_by_region"} <= relations
    assert not {"marts.nhi_benefit_match", "marts.benefit_health_summary"} & relations


def test_each_model_task_is_decided_through_the_dbt_checker(cosmos_run: CosmosRun) -> None:
    records = [r for r in cosmos_run.scenario.decision_log() if r["labels"].get("dag_id") == "kt_cosmos"]
    decided = {r["labels"]["job"]: r["result"]["allow"] for r in records}
    assert decided == {
        "dbt:model.nz_social.stg_msd_clients": True,
        "dbt:model.nz_social.benefit_uptake_by_region": True,
        "dbt:model.nz_social.nhi_benefit_match": False,
    }
    denied = next(r for r in records if r["labels"]["job"].endswith("nhi_benefit_match"))
    assert "PM-11" in {v["rule"] for v in denied["result"]["violations"]}
    assert all(r["labels"]["job_kind"] == "dbt_model" and "run_id" in r["labels"] for r in records)
