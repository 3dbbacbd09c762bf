"""A cosmos task's dbt node, decided by the dbt adapter's checker from the project's manifest.

The model is decided as ``kaitiaki dbt check`` decides it: its compiled SQL, what its parents
produce and the categories that flow into it (lineage). The manifest must be compiled and must
match the project the task runs: a model file whose checksum is not the manifest's means dbt
would run SQL other than what was decided, so the task fails closed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from kaitiaki.errors import KaitiakiError
from kaitiaki_airflow.operators import held
from kaitiaki_airflow.providers.cosmos import in_container
from kaitiaki_airflow.tasks import task_name

if TYPE_CHECKING:
    from kaitiaki_dbt.manifest import DbtProject

    from kaitiaki.config import Settings
    from kaitiaki.gate import Gate
    from kaitiaki.model import Job, TaskSql, Verdict


class RunLabelledGate:
    """The task's gate, with the Airflow run's labels on each decision the dbt checker makes."""

    def __init__(self, gate: Gate, labels: Mapping[str, str], settings: Settings | None = None) -> None:
        self._gate = gate
        self._labels = dict(labels)
        self.settings = settings if settings is not None else gate.settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gate, name)

    def decide(self, job: Job, **kwargs: Any) -> Verdict:
        labels = {**self._labels, **(kwargs.pop("labels", None) or {})}
        return self._gate.decide(job, labels=labels, **kwargs)


def decide_dbt_node(task: Any, *, gate: Gate, located: TaskSql, labels: Mapping[str, str]) -> Verdict:
    """The dbt checker's verdict on the task's node; KaitiakiError when it cannot be reached."""
    try:
        from kaitiaki_dbt.checker import ProjectChecker
        from kaitiaki_dbt.manifest import load_manifest
    except ImportError:
        raise KaitiakiError(
            f"{task_name(task)} runs dbt, and kaitiaki-dbt is not installed to decide its model.",
            hint="install kaitiaki-dbt beside kaitiaki-airflow on the workers.",
        ) from None
    uid = str(located.dbt_node)
    if not located.manifest or not Path(located.manifest).is_file():
        raise KaitiakiError(
            f"the dbt manifest of {task_name(task)} ({located.manifest or 'none named'}) does not exist, so "
            f"kaitiaki cannot decide {uid}.",
            hint="compile the project (dbt compile) and give cosmos the manifest (ProjectConfig).",
        )
    project = load_manifest(Path(located.manifest))
    node = project.node(uid)
    if node is None:
        raise KaitiakiError(f"{uid} is not in the dbt manifest {located.manifest} ({task_name(task)}).")
    require_selects_only(project, str(located.values[0]), uid)
    project_dir = held(task, "project_dir")
    require_current(
        node,
        Path(project_dir) if project_dir else None,
        uid=uid,
        manifest=located.manifest,
        container=located.provider if in_container(located.provider) else None,
    )
    checker = ProjectChecker(
        project,
        cast("Gate", RunLabelledGate(gate, labels, run_time_settings(gate.settings, task))),
        project_dir=Path(project_dir) if project_dir else None,
    )
    verdicts = [v for v in checker.check([uid]) if v.job.meta.get("unique_id") == uid]
    if len(verdicts) != 1:
        raise KaitiakiError(f"the dbt checker gave no verdict on {uid} ({task_name(task)}).")
    return verdicts[0]


def run_time_settings(settings: Settings, task: Any) -> Settings:
    """The settings the checker decides the task's node with. A secret var the task gives dbt
    itself (cosmos ``vars`` or ``env``) is written in the DAG file, so it keys nothing, though
    the manifest was compiled with a value from elsewhere; when what the task gives cannot be
    read (a template, a ``--vars`` flag, an interceptor that may set either), no var does."""
    names = settings.pseudonymisation.secret_vars
    given = [held(task, "vars"), held(task, "env")]
    unknown = (
        bool(held(task, "interceptors"))
        or any("--vars" in str(flag) for flag in held(task, "dbt_cmd_flags") or ())
        or any(value is not None and not isinstance(value, Mapping) for value in given)
    )
    written = {str(key).lower() for value in given if isinstance(value, Mapping) for key in value}
    kept = () if unknown else tuple(name for name in names if name.lower() not in written)
    if kept == names:
        return settings
    return replace(settings, pseudonymisation=replace(settings.pseudonymisation, secret_vars=kept))


def require_selects_only(project: DbtProject, select: str, uid: str) -> None:
    """dbt selects exactly the decided node with ``select`` (a name, or ``fqn:`` parts, which
    dbt matches as a prefix of each node's fqn)."""
    if select.startswith("fqn:"):
        parts = select[len("fqn:") :].split(".")
        chosen = {u for u, n in project.nodes.items() if list(n.get("fqn") or [])[: len(parts)] == parts}
    else:
        chosen = {u for u, n in project.nodes.items() if n.get("name") == select}
    if chosen != {uid}:
        raise KaitiakiError(
            f"the cosmos task selects {select!r}, which in the manifest is {sorted(chosen) or 'nothing'}, "
            f"not {uid} alone: dbt would run what kaitiaki did not decide."
        )


def require_current(
    node: Mapping[str, Any],
    project_dir: Path | None,
    *,
    uid: str,
    manifest: str,
    container: str | None = None,
) -> None:
    """The model file dbt will compile is the one the manifest was compiled from (its checksum).

    ``container``: the reader's label when cosmos runs dbt inside a container image, whose files
    kaitiaki cannot see: the worker's copy of the project stands for the image's.
    """
    checksum = node.get("checksum") or {}
    path = node.get("original_file_path")
    if project_dir is None or not path or checksum.get("name") != "sha256":
        raise KaitiakiError(f"kaitiaki cannot tell whether the manifest's {uid} is the model the task runs.")
    source = project_dir / str(path)
    if container and not source.is_file():
        raise KaitiakiError(
            f"{uid} runs inside a container ({container}), and {source} is not on the worker: kaitiaki "
            "decides a container's model from the manifest and the project files on the worker, so it "
            "cannot tell the model the image runs.",
            hint="put the project the image was built from on the workers at the task's project_dir, "
            "beside its compiled manifest.",
        )
    found = file_checksum(source) if source.is_file() else None
    if found != checksum.get("checksum"):
        raise KaitiakiError(
            f"{source} is not the file the dbt manifest {manifest} was compiled from, so what dbt would run "
            f"is not what kaitiaki can decide ({uid}).",
            hint="compile the project again and ship the new manifest with it.",
        )


def file_checksum(path: Path) -> str:
    """dbt's checksum of a model file: sha256 of its UTF-8 text, stripped of outer whitespace."""
    return hashlib.sha256(path.read_bytes().decode("utf-8").strip().encode("utf-8")).hexdigest()
