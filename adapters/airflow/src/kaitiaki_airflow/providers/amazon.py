"""amazon: Athena, Redshift (Data API and UNLOAD) and SQL-to-S3 transfers.

``AthenaOperator.query`` (Athena SQL), ``SqlToS3Operator.query`` (any SQL connection),
``RedshiftToS3Operator.select_query`` (or ``SELECT * FROM schema.table`` when only a table is
named, as the operator itself builds it), ``ExasolToS3Operator.query_or_table`` (a table name
is read as the ``SELECT *`` Exasol exports), ``RedshiftDataOperator.sql`` (an AWS connection, so
the dialect is Redshift's, not the connection's).
"""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

PACKAGE = "airflow.providers.amazon.aws"
ATHENA = frozenset({f"{PACKAGE}.operators.athena.AthenaOperator"})
SQL_TO_S3 = frozenset({f"{PACKAGE}.transfers.sql_to_s3.SqlToS3Operator"})
REDSHIFT_TO_S3 = frozenset({f"{PACKAGE}.transfers.redshift_to_s3.RedshiftToS3Operator"})
REDSHIFT_DATA = frozenset({f"{PACKAGE}.operators.redshift_data.RedshiftDataOperator"})
EXASOL_TO_S3 = frozenset({f"{PACKAGE}.transfers.exasol_to_s3.ExasolToS3Operator"})


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if is_one_of(task, ATHENA):
        return TaskSql(
            values=(held(task, "query"),),
            fields=("query",),
            conn_ids=held_conn(task, "aws_conn_id"),
            dialect="athena",
            provider="amazon",
        )
    if is_one_of(task, SQL_TO_S3):
        return TaskSql(
            values=(held(task, "query"),),
            fields=("query",),
            conn_ids=held_conn(task, "sql_conn_id"),
            provider="amazon",
        )
    if is_one_of(task, REDSHIFT_TO_S3):
        return TaskSql(
            values=(unload_query(task),),
            fields=("select_query",),
            conn_ids=held_conn(task, "redshift_conn_id"),
            dialect="redshift",
            provider="amazon",
        )
    if is_one_of(task, EXASOL_TO_S3):
        return TaskSql(
            values=(query_or_table(held(task, "query_or_table")),),
            fields=("query_or_table",),
            conn_ids=held_conn(task, "exasol_conn_id"),
            dialect="exasol",
            provider="amazon",
        )
    if is_one_of(task, REDSHIFT_DATA):
        return TaskSql(
            values=(held(task, "sql"),),
            fields=("sql",),
            conn_ids=held_conn(task, "aws_conn_id"),
            dialect="redshift",
            provider="amazon",
        )
    return None


def unload_query(task: Any) -> Any:
    """``select_query``, else the ``SELECT *`` the operator unloads when only a table is named."""
    query = held(task, "select_query")
    table, schema = held(task, "table"), held(task, "schema")
    if query or not isinstance(table, str) or not table:
        return query
    return (
        f"SELECT * FROM {schema}.{table}" if isinstance(schema, str) and schema else f"SELECT * FROM {table}"
    )


def query_or_table(value: Any) -> Any:
    """A query as it is; a bare table name (one word, no Jinja) as ``SELECT * FROM`` it."""
    if isinstance(value, str) and value.strip() and len(value.split()) == 1 and "{" not in value:
        return f"SELECT * FROM {value.strip()}"
    return value
