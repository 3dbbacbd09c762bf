"""oracle: ``OracleToOracleOperator`` runs ``source_sql`` on its source and copies the rows.

Both connections are Oracle's; the rows land in ``destination_table``, so the query is read as
the ``INSERT INTO destination_table`` it amounts to (the destination's columns take the query's
order). ``OracleOperator`` keeps a ``sql`` field and is read by the generic reader.
"""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

TRANSFER = frozenset({"airflow.providers.oracle.transfers.oracle_to_oracle.OracleToOracleOperator"})


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if not is_one_of(task, TRANSFER):
        return None
    return TaskSql(
        values=(copy_statement(task),),
        fields=("source_sql",),
        conn_ids=held_conn(task, "oracle_source_conn_id", "oracle_destination_conn_id"),
        dialect="oracle",
        provider="oracle",
    )


def copy_statement(task: Any) -> Any:
    """``INSERT INTO <destination_table> <source_sql>`` when both are text; else ``source_sql``."""
    query, table = held(task, "source_sql"), held(task, "destination_table")
    if isinstance(query, str) and isinstance(table, str) and table.strip():
        return f"INSERT INTO {table}\n{query}"
    return query
