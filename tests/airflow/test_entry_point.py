"""The policy reaches Airflow as a package would in a deployment: the installed entry point."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.airflow.conftest import airflow_env

pytestmark = pytest.mark.airflow

HEAVY_MODULES = (
    "kaitiaki",
    "kaitiaki.gate",
    "sqlglot",
    "regorus",
    "kaitiaki_airflow.gates",
    "kaitiaki_airflow.tasks",
)


def test_the_distribution_declares_the_airflow_policy_entry_point() -> None:
    (entry,) = [ep for ep in entry_points(group="airflow.policy") if ep.name == "kaitiaki"]
    assert entry.value == "kaitiaki_airflow.policy"
    assert entry.dist is not None and entry.dist.name == "kaitiaki-airflow"


def test_airflow_registers_the_task_policy_when_it_is_imported() -> None:
    from airflow import settings

    manager = settings.get_policy_plugin_manager()
    plugin = manager.get_plugin("kaitiaki")
    assert plugin is not None and plugin.__name__ == "kaitiaki_airflow.policy"
    assert "task_policy" in {hook.name for hook in manager.get_hookcallers(plugin) or []}


def test_import_airflow_does_not_load_kaitiaki_sqlglot_or_the_engine(tmp_path: Path) -> None:
    """Every Airflow process pays for the policy module: it must stay a hook marker and a regex."""
    probe = "import sys, airflow; print(' '.join(m for m in sys.argv[1:] if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe, "kaitiaki_airflow.policy", *HEAVY_MODULES],
        env=airflow_env(tmp_path, tmp_path / "dags"),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert done.stdout.split() == ["kaitiaki_airflow.policy"]


PARSE_IN_TASK_PROCESS = """
import os, sys
import airflow
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.settings import get_policy_plugin_manager
with DAG("kt_parse", schedule=None) as dag:
    tasks = [
        SQLExecuteQueryOperator(task_id="counted", conn_id="wh", sql="select count(*) from msd.clients"),
        PythonOperator(task_id="python", python_callable=print),
    ]
dag.fileloc = os.path.join(os.environ["AIRFLOW__CORE__DAGS_FOLDER"], "kt_parse.py")
os.environ["_AIRFLOW_PARSING_CONTEXT_TASK_ID"] = "python"
for task in tasks:
    get_policy_plugin_manager().hook.task_policy(task=task)
assert getattr(tasks[0], "_kaitiaki_declared", None) is not None, "the SQL task was not guarded"
print(" ".join(m for m in sys.argv[1:] if m in sys.modules))
"""


def test_a_task_process_parsing_its_dag_imports_no_sqlglot_gate_or_engine(tmp_path: Path) -> None:
    """A task process parses its whole DAG file: guarding the SQL tasks in it and looking at the
    others must not cost it the analysis, the gate or the engine; only a check does."""
    (tmp_path / "dags").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", PARSE_IN_TASK_PROCESS, "kaitiaki_airflow.runtime", *HEAVY_MODULES[1:4]],
        env=airflow_env(tmp_path, tmp_path / "dags"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["kaitiaki_airflow.runtime"]


FORK_PROBE = """
import os, sys
import airflow
wanted = sys.argv[1:]
before = [m for m in wanted if m in sys.modules]
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, " ".join(m for m in wanted if m in sys.modules).encode())
    os._exit(0)
os.close(write)
child = os.read(read, 10000).decode()
os.waitpid(pid, 0)
print(" ".join(before) + "|" + child)
"""


@pytest.mark.parametrize("setting", ["", "False"])
def test_a_forked_process_starts_with_kaitiaki_loaded_unless_warm_before_fork_is_off(
    tmp_path: Path, setting: str
) -> None:
    """Airflow forks each task process from its supervisor (Linux): kaitiaki imports its code in
    the parent just before, so the task process does not; ``[kaitiaki] warm_before_fork = False``
    leaves the parent as it was."""
    extra = {"AIRFLOW__KAITIAKI__WARM_BEFORE_FORK": setting} if setting else {}
    done = subprocess.run(
        [sys.executable, "-c", FORK_PROBE, *HEAVY_MODULES[1:4], "kaitiaki.analysis.analyze"],
        env=airflow_env(tmp_path, tmp_path / "dags", extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    before, child = done.stdout.strip().splitlines()[-1].split("|")  # after any log lines
    assert before == ""
    expected = [] if setting == "False" else [*HEAVY_MODULES[1:4], "kaitiaki.analysis.analyze"]
    assert child.split() == expected
