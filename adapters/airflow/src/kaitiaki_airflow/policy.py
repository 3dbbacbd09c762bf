"""kaitiaki's Airflow cluster policy (entry point ``airflow.policy`` → this module).

Airflow imports this module in every process at ``import airflow``, so it imports nothing but
Airflow's hook marker and a regex: kaitiaki, sqlglot and the Rego engine load on the first SQL
task a process meets. For every task that runs SQL, :func:`task_policy` chains the runtime guard
(checks the rendered SQL just before execution) and runs the parse-time check of literal SQL.
"""

from __future__ import annotations

from typing import Any

from airflow.policies import hookimpl

from kaitiaki_airflow.sqlfields import is_sql_task


@hookimpl
def task_policy(task: Any) -> None:
    """Guard every SQL task when Airflow loads its DAG (scheduler, DAG processor and task runner)."""
    if not is_sql_task(task):
        return
    from kaitiaki_airflow.parse_time import check_at_parse
    from kaitiaki_airflow.runtime import install_guard

    install_guard(task)
    check_at_parse(task)
