"""databricks: ``DatabricksSqlOperator.sql`` and ``DatabricksSQLStatementsOperator.statement``
(not a template field: its SQL is final in the DAG file). Both speak Databricks SQL."""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

PACKAGE = "airflow.providers.databricks.operators"
SQL_OPERATOR = frozenset({f"{PACKAGE}.databricks_sql.DatabricksSqlOperator"})
STATEMENTS = frozenset({f"{PACKAGE}.databricks.DatabricksSQLStatementsOperator"})


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    field = "sql" if is_one_of(task, SQL_OPERATOR) else "statement" if is_one_of(task, STATEMENTS) else None
    if field is None:
        return None
    return TaskSql(
        values=(held(task, field),),
        fields=(field,),
        conn_ids=held_conn(task, "databricks_conn_id"),
        dialect="databricks",
        provider="databricks",
    )
