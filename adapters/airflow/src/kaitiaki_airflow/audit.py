"""``kaitiaki airflow audit --dags-folder DIR``: every task, guarded or not, and why.

Loads the folder as Airflow's DAG processor does (``DagBag``, the cluster policy applied) and
prints one row per task: ``guarded`` (a reader found its SQL, and where), ``no-sql`` (runs no
code of the DAG author's), ``allowlisted`` (kaitiaki.yaml's ``airflow.unguarded_allow``) or
``unguarded`` and why. Exit 1 when a task is unguarded or a file does not import, so CI can
hold the line; 0 otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from kaitiaki_airflow.unguarded import UNGUARDED, Coverage, coverage, qualified


@click.group("airflow")
def airflow_group() -> None:
    """Apache Airflow: what the cluster policy guards."""


@airflow_group.command("audit")
@click.option(
    "--dags-folder",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The DAGs folder (or one DAG file) to load, as the DAG processor would.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def audit(dags_folder: Path, fmt: str) -> None:
    """List every task: guarded, no-sql, allowlisted, or unguarded and why."""
    rows, import_errors = audit_rows(dags_folder)
    if fmt == "json":
        click.echo(json.dumps({"tasks": rows, "import_errors": import_errors}, indent=2))
    else:
        click.echo(render_text(rows, import_errors))
    if import_errors or any(row["status"] == UNGUARDED for row in rows):
        raise SystemExit(1)


def audit_rows(dags_folder: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """One row per task of every DAG in the folder, and the files that did not import."""
    from airflow.dag_processing.dagbag import DagBag

    with stdout_to_stderr():
        bag = DagBag(dag_folder=str(dags_folder))
    rows = [
        row_of(task)
        for dag_id in sorted(bag.dag_ids)
        for task in sorted(bag.get_dag(dag_id).tasks, key=lambda t: t.task_id)
    ]
    errors = {str(path): str(error).strip().splitlines()[-1] for path, error in bag.import_errors.items()}
    return rows, errors


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Airflow's and the DAG files' own output goes to stderr: stdout carries only the audit."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def row_of(task: Any) -> dict[str, str]:
    found = task_coverage(task)
    return {
        "task": f"{task.dag.dag_id}.{task.task_id}",
        "operator": qualified(task),
        "status": found.status,
        "why": found.reason,
        "dag_file": str(task.dag.fileloc),
    }


def task_coverage(task: Any) -> Coverage:
    """The task's coverage under its own kaitiaki.yaml (one that cannot be read: an error row)."""
    from kaitiaki_airflow.gates import config_path_for, parse_gate_for
    from kaitiaki_airflow.locate import locate

    try:
        settings = parse_gate_for(config_path_for(task)).settings
    except Exception as exc:
        return Coverage("error", f"its kaitiaki.yaml cannot be read: {exc}")
    return coverage(task, locate(task), settings)


def render_text(rows: list[dict[str, str]], import_errors: dict[str, str]) -> str:
    width = max((len(row["task"]) for row in rows), default=4)
    lines = [
        f"{row['status']:<12} {row['task']:<{width}}  {row['operator'].rsplit('.', 1)[-1]}: {row['why']}"
        for row in rows
    ]
    lines += [f"{'import-error':<12} {path}: {error}" for path, error in sorted(import_errors.items())]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines.append(
        f"{len(rows)} tasks: {summary or 'none'}"
        + (f"; {len(import_errors)} files did not import" if import_errors else "")
    )
    return "\n".join(lines)
