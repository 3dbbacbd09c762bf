"""snowflake: ``SnowflakeSqlApiOperator.sql`` on ``snowflake_conn_id`` (Snowflake SQL)."""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

SQL_API = frozenset({"airflow.providers.snowflake.operators.snowflake.SnowflakeSqlApiOperator"})


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if not is_one_of(task, SQL_API):
        return None
    return TaskSql(
        values=(held(task, "sql"),),
        fields=("sql",),
        conn_ids=held_conn(task, "snowflake_conn_id"),
        dialect="snowflake",
        provider="snowflake",
    )
