"""apache-spark: ``SparkSqlOperator.sql`` runs through ``spark-sql``, so it is Spark SQL whatever
its connection's type."""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

SPARK_SQL = frozenset({"airflow.providers.apache.spark.operators.spark_sql.SparkSqlOperator"})


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if not is_one_of(task, SPARK_SQL):
        return None
    return TaskSql(
        values=(held(task, "sql"),),
        fields=("sql",),
        conn_ids=held_conn(task, "conn_id"),
        dialect="spark",
        provider="apache-spark",
    )
