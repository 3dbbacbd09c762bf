"""Reading an operator object without importing its provider: class names and held arguments.

Duck-typed over a BaseOperator, a MappedOperator (its partial and expanded arguments) and the
unmapped copy the task runner renders. Kept free of kaitiaki imports so that the task policy's
first look at a task stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def operator_class(task: Any) -> type | None:
    """The operator's class (a mapped task's ``operator_class``)."""
    cls = getattr(task, "operator_class", None) if is_mapped(task) else type(task)
    return cls if isinstance(cls, type) else None


def class_names(task: Any) -> frozenset[str]:
    """``module.Class`` of the operator's class and every base, so a subclass matches its provider's."""
    cls = operator_class(task)
    return frozenset(f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__) if cls else frozenset()


def is_one_of(task: Any, names: frozenset[str]) -> bool:
    return not class_names(task).isdisjoint(names)


def is_mapped(task: Any) -> bool:
    return hasattr(task, "partial_kwargs")


def held(task: Any, name: str) -> Any:
    """The task's current value for an argument: an attribute, or a mapped task's argument.

    For ``expand_kwargs`` the expanded value (each copy's arguments, known only at run time) is
    returned as it is: not text, so never taken for final SQL.
    """
    if not is_mapped(task):
        return getattr(task, name, None)
    expanded = getattr(getattr(task, "expand_input", None), "value", {})
    if not isinstance(expanded, Mapping):
        return expanded
    return task.partial_kwargs.get(name, expanded.get(name))


def arguments(task: Any) -> list[Mapping[str, Any]]:
    """What the task holds: its attributes, or a mapped task's partial and expanded arguments."""
    if not is_mapped(task):
        return [getattr(task, "__dict__", {})]
    expanded = getattr(getattr(task, "expand_input", None), "value", None)
    return [task.partial_kwargs, expanded if isinstance(expanded, Mapping) else {}]


def held_conn(task: Any, *names: str) -> tuple[str, ...]:
    """The connection ids held in the named arguments (those that are set, each once)."""
    found = [held(task, name) for name in names]
    return tuple(dict.fromkeys(v for v in found if isinstance(v, str) and v))
