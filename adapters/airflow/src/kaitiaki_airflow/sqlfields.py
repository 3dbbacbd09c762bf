"""Which tasks run SQL: any operator with a ``sql`` field (``sql1``, ``sql2`` too), templated or not.

Kept free of kaitiaki imports: Airflow calls the task policy for every task it parses, and a
task without SQL must cost nothing more than this check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SQL_FIELD = re.compile(r"sql\d*")


def sql_fields(task: Any) -> tuple[str, ...]:
    """The fields that hold SQL: ``sql`` (SQLExecuteQueryOperator and kin) and ``sql1``…

    The template fields; when none is named so, any attribute (or mapped argument) that is: a
    subclass that drops ``sql`` from its template fields still runs it.
    """
    names = [name for name in getattr(task, "template_fields", ()) if SQL_FIELD.fullmatch(name)]
    if names:
        return tuple(names)
    for held in _arguments(task):
        names += [name for name in held if SQL_FIELD.fullmatch(name) and name not in names]
    return tuple(names)


def _arguments(task: Any) -> list[Mapping[str, Any]]:
    """What the task holds: its attributes, or a mapped task's partial and expanded arguments."""
    if not hasattr(task, "partial_kwargs"):
        return [getattr(task, "__dict__", {})]
    expanded = getattr(getattr(task, "expand_input", None), "value", None)
    return [task.partial_kwargs, expanded if isinstance(expanded, Mapping) else {}]


def is_sql_task(task: Any) -> bool:
    return bool(sql_fields(task))
