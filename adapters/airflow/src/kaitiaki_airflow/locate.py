"""Where a task keeps its SQL: the ``kaitiaki_task_sql`` hook, asked through kaitiaki's plugin manager.

The Airflow adapter's own readers (one per provider family, ``providers/``) join the plugin
manager the first time a task is located; a plugin of the ``kaitiaki`` entry-point group is
asked before them. A reader that raises does not let the task run unchecked: its error becomes
the located SQL's ``problem``, and the check fails closed.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from kaitiaki_airflow.providers import PROVIDER_PLUGINS

if TYPE_CHECKING:
    import pluggy

    from kaitiaki.model import TaskSql


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """kaitiaki's plugin manager with the provider readers registered (the generic one asked last)."""
    from kaitiaki.plugins import get_plugin_manager

    pm = get_plugin_manager()
    for name in PROVIDER_PLUGINS:
        if pm.get_plugin(name) is None:
            pm.register(importlib.import_module(name), name=name)
    return pm


def locate(task: Any) -> TaskSql | None:
    """The task's SQL as the first reader that knows its operator finds it; None: no reader does."""
    from kaitiaki.model import TaskSql

    try:
        found: TaskSql | None = plugin_manager().hook.kaitiaki_task_sql(task=task)
    except Exception as exc:
        problem = f"the reader of its SQL failed ({type(exc).__name__}: {exc})"
        return TaskSql(values=(), fields=("?",), provider="error", problem=problem)
    return found
