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
from kaitiaki_airflow.dialects import dialect_for
from kaitiaki_airflow.tasks import conn_id_of, dag_file, declared, job_for_task, task_name

if TYPE_CHECKING:
    from kaitiaki.gate import Gate
    from kaitiaki.model import Verdict

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
            explicit = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / explicit
    fileloc = dag_file(task)
    start = Path(fileloc).parent if fileloc else None
    found = find_config(explicit, start=start)
    return found.resolve() if found else None


@lru_cache(maxsize=16)
def gate_for(config: Path | None) -> Gate:
    """The runtime Gate for one kaitiaki.yaml, built once per process; its engine loads on first use."""
    from kaitiaki.config import Settings, load_settings

    settings = load_settings(config) if config is not None else Settings()
    if config is None:
        LOG.warning(
            "kaitiaki: no kaitiaki.yaml found ([kaitiaki] config, $KAITIAKI_CONFIG, or above the DAG "
            "file); checking with the bundled policies, no catalog, no purposes and no decision log."
        )
    from kaitiaki.gate import Gate

    return Gate(settings, entry_point=ENTRY_POINT)


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


def connection_type(conn_id: str) -> str:
    """The ``conn_type`` of an Airflow connection, from whatever backend the process uses."""
    from airflow.sdk import BaseHook

    try:
        return str(BaseHook.get_connection(conn_id).conn_type or "")
    except Exception as exc:
        raise SettledAtRun(
            f"connection {conn_id!r} could not be read ({type(exc).__name__}), so kaitiaki cannot tell "
            "which SQL dialect the task speaks.",
            hint="define the connection, or name the dialect in the task's params.",
        ) from None


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


def decide_task(task: Any, *, gate: Gate, sql: str, labels: Mapping[str, str]) -> Verdict:
    """The gate's verdict on one task's SQL; KaitiakiError when it cannot even be asked."""
    declaration = declared(task)
    conn_id = conn_id_of(task)
    conn_type = connection_type(conn_id) if conn_id else None
    dialect = dialect_for(
        conn_type=conn_type,
        task_dialect=task_dialect(task, declaration),
        configured_dialect=gate.settings.dialect,
        conn_id=conn_id,
        where=task_name(task),
    )
    job = job_for_task(
        task,
        sql=sql,
        dialect=dialect,
        conn_id=conn_id,
        conn_type=conn_type,
        settings=gate.settings,
        default_owner=airflow_option("operators", "default_owner") or "airflow",
    )
    return gate.decide(job, labels=labels)


def rules_of(verdict: Verdict) -> str:
    """``PM-03 Use within the purpose, SV-01 …`` for one-line summaries (each rule once)."""
    rules = dict.fromkeys(f"{v.rule} {v.title}" for v in verdict.decision.violations if not v.waived)
    return ", ".join(rules) or "none"
