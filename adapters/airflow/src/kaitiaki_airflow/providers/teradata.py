"""teradata: the TPT operators (``DdlOperator``, ``TdLoadOperator``); Teradata SQL.

``DdlOperator.ddl`` is a list of statements. ``TdLoadOperator`` runs ``select_stmt`` on its
source, else unloads the whole ``source_table`` (read as the ``SELECT *`` it is), and
``insert_stmt`` on its target. Its ``tdload_job_var_file`` holds the job's own settings, which
may name other tables and statements: a task that uses one fails closed. ``TeradataOperator``
keeps a ``sql`` field and is read by the generic reader.
"""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

PACKAGE = "airflow.providers.teradata.operators.tpt"
DDL = frozenset({f"{PACKAGE}.DdlOperator"})
TDLOAD = frozenset({f"{PACKAGE}.TdLoadOperator"})
CONNECTIONS = ("teradata_conn_id", "target_teradata_conn_id")


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if is_one_of(task, DDL):
        return TaskSql(
            values=(held(task, "ddl"),),
            fields=("ddl",),
            conn_ids=held_conn(task, "teradata_conn_id"),
            dialect="teradata",
            provider="teradata",
        )
    if not is_one_of(task, TDLOAD):
        return None
    problem = None
    if held(task, "tdload_job_var_file"):
        problem = "its tdload_job_var_file holds job settings kaitiaki cannot read (tables, statements)"
    return TaskSql(
        values=(source_query(task), held(task, "insert_stmt")),
        fields=("select_stmt", "insert_stmt"),
        conn_ids=held_conn(task, *CONNECTIONS),
        dialect="teradata",
        provider="teradata",
        problem=problem,
    )


def source_query(task: Any) -> Any:
    """``select_stmt``, else the ``SELECT *`` of the whole ``source_table`` the operator exports."""
    query, table = held(task, "select_stmt"), held(task, "source_table")
    if query or not isinstance(table, str) or not table:
        return query
    return f"SELECT * FROM {table}"
