"""Which tasks run SQL: any operator with a ``sql`` template field (``sql1``, ``sql2`` too).

Kept free of kaitiaki imports: Airflow calls the task policy for every task it parses, and a
task without SQL must cost nothing more than this check.
"""

from __future__ import annotations

import re
from typing import Any

SQL_FIELD = re.compile(r"sql\d*")


def sql_fields(task: Any) -> tuple[str, ...]:
    """The template fields that hold SQL: ``sql`` (SQLExecuteQueryOperator and kin) and ``sql1``…"""
    return tuple(name for name in getattr(task, "template_fields", ()) if SQL_FIELD.fullmatch(name))


def is_sql_task(task: Any) -> bool:
    return bool(sql_fields(task))
