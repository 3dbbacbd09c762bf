"""The generic reader: any operator with a ``sql`` field (``sql1``, ``sql2``…), templated or not.

``SQLExecuteQueryOperator`` and every provider subclass (Trino, Postgres, DuckDB…), the
common-sql check operators, and a team's own operator that keeps its SQL in a ``sql`` field.
Asked last: a provider family's reader knows its operators better.
"""

from __future__ import annotations

import re
from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import arguments, held, is_mapped

SQL_FIELD = re.compile(r"sql\d*")


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    fields = sql_fields(task)
    if not fields:
        return None
    conn = conn_id_of(task)
    return TaskSql(
        values=tuple(held(task, name) for name in fields),
        fields=fields,
        conn_ids=(conn,) if conn else (),
        provider="sql field",
    )


def sql_fields(task: Any) -> tuple[str, ...]:
    """The template fields named ``sql``/``sqlN``; when none is, any argument that is: a subclass
    that drops ``sql`` from its template fields still runs it."""
    names = [name for name in getattr(task, "template_fields", ()) if SQL_FIELD.fullmatch(name)]
    if names:
        return tuple(names)
    for found in arguments(task):
        names += [name for name in found if SQL_FIELD.fullmatch(name) and name not in names]
    return tuple(names)


def conn_id_of(task: Any) -> str | None:
    """``conn_id_field`` (common-sql, default ``conn_id``), else the operator's one ``*_conn_id``."""
    field = getattr(task, "conn_id_field", None) or "conn_id"
    source = task.partial_kwargs if is_mapped(task) else vars(task)
    value = source.get(field)
    if isinstance(value, str) and value:
        return value
    candidates = {v for k, v in source.items() if k.endswith("_conn_id") and isinstance(v, str) and v}
    return candidates.pop() if len(candidates) == 1 else None
