"""mysql: the ``*ToMySqlOperator`` transfers, whose ``mysql_preoperator``/``mysql_postoperator``
run on MySQL while ``sql`` runs on the source (Presto, Trino, Vertica).

kaitiaki reads one task's SQL in one dialect. A transfer without a pre- or post-operator is the
source query alone, read on the source connection (as the generic reader would); one with
either fails closed, saying to move that statement into a task of its own.
"""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

PACKAGE = "airflow.providers.mysql.transfers"
TRANSFERS = frozenset(
    {
        f"{PACKAGE}.presto_to_mysql.PrestoToMySqlOperator",
        f"{PACKAGE}.trino_to_mysql.TrinoToMySqlOperator",
        f"{PACKAGE}.vertica_to_mysql.VerticaToMySqlOperator",
    }
)
SOURCE_CONNECTIONS = ("presto_conn_id", "trino_conn_id", "vertica_conn_id")
ON_MYSQL = ("mysql_preoperator", "mysql_postoperator")


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if not is_one_of(task, TRANSFERS):
        return None
    on_mysql = [name for name in ON_MYSQL if held(task, name)]
    problem = None
    if on_mysql:
        problem = (
            f"its {' and '.join(on_mysql)} runs on MySQL and its sql on another database; kaitiaki reads "
            "a task in one dialect (move the MySQL statement into a SQLExecuteQueryOperator task)"
        )
    return TaskSql(
        values=(held(task, "sql"), *(held(task, name) for name in on_mysql)),
        fields=("sql", *on_mysql),
        conn_ids=held_conn(task, *SOURCE_CONNECTIONS),
        provider="mysql",
        problem=problem,
    )
