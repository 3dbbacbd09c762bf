"""Real Airflow 3 for the adapter's tests, in throwaway AIRFLOW_HOMEs.

Importing airflow reads (and creates) ``$AIRFLOW_HOME``, ``~/airflow`` by default: the tests
point it at a temporary directory before anything imports airflow. DAG runs happen in
subprocesses (``dag_runner.py``), one per scenario, each with its own home, DAGs folder and
copy of a metadata database migrated once per session.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.dag_runner import RESULT_MARK
from tests.airflow.warehouse import build_warehouse

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "examples" / "nz_social" / "dags"
TEST_DAGS = Path(__file__).resolve().parent / "dags"
RUNNER = Path(__file__).resolve().parent / "dag_runner.py"
BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 600

_IN_PROCESS_HOME = tempfile.mkdtemp(prefix="kaitiaki-airflow-home-")
atexit.register(shutil.rmtree, _IN_PROCESS_HOME, True)
if "airflow" not in sys.modules:
    os.environ["AIRFLOW_HOME"] = _IN_PROCESS_HOME
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(_IN_PROCESS_HOME) / "dags")
os.environ.setdefault("RUST_BACKTRACE", "0")
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")


def airflow_env(home: Path, dags: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of one Airflow scenario; nothing inherited names another kaitiaki.yaml."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KAITIAKI_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": str(REPO),
            "RUST_BACKTRACE": "0",
            "RUST_LIB_BACKTRACE": "0",
        }
    )
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``airflow db migrate`` once per session; each scenario starts from a copy of the result."""
    home = tmp_path_factory.mktemp("airflow-template")
    dags = home / "dags"
    dags.mkdir()
    subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"],
        env=airflow_env(home, dags),
        check=True,
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
    )
    return home / "airflow.db"


@dataclass
class AirflowRun:
    """What one subprocess saw: its parsed result and everything it logged."""

    result: dict[str, Any]
    output: str

    def run(self, dag_id: str) -> dict[str, Any]:
        (found,) = [r for r in self.result["runs"] if r["dag_id"] == dag_id]
        return dict(found)

    def tasks(self, dag_id: str) -> dict[str, dict[str, Any]]:
        return dict(self.run(dag_id)["tasks"])


@dataclass
class Scenario:
    """An AIRFLOW_HOME with a DAGs folder, a warehouse and connections, ready to run DAGs."""

    home: Path
    dags: Path
    warehouse: Path
    env: dict[str, str] = field(default_factory=dict)

    def add_dags(self, source: Path) -> None:
        for path in source.iterdir():
            if path.is_file() and path.suffix in (".py", ".yaml"):
                shutil.copy(path, self.dags / path.name)

    def edit_config(self, old: str, new: str) -> None:
        config = self.dags / "kaitiaki.yaml"
        text = config.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {config}"
        config.write_text(text.replace(old, new), encoding="utf-8")

    def decision_log(self) -> list[dict[str, Any]]:
        """The decision records: the kaitiaki.yaml files in the DAGs folder name a log beside them,
        which the adapter moves out of the DAGs folder to ``$AIRFLOW_HOME/logs/kaitiaki``."""
        path = self.home / "logs" / "kaitiaki" / "decisions.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def load_and_run(self, *runs: dict[str, Any], sync: bool = False) -> AirflowRun:
        """Load the DAGs folder and run each DAG given, once, in one fresh process.

        ``sync`` also writes the parse to the metadata database, as the DAG processor does.

        Once: ``dag.test()`` renders templates onto the DAG's own task objects, so a second run of
        the same DAG in one process would execute the first run's rendered SQL.
        """
        dag_ids = [run["dag_id"] for run in runs]
        assert len(set(dag_ids)) == len(dag_ids), "run each DAG once per process"
        spec = json.dumps({"dags_folder": str(self.dags), "runs": list(runs), "sync": sync})
        done = subprocess.run(
            [sys.executable, str(RUNNER), spec],
            env=airflow_env(self.home, self.dags, self.env),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        output = done.stdout + done.stderr
        marked = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
        assert done.returncode == 0 and marked, f"dag_runner failed ({done.returncode}):\n{output[-6000:]}"
        return AirflowRun(result=json.loads(marked[-1][len(RESULT_MARK) :]), output=output)


@pytest.fixture(scope="session")
def new_scenario(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Callable[[str], Scenario]:
    """Make a fresh scenario: its own home (a copy of the migrated database) and warehouse."""

    def make(name: str) -> Scenario:
        root = tmp_path_factory.mktemp(name)
        home = root / "airflow"
        dags = home / "dags"
        dags.mkdir(parents=True)
        shutil.copy(migrated_db, home / "airflow.db")
        warehouse = build_warehouse(root / "nz_social.duckdb")
        conn = json.dumps({"conn_type": "duckdb", "host": str(warehouse)})
        return Scenario(
            home=home, dags=dags, warehouse=warehouse, env={"AIRFLOW_CONN_NZ_SOCIAL_DUCKDB": conn}
        )

    return make
