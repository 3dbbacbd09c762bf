"""common-sql operators whose SQL is not (only) in ``sql``.

``AnalyticsOperator.queries`` (DataFusion over object stores: no connection tells its dialect,
so the task must name one), ``SQLInsertRowsOperator``'s ``preoperator``/``postoperator``
(the rows themselves are data, not SQL), and ``GenericTransfer``, which reads ``sql`` from the
source connection and runs ``preoperator`` on the destination.
"""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

PACKAGE = "airflow.providers.common.sql.operators"
ANALYTICS = frozenset({f"{PACKAGE}.analytics.AnalyticsOperator"})
INSERT_ROWS = frozenset({f"{PACKAGE}.sql.SQLInsertRowsOperator"})
TRANSFER = frozenset({f"{PACKAGE}.generic_transfer.GenericTransfer"})


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if is_one_of(task, ANALYTICS):
        return TaskSql(values=(held(task, "queries"),), fields=("queries",), provider="common-sql")
    if is_one_of(task, INSERT_ROWS):
        fields = ("preoperator", "postoperator")
        return TaskSql(
            values=tuple(held(task, f) for f in fields),
            fields=fields,
            conn_ids=held_conn(task, "conn_id"),
            provider="common-sql",
        )
    if is_one_of(task, TRANSFER):
        fields = ("preoperator", "sql")
        return TaskSql(
            values=tuple(held(task, f) for f in fields),
            fields=fields,
            conn_ids=held_conn(task, "source_conn_id", "destination_conn_id"),
            provider="common-sql",
        )
    return None
