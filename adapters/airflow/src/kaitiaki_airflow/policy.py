"""kaitiaki's Airflow cluster policy (entry point ``airflow.policy`` → this module).

Airflow imports this module in every process at ``import airflow``, so it imports nothing but
Airflow's hook marker: kaitiaki loads on the first task a process parses, or just before the
process forks (``warm``: task and DAG-parsing processes are forked, and start with it loaded).
For every task whose SQL a ``kaitiaki_task_sql`` reader finds, :func:`task_policy` chains the
runtime guard (checks the rendered SQL just before execution) and runs the parse-time check of
literal SQL.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.policies import hookimpl


def _warm_before_fork() -> None:
    from kaitiaki_airflow.warm import warm_before_fork

    warm_before_fork()


os.register_at_fork(before=_warm_before_fork)


@hookimpl
def task_policy(task: Any) -> None:
    """Guard every SQL task when Airflow loads its DAG (scheduler, DAG processor and task runner)."""
    from kaitiaki_airflow.locate import locate

    located = locate(task)
    if located is None:
        from kaitiaki_airflow.parse_time import note_unguarded

        note_unguarded(task)
        return
    from kaitiaki_airflow.parse_time import check_at_parse
    from kaitiaki_airflow.runtime import install_guard

    install_guard(task)
    check_at_parse(task, located)
