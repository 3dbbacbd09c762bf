"""Load DAGs the way the scheduler does and run them: ``DagBag`` → ``dag.test()``, in a subprocess.

The tests start this file with ``python dag_runner.py SPEC`` in a throwaway AIRFLOW_HOME, so
Airflow's process-wide state never leaks between scenarios. It does not import kaitiaki: the
policy must arrive through the ``airflow.policy`` entry point, exactly as in a deployment.
The last line of stdout is ``KAITIAKI-RESULT <json>``: import errors, the DAGs loaded, which
SQL tasks carry the guard, every run's task states and try numbers and, when asked to sync
like the DAG processor does, what the metadata database then says about each DAG.
"""

from __future__ import annotations

import json
import sys
from typing import Any

RESULT_MARK = "KAITIAKI-RESULT "


def guarded_tasks(bag: Any) -> dict[str, bool]:
    """``dag.task`` → whether its pre-execute hook is kaitiaki's guard, for every SQL task."""
    out = {}
    for dag_id in sorted(bag.dag_ids):
        for task in bag.get_dag(dag_id).tasks:
            if "sql" in getattr(task, "template_fields", ()):
                hook = (
                    task.partial_kwargs.get("pre_execute")
                    if hasattr(task, "partial_kwargs")
                    else task._pre_execute_hook
                )
                out[f"{dag_id}.{task.task_id}"] = bool(getattr(hook, "_kaitiaki_guard", False))
    return out


def run(bag: Any, dag_id: str, conf: dict[str, Any] | None) -> dict[str, Any]:
    dag_run = bag.get_dag(dag_id).test(run_conf=conf)
    tasks = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = {"state": str(ti.state) if ti.state else None, "try_number": ti.try_number}
    return {"dag_id": dag_id, "run_id": dag_run.run_id, "state": str(dag_run.state), "tasks": tasks}


def synced_dag_models() -> dict[str, dict[str, bool]]:
    """Parse the DAGs-folder bundle and write the result to the database, as the DAG processor does."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    bundle = manager.get_bundle("dags-folder")
    bundle.initialize()
    bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
    sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        return {
            model.dag_id: {"stale": bool(model.is_stale), "import_errors": bool(model.has_import_errors)}
            for model in session.query(DagModel)
        }


def main(spec: dict[str, Any]) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=spec["dags_folder"])
    return {
        "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
        "dag_ids": sorted(bag.dag_ids),
        "guarded": guarded_tasks(bag),
        "runs": [run(bag, item["dag_id"], item.get("conf")) for item in spec.get("runs", [])],
        "dag_models": synced_dag_models() if spec.get("sync") else {},
    }


if __name__ == "__main__":
    print(RESULT_MARK + json.dumps(main(json.loads(sys.argv[1]))), flush=True)
