"""Small dbt-duckdb projects decided through real cosmos operators, as the guard decides them
(built without Airflow's DAG machinery, as the guard sees a task after rendering): the pieces
the cosmos test modules share."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.airflow.conftest import BIN, RUN_TIMEOUT_S

# kaitiaki.yaml: one MSD table with a region and a person's name, one purpose allowing neither
CONFIG: dict[str, Any] = {
    "agency": "msd",
    "dialect": "duckdb",
    "decision_log": False,
    "catalog": {
        "msd.clients": {"agency": "msd", "columns": {"region": [], "full_name": ["direct_identifier"]}}
    },
    "purposes": {
        "plan": {
            "description": "Plan regional services from regions only",
            "allowed_categories": [],
            "approved_by": "MSD Data Governance Board",
            "expires": "2028-06-30",
        }
    },
}


def write_settings(root: Path, name: str, config: dict[str, Any] = CONFIG) -> None:
    """kaitiaki.yaml and a profiles.yml whose DuckDB file sits in the project."""
    (root / "kaitiaki.yaml").write_text(yaml.safe_dump(config))
    (root / "profiles.yml").write_text(
        f"{name}:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{root / 'kt.duckdb'}'}}\n"
    )


def dbt_run(root: Path, *args: str) -> None:
    """The dbt command ``args`` on the project at ``root``, which must succeed."""
    done = subprocess.run(
        [str(BIN / "dbt"), *args, "--project-dir", str(root), "--profiles-dir", str(root)],
        env={"PATH": str(BIN), "HOME": str(root)},
        cwd=root, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def decide(
    project: Path,
    uid: str,
    select: str,
    *,
    operator: str = "DbtRunLocalOperator",
    manifest: str = "target",
    **given: Any,
) -> Any:
    """The guard's verdict on a cosmos ``operator`` task for the node ``uid`` selected by
    ``select``, with the task arguments ``given``, from ``project/<manifest>/manifest.json``."""
    from airflow.sdk import DAG
    from cosmos.config import ProfileConfig
    from cosmos.operators import local
    from kaitiaki_airflow.dbt_nodes import decide_dbt_node
    from kaitiaki_airflow.gates import gate_for
    from kaitiaki_airflow.locate import locate

    name = uid.split(".")[1]
    profile = ProfileConfig(name, "dev", profiles_yml_filepath=project / "profiles.yml")
    with DAG(name, schedule=None):
        task = getattr(local, operator)(
            task_id=f"{select.rsplit('.', 1)[-1]}_run" if operator == "DbtRunLocalOperator" else operator,
            project_dir=str(project),
            manifest_filepath=str(project / manifest / "manifest.json"),
            profile_config=profile,
            select=select,
            extra_context={"dbt_node_config": {"unique_id": uid, "resource_type": uid.split(".")[0]}},
            **given,
        )
    located = locate(task)
    assert located is not None and located.problem is None, located
    return decide_dbt_node(task, gate=gate_for(project / "kaitiaki.yaml"), located=located, labels={})
