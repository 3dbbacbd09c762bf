"""Load kaitiaki's code in an Airflow process just before it forks, so the child starts with it.

On Linux, Airflow 3 runs each task in a process *forked* from its supervisor (the local
executor's worker, a Celery worker's pool process, a Kubernetes pod's ``execute_workload``), and
the DAG processor forks one process per file it parses. A forked child shares its parent's
imported modules, so importing sqlglot, the analysis, the gate and the engine bindings once in
the parent spares every task process that cost (about half of its first check). Only code is
loaded here, never state: kaitiaki.yaml, the policies and the engine are read and built in the
child, as before, so an edited kaitiaki.yaml or policy is seen by the next task without a
restart. ``[kaitiaki] warm_before_fork = False`` turns it off; macOS task processes, which Airflow
starts with ``exec``, load everything themselves either way.
"""

from __future__ import annotations

import importlib
import logging
import time

LOG = logging.getLogger("kaitiaki.airflow")

CODE = (
    "sqlglot",
    "sqlglot.optimizer.qualify",
    "sqlglot.optimizer.scope",
    "kaitiaki.analysis.analyze",
    "kaitiaki.gate",
    "kaitiaki.engine.embedded",
    "kaitiaki.report.explain",
    "kaitiaki.report.sinks",
    "kaitiaki_airflow.runtime",
    "kaitiaki_airflow.parse_time",
    "regorus",
)
_state = {"done": False}


def warm_before_fork() -> None:
    """``os.register_at_fork(before=…)``: import :data:`CODE` once per process, never raise.

    A failure (a missing optional module) only means the child imports it itself, as it would
    without warming; it is logged at DEBUG and not retried on the next fork.
    """
    if _state["done"]:
        return
    _state["done"] = True
    try:
        if not enabled():
            return
        from kaitiaki_airflow.locate import plugin_manager

        started = time.perf_counter()
        for name in CODE:
            importlib.import_module(name)
        plugin_manager()
        LOG.info(
            "kaitiaki: loaded its code before this process forks (%.0f ms), so the processes it "
            "forks start with it; [kaitiaki] warm_before_fork = False turns this off.",
            (time.perf_counter() - started) * 1000,
        )
    except Exception as exc:
        LOG.debug("kaitiaki did not load its code before fork: %s: %s", type(exc).__name__, exc)


def enabled() -> bool:
    """``[kaitiaki] warm_before_fork`` (default True)."""
    from airflow.configuration import conf

    return bool(conf.getboolean("kaitiaki", "warm_before_fork", fallback=True))
