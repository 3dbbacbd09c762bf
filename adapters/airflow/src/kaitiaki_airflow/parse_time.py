"""The parse-time check: SQL that is final in the DAG file is checked when the file is parsed.

``airflow: {parse_time_check: off | warn | block}`` in kaitiaki.yaml; ``warn`` (the default)
logs the explanation in the DAG processor's log. ``block`` raises
``AirflowClusterPolicyViolation``, and Airflow records that as an import error of the *whole
file*: every DAG in it stops being scheduled until the SQL is fixed. Only a verdict the gate
would enforce blocks (mode ``enforce``). With ``block``, a check that cannot be made (an invalid
kaitiaki.yaml, a policy that does not compile, an engine that cannot be set up) is an import
error too: the file does not load as if it had passed. Templated SQL, and what only a run can
settle (an unreadable connection), is left to the runtime guard, which always checks the
rendered SQL and fails closed. Task processes skip this check: they re-parse the DAG file only
to run one task, which the runtime guard checks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaitiaki.errors import KaitiakiError
from kaitiaki_airflow.gates import (
    LOG,
    SettledAtRun,
    config_path_for,
    decide_task,
    parse_gate_for,
    rules_of,
    settings_for,
)
from kaitiaki_airflow.tasks import job_id_of, static_sql, task_name

if TYPE_CHECKING:
    from kaitiaki.model import TaskSql, Verdict

TASK_PROCESS_MARK = "_AIRFLOW_PARSING_CONTEXT_TASK_ID"


def in_task_process() -> bool:
    """True while a task runner parses the DAG file to run one task (Airflow's parsing context)."""
    return bool(os.environ.get(TASK_PROCESS_MARK))


def check_at_parse(task: Any, located: TaskSql) -> None:
    """Warn about, or block, a task whose literal SQL the policies deny or (``block``) whose
    check cannot be made; never fail the parse otherwise."""
    if in_task_process():
        return
    try:
        finding = parse_time_finding(task, located)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, KaitiakiError) else f"internal error {type(exc).__name__}: {exc}"
        mode = requested_mode(task)
        if mode == "block" and not isinstance(exc, SettledAtRun):
            raise violation(f"could not check {job_id_of(task)}: {reason.rstrip('.')}.") from None
        LOG.warning(
            "kaitiaki did not check %s at parse time: %s It is checked when it runs, and does not "
            "run unless the check passes.",
            task_name(task),
            reason,
        )
        return
    if finding is None:
        return
    mode, verdict, explanation = finding
    if mode == "block" and verdict.blocked:
        raise violation(f"denies {job_id_of(task)}: {rules_of(verdict)}.", explanation)
    LOG.warning(
        "kaitiaki parse-time check of %s: %s (%s). When it runs, it will be %s.\n%s",
        task_name(task),
        "denied" if not verdict.decision.allow else "findings",
        rules_of(verdict),
        "blocked" if verdict.blocked else "allowed to run",
        explanation,
    )


def violation(what: str, detail: str = "") -> Exception:
    """The import error of a DAG file that ``parse_time_check: block`` does not let load."""
    from airflow.exceptions import AirflowClusterPolicyViolation

    return AirflowClusterPolicyViolation(
        f"kaitiaki (parse_time_check: block) {what} Airflow treats this as an import error of the "
        "whole DAG file, so no DAG in the file is scheduled until it is fixed."
        + (f"\n{detail}" if detail else "")
    )


def requested_mode(task: Any) -> str:
    """``airflow.parse_time_check`` as kaitiaki.yaml asks, read leniently: the file itself may be
    what failed (an invalid setting elsewhere in it must not turn ``block`` into ``warn``)."""
    import yaml

    try:
        path: Path | None = config_path_for(task)
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) if path is not None else None
        value = raw["airflow"]["parse_time_check"]
    except Exception:
        return "warn"
    return value if value in ("off", "warn", "block") else "warn"


def parse_time_finding(task: Any, located: TaskSql) -> tuple[str, Verdict, str] | None:
    """(mode, verdict, explanation) when the task's literal SQL has findings; None otherwise."""
    gate = parse_gate_for(config_path_for(task))
    mode = gate.settings.parse_time_check
    if mode == "off":
        return None
    sql = static_sql(task, located)
    if sql is None or not located.fields or located.dbt_node:
        return None
    labels = {"dag_id": str(task.dag.dag_id), "task_id": str(task.task_id), "stage": "parse"}
    verdict = decide_task(task, gate=gate, located=located, sql=sql, labels=labels)
    if not verdict.decision.violations:
        return None
    from kaitiaki_airflow.runtime import explanation, where

    return mode, verdict, f"{where(verdict)}\n{explanation(verdict)}"


def note_unguarded(task: Any) -> None:
    """A task whose SQL no reader finds: named in the parse log (``warn``), failed when it runs
    (``block``), or let be (``allow``, an allowlisted operator or task, an operator that runs no
    author code). kaitiaki.yaml that cannot be read counts as ``warn`` here: the SQL tasks of the
    same file fail closed on it anyway."""
    from kaitiaki_airflow.unguarded import UNGUARDED, coverage, refuse

    try:
        settings = settings_for(config_path_for(task))
    except Exception:
        from kaitiaki.config import Settings

        settings = Settings()
    found = coverage(task, None, settings)
    if found.status != UNGUARDED or settings.unguarded_tasks == "allow":
        return
    if settings.unguarded_tasks == "block":
        refuse(task, found.reason)
    if not in_task_process():
        LOG.warning(
            "kaitiaki: %s is unguarded (%s). It %s. With unguarded_tasks: %s it %s.",
            task_name(task),
            found.status,
            found.reason,
            settings.unguarded_tasks,
            "does not run" if settings.unguarded_tasks == "block" else "runs unchecked",
        )
