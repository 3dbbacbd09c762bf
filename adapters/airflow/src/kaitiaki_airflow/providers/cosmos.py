"""astronomer-cosmos: one task per dbt node, decided from the project's manifest by unique_id.

A cosmos task runs dbt, not SQL it holds: the node is ``extra_context["dbt_node_config"]``
(``unique_id``, ``resource_name``), and what dbt runs is the node's compiled SQL. The reader
names the node and the manifest (the operator's ``manifest_filepath``, else
``<project_dir>/target/manifest.json``); the guard decides, through the dbt adapter's checker
and with lineage, what the task's dbt command runs for that node: a model, seed or snapshot and
its hooks, the node's tests that store failing rows and its unit tests (``dbt test``/``build``),
and the project's on-run-start/on-run-end hooks. A task whose ``select`` does not resolve to its
node alone in the manifest, or that names no node, could run other models than the one decided:
it fails closed.

Execution modes: local and virtualenv run dbt on the worker, from the project the guard checks.
The container modes (Kubernetes, Docker, EKS, GKE, ECS, ACI, Cloud Run) run dbt inside an image
kaitiaki cannot look into: the task is decided from the manifest and project files on the
worker (``project_dir``; the reader labels it ``cosmos (<mode> mode)``), which must be the
image's project, or the task fails closed. The watcher modes' producer runs the whole project's
``dbt build`` in one task, which no per-node decision covers: it fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, operator_class

BASE = "cosmos.operators.base.AbstractDbtBase"
DECIDED = ("model", "snapshot", "seed", "source", "test")
FIELD = "dbt node"
ONE_NODE = re.compile(r"(fqn:|source:)?[A-Za-z0-9_.]+")  # a name, fqn: or source: parts; no graph operators


MODULES = "cosmos.operators."
CONTAINER_MODES = {
    "kubernetes": "kubernetes",
    "docker": "docker",
    "aws_eks": "EKS",
    "aws_ecs": "ECS",
    "gcp_gke": "GKE",
    "gcp_cloud_run_job": "Cloud Run",
    "azure_container_instance": "ACI",
    "watcher_kubernetes": "watcher kubernetes",
    "watcher_gcp_gke": "watcher GKE",
}
PRODUCER = "DbtProducerWatcher"


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    cls = operator_class(task)
    if cls is None or BASE not in {f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__}:
        return None
    provider = reader_label(cls)
    if any(c.__qualname__.startswith(PRODUCER) for c in cls.__mro__):
        return TaskSql(values=(), fields=(FIELD,), provider=provider, problem=WHOLE_BUILD)
    extra = held(task, "extra_context")
    node = extra.get("dbt_node_config") if isinstance(extra, Mapping) else None
    if not isinstance(node, Mapping) or not isinstance(node.get("unique_id"), str):
        return TaskSql(values=(), fields=(FIELD,), provider=provider, problem=NO_NODE)
    if node.get("resource_type") not in DECIDED:
        return TaskSql(values=(), fields=(), provider=f"cosmos ({node.get('resource_type')})")
    select = held(task, "select")
    return TaskSql(
        values=(select,),
        fields=(FIELD,),
        provider=provider,
        dbt_node=node["unique_id"],
        manifest=manifest_path(task),
        problem=selection_problem(task, select),
    )


def reader_label(cls: type) -> str:
    """``cosmos``, or ``cosmos (<mode> mode)`` for an operator that runs dbt inside a container."""
    module = cls.__module__.removeprefix(MODULES) if cls.__module__.startswith(MODULES) else ""
    mode = CONTAINER_MODES.get(module)
    return f"cosmos ({mode} mode)" if mode else "cosmos"


def in_container(provider: str | None) -> bool:
    return bool(provider) and str(provider).endswith(" mode)")


WHOLE_BUILD = (
    "the cosmos watcher producer runs the whole project's dbt build in one task, and kaitiaki decides "
    "one dbt node per task (use ExecutionMode.LOCAL, or VIRTUALENV, for one task per model)"
)
NO_NODE = (
    "the cosmos task names no dbt node (extra_context['dbt_node_config']), so kaitiaki cannot tell "
    "which models its dbt command runs"
)


# dbt options that select nodes: in a task's own flags (cosmos appends ``dbt_cmd_flags`` after its
# ``--select``, and dbt adds every selection up) they make dbt run nodes that were not decided.
SELECTING_FLAGS = ("--select", "-s", "--models", "--model", "-m", "--selector", "--inline", "--resource-type")


def selection_problem(task: Any, select: Any) -> str | None:
    """A selection that is not one node's name or ``fqn:`` (the guard resolves it in the manifest),
    or a flag of the task's own that selects more."""
    extra = [f for f in ("selector", "models") if held(task, f)]
    flags = selecting_flags(task)
    if isinstance(select, str) and ONE_NODE.fullmatch(select) and not extra and not flags:
        return None
    shown = [repr(select), *extra, *(f"dbt flag {flag}" for flag in flags)]
    return (
        f"its dbt selection ({', '.join(shown)}) is not one node, so it could run models that were "
        "not decided"
    )


def selecting_flags(task: Any) -> list[str]:
    """The task's own dbt flags that select nodes (a list that cannot be read counts as one)."""
    found: list[str] = []
    for field in ("dbt_cmd_flags", "dbt_cmd_global_flags"):
        flags = held(task, field)
        if flags is None:
            continue
        if not isinstance(flags, list | tuple):
            found.append(f"{field}={flags!r}")
            continue
        for flag in flags:
            option = str(flag).strip().split("=", 1)[0].split(" ", 1)[0]
            if option in SELECTING_FLAGS or short_selecting(option):
                found.append(str(flag).strip())
    return found


def short_selecting(option: str) -> bool:
    """``-sname``, ``-mname`` or ``-xs`` (click reads a short option's value, and short flags
    combined, in one word)."""
    return option.startswith("-") and not option.startswith("--") and bool(set(option[1:]) & {"s", "m"})


def manifest_path(task: Any) -> str | None:
    given = held(task, "manifest_filepath")
    if isinstance(given, (str, Path)) and str(given):
        return str(given)
    project_dir = held(task, "project_dir")
    return str(Path(project_dir) / "target" / "manifest.json") if project_dir else None
