"""One Gate per kaitiaki.yaml per process, and the decision for one Airflow task.

Everything heavy (sqlglot, the Rego engine, the policies) is imported and built here on the
first decision a process makes, never when Airflow imports the policy module: a scheduler or
API server that never runs SQL tasks never pays for it, and a worker pays once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaitiaki.errors import KaitiakiError
from kaitiaki_airflow.dialects import CONN_TYPE_DIALECTS, dialect_for, provider_dialect
from kaitiaki_airflow.tasks import dag_file, declared, job_for_task, task_name

if TYPE_CHECKING:
    from kaitiaki.config import Settings
    from kaitiaki.gate import Gate
    from kaitiaki.model import TaskSql, Verdict

LOG = logging.getLogger("kaitiaki.airflow")
ENTRY_POINT = "airflow"


class SettledAtRun(KaitiakiError):
    """What only a task's run can settle (a connection the DAG processor cannot read): the
    parse-time check leaves it to the runtime guard, even with ``parse_time_check: block``."""


def airflow_option(section: str, key: str) -> str | None:
    """A value from airflow.cfg (or its ``AIRFLOW__SECTION__KEY`` variable); None when unset."""
    from airflow.configuration import conf

    value = conf.get(section, key, fallback=None)
    return str(value) if value else None


def config_path_for(task: Any) -> Path | None:
    """kaitiaki.yaml: ``[kaitiaki] config``, else ``$KAITIAKI_CONFIG``, else up from the DAG file.

    A relative ``[kaitiaki] config`` is relative to ``$AIRFLOW_HOME``. None: no file anywhere
    (the bundled policies with defaults apply).
    """
    from kaitiaki.config import find_config

    explicit: Path | None = None
    configured = airflow_option("kaitiaki", "config")
    if configured:
        explicit = Path(configured).expanduser()
        if not explicit.is_absolute():
            explicit = airflow_home() / explicit
    fileloc = dag_file(task)
    start = Path(fileloc).parent if fileloc else None
    found = find_config(explicit, start=start)
    return found.resolve() if found else None


@lru_cache(maxsize=16)
def settings_for(config: Path | None) -> Settings:
    """kaitiaki.yaml's settings (the defaults without a file), read once per process.

    All a task without SQL needs (``unguarded_tasks``): it never imports the gate, sqlglot or
    the policy engine.
    """
    from kaitiaki.config import Settings, load_settings

    return load_settings(config) if config is not None else Settings()


@lru_cache(maxsize=16)
def gate_for(config: Path | None) -> Gate:
    """The runtime Gate for one kaitiaki.yaml, built once per process; its engine loads on first use."""
    settings = settings_for(config)
    if config is None:
        LOG.warning(
            "kaitiaki: no kaitiaki.yaml found ([kaitiaki] config, $KAITIAKI_CONFIG, or above the DAG "
            "file); checking with the bundled policies, no catalog, no purposes and no decision log."
        )
    from kaitiaki.gate import Gate

    return Gate(
        replace(settings, decision_log=decision_log_for(settings.decision_log)), entry_point=ENTRY_POINT
    )


def decision_log_for(configured: Path | str | None) -> Path | str | None:
    """``[kaitiaki] decision_log`` when set; else kaitiaki.yaml's, moved out of the DAGs folder.

    The DAGs folder is read-only under git-sync or in a baked image, and shared by every DAG
    author: a log there is either lost or writable by the people it records.
    """
    override = airflow_option("kaitiaki", "decision_log")
    if override:
        if override == "stdout" or override.startswith(("http://", "https://")):
            return override
        return Path(override).expanduser()
    dags = airflow_option("core", "dags_folder")
    if not isinstance(configured, Path) or not dags or not configured.is_relative_to(Path(dags).resolve()):
        return configured
    moved = airflow_home() / "logs" / "kaitiaki" / "decisions.jsonl"
    LOG.warning(
        "kaitiaki: the decision log %s is inside the DAGs folder; writing it to %s instead "
        "([kaitiaki] decision_log chooses another place).",
        configured,
        moved,
    )
    return moved


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()


@lru_cache(maxsize=16)
def parse_gate_for(config: Path | None) -> Gate:
    """The parse-time Gate: same settings and engine, but nothing written to the decision log.

    Airflow re-parses every DAG file every few seconds; its previews are not decisions about a
    run, and logging them would bury the runtime records.
    """
    from kaitiaki.gate import Gate

    runtime = gate_for(config)
    settings = replace(runtime.settings, decision_log=None)
    return Gate(settings, engine=runtime.engine, entry_point=ENTRY_POINT)


def connection(conn_id: str) -> Any:
    """An Airflow connection, from whatever backend the process uses."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise SettledAtRun(
            f"connection {conn_id!r} could not be read ({type(exc).__name__}), so kaitiaki cannot tell "
            "which SQL dialect the task speaks.",
            hint="define the connection, or name the dialect in the task's params.",
        ) from None


def connection_dialect(conn: Any) -> str | None:
    """What the connection's own hook says it speaks, else the connection-type table's answer."""
    try:
        named = conn.get_hook().get_openlineage_database_dialect(conn)
    except Exception:  # no provider for the type, or a hook without the method: the table decides
        named = None
    from_hook = provider_dialect(named if isinstance(named, str) else None)
    return from_hook or CONN_TYPE_DIALECTS.get(str(conn.conn_type or "").lower())


def spoken_dialect(task: Any, located: TaskSql) -> tuple[str | None, str | None]:
    """(dialect, conn_type): the operator's own dialect, else its connections'; every connection a
    task uses must speak the same one (a transfer runs SQL on both ends)."""
    if located.dialect:
        return located.dialect, None
    conns = [connection(conn_id) for conn_id in located.conn_ids]
    spoken = {conn.conn_id: connection_dialect(conn) for conn in conns}
    if len(set(spoken.values())) > 1:
        found = ", ".join(f"{c!r} speaks {d or 'no known dialect'}" for c, d in spoken.items())
        raise KaitiakiError(
            f"the connections of {task_name(task)} speak different dialects ({found}); kaitiaki reads "
            "the task's SQL in one, so it does not run.",
            hint="split the task, or use connections of one database type.",
        )
    conn_type = str(conns[0].conn_type or "") if conns else None
    return (next(iter(spoken.values())) if spoken else None), conn_type


def task_dialect(task: Any, declaration: Mapping[str, Any]) -> str | None:
    """A dialect the DAG author named in ``params["kaitiaki"]["dialect"]``, validated."""
    from kaitiaki.analysis.dialects import normalise_dialect

    named = declaration.get("dialect")
    if not named:
        return None
    try:
        return normalise_dialect(str(named))
    except ValueError as exc:
        raise KaitiakiError(f"{exc} ({task_name(task)}).", path=dag_file(task)) from None


def decide_task(task: Any, *, gate: Gate, located: TaskSql, sql: str, labels: Mapping[str, str]) -> Verdict:
    """The gate's verdict on one task's SQL; KaitiakiError when it cannot even be asked."""
    declaration = declared(task)
    spoken, conn_type = spoken_dialect(task, located)
    dialect = dialect_for(
        spoken=spoken,
        conn_type=conn_type,
        task_dialect=task_dialect(task, declaration),
        configured_dialect=gate.settings.dialect,
        conn_id=located.conn_id,
        where=task_name(task),
    )
    job = job_for_task(
        task,
        sql=sql,
        dialect=dialect,
        conn_id=located.conn_id,
        conn_type=conn_type,
        settings=gate.settings,
        default_owner=airflow_option("operators", "default_owner") or "airflow",
    )
    read_as = {"dialect": dialect, "sql_fields": ",".join(located.fields), "reader": located.provider}
    return gate.decide(job, labels={**labels, **read_as})


def rules_of(verdict: Verdict) -> str:
    """``PM-03 Use within the purpose, SV-01 …`` for one-line summaries (each rule once)."""
    rules = dict.fromkeys(f"{v.rule} {v.title}" for v in verdict.decision.violations if not v.waived)
    return ", ".join(rules) or "none"
