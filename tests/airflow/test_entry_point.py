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
