"""Airflow tasks as kaitiaki Jobs: which tasks run SQL, what SQL, and what they declare.

Pure functions over operator objects (duck-typed: a BaseOperator, a MappedOperator or the
unmapped copy the task runner renders). Purpose, destination and the other declarations come
from ``params={"kaitiaki": {...}}`` on the DAG and the task *as written in the DAG file*, never
from the run's ``conf``: whoever triggers a run cannot change what a task is declared for.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from kaitiaki.config import Settings, destination_from
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import Destination, Job, SourceLocation, TaskSql

JINJA_MARKERS = ("{{", "{%", "{#")
PARAM_KEYS = ("purpose", "destination", "dialect", "agency", "tags")
PURPOSE_TAG = "purpose:"
STATEMENT_SEPARATOR = "\n;\n"
DEFAULT_OWNER = "airflow"
FROZEN = "_kaitiaki_declared"


def combined_sql(values: Iterable[Any], *, where: str) -> str:
    """One SQL text from the fields' values (a string or a list of statements each).

    Each separator sits on a line of its own, so a statement ending in a ``--`` comment cannot
    swallow it.
    """
    statements: list[str] = []
    for value in values:
        if value is None:
            continue
        parts = [value] if isinstance(value, str) else value
        if not isinstance(parts, (list, tuple)) or not all(isinstance(p, str) for p in parts):
            raise KaitiakiError(
                f"the SQL of {where} is a {type(value).__name__}, not text or a list of statements, "
                "so kaitiaki cannot check it and it does not run.",
                hint="pass SQL as a string, a list of strings or a .sql template file.",
            )
        statements += [p.strip().rstrip(";").rstrip() for p in parts if p.strip().rstrip(";").strip()]
    return STATEMENT_SEPARATOR.join(statements)


def held_sql(located: TaskSql, *, where: str) -> str:
    """The SQL the task holds now, as one text (KaitiakiError when a field is not SQL text, or
    when the reader could not read it)."""
    if located.problem:
        raise KaitiakiError(
            f"kaitiaki cannot read the SQL of {where}: {located.problem}; it does not run.",
            hint="a platform team can teach kaitiaki an operator with a kaitiaki_task_sql plugin "
            "(docs/airflow.md).",
        )
    return combined_sql(located.values, where=where)


def static_sql(task: Any, located: TaskSql) -> str | None:
    """The task's SQL when it is final at parse time (no Jinja, not a template file), else None."""
    extensions = tuple(getattr(task, "template_ext", ()) or ())
    texts = [text for value in located.values for text in _texts(value)]
    if not all(isinstance(text, str) and not _templated(text, extensions) for text in texts):
        return None
    return held_sql(located, where=task_name(task))


def during_execution(located: TaskSql) -> bool:
    """SQL the operator's ``execute`` builds (``@task.sql``): Airflow's SetDuringExecution marker."""
    return any(type(value).__name__ == "SetDuringExecution" for value in located.values)


def _texts(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _templated(text: str, extensions: tuple[str, ...]) -> bool:
    """Jinja, or a template file name Airflow could not resolve: only known when rendered."""
    return any(m in text for m in JINJA_MARKERS) or bool(extensions and text.strip().endswith(extensions))


def task_name(task: Any) -> str:
    """``dag_id.task_id in <file>``, for messages."""
    dag = getattr(task, "dag", None)
    dag_id = getattr(dag, "dag_id", "?")
    return f"task {dag_id}.{task.task_id} in {dag_file(task) or 'an unknown file'}"


def dag_file(task: Any) -> str | None:
    dag = getattr(task, "dag", None)
    return getattr(dag, "fileloc", None) or None


def job_id_of(task: Any) -> str:
    return f"airflow:{task.dag.dag_id}.{task.task_id}"


def freeze_declarations(task: Any, *, mapped: Any = None, expanded: Mapping[str, Any] | None = None) -> None:
    """Keep ``params["kaitiaki"]`` of the DAG and the task as the DAG file wrote them.

    Airflow merges a run's ``conf`` into the DAG's Param objects *in place*
    (``dag_run_conf_overrides_params``), so reading them at run time would let whoever triggers
    the run declare the purpose. The policy freezes them when the file is parsed. A copy of a
    ``mapped`` task inherits its frozen declarations, with its own mapped ``params`` on top.
    """
    if mapped is None:
        dag_value, task_value = (
            _frozen(getattr(task.dag, "params", None)),
            _frozen(getattr(task, "params", None)),
        )
    else:
        dag_value, task_value = getattr(mapped, FROZEN)
        mapped_params = (expanded or {}).get("params")
        if isinstance(mapped_params, Mapping) and "kaitiaki" in mapped_params:
            task_value = _frozen(mapped_params)
    setattr(task, FROZEN, (dag_value, task_value))


def _frozen(params: Any) -> Any:
    """A deep copy of ``params["kaitiaki"]``, or the error reading it raised (raised when used)."""
    try:
        return copy.deepcopy(_param(params, "kaitiaki"))
    except KaitiakiError as exc:
        return exc


def declared(task: Any) -> dict[str, Any]:
    """``params["kaitiaki"]`` of the DAG, overlaid by the task's; unknown keys are an error."""
    merged: dict[str, Any] = {}
    frozen = getattr(task, FROZEN, None)
    values = frozen or [
        _param(p, "kaitiaki") for p in (getattr(task.dag, "params", None), getattr(task, "params", None))
    ]
    for value in values:
        if isinstance(value, KaitiakiError):
            raise value
        if value is None:
            continue
        if not isinstance(value, Mapping):
            kind = type(value).__name__
            raise _declaration_error(task, f'params["kaitiaki"] must be a mapping, got {kind}')
        merged.update(value)
    unknown = sorted(set(merged) - set(PARAM_KEYS))
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise _declaration_error(task, f'unknown key(s) {names} in params["kaitiaki"]')
    for key in ("purpose", "dialect", "agency"):
        if merged.get(key) is not None and not isinstance(merged[key], str):
            raise _declaration_error(task, f'params["kaitiaki"]["{key}"] must be a string')
    tags = merged.get("tags", [])
    if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
        raise _declaration_error(task, 'params["kaitiaki"]["tags"] must be a list of strings')
    return merged


def _param(params: Any, key: str) -> Any:
    if params is None:
        return None
    try:
        return params.get(key)
    except Exception as exc:  # a Param that fails validation: not a declaration kaitiaki can use
        raise KaitiakiError(f'params["{key}"] could not be read: {exc}') from None


def _declaration_error(task: Any, problem: str) -> KaitiakiError:
    return KaitiakiError(
        f"{problem} ({task_name(task)}).",
        path=dag_file(task),
        hint=f"valid keys: {', '.join(PARAM_KEYS)}; "
        'e.g. params={"kaitiaki": {"purpose": "benefit-uptake", "destination": "internal"}}.',
    )


def purpose_of(task: Any, declaration: Mapping[str, Any]) -> str | None:
    """The declared purpose, else the DAG's one ``purpose:<id>`` tag."""
    if declaration.get("purpose"):
        return str(declaration["purpose"])
    tagged = sorted(t[len(PURPOSE_TAG) :] for t in dag_tags(task) if t.startswith(PURPOSE_TAG))
    if len(tagged) > 1:
        raise _declaration_error(task, f"the DAG has {len(tagged)} purpose tags ({', '.join(tagged)})")
    return tagged[0] if tagged else None


def dag_tags(task: Any) -> tuple[str, ...]:
    return tuple(sorted(str(t) for t in (getattr(task.dag, "tags", None) or ())))


def job_for_task(
    task: Any,
    *,
    sql: str,
    dialect: str,
    conn_id: str | None,
    conn_type: str | None,
    settings: Settings,
    default_owner: str = DEFAULT_OWNER,
) -> Job:
    """The Job the gate decides for one task (id ``airflow:<dag_id>.<task_id>``).

    The SQL is rendered, so its lines are not lines of the DAG file: the job has no source path
    (explanations locate findings as ``airflow:<dag>.<task>:<sql line>``) and the DAG file is in
    ``meta["dag_file"]``.
    """
    declaration = declared(task)
    destination: Destination = settings.default_destination
    if declaration.get("destination") is not None:
        destination = destination_from(declaration["destination"], where=task_name(task))
    dag_id = task.dag.dag_id
    meta: dict[str, Any] = {
        "dag_id": dag_id,
        "task_id": task.task_id,
        "operator": getattr(task, "task_type", type(task).__name__),
        "conn_id": conn_id,
        "conn_type": conn_type,
        "dag_file": dag_file(task),
    }
    if declaration.get("agency"):
        meta["agency"] = declaration["agency"]
    owner = getattr(task, "owner", None)
    return Job(
        id=job_id_of(task),
        kind="airflow_task",
        name=task.task_id,
        sql=sql,
        dialect=dialect,
        source=SourceLocation(path=None, line_offset=0),
        owner=owner if owner and owner != default_owner else None,
        purpose=purpose_of(task, declaration),
        destination=destination,
        tags=tuple(dict.fromkeys((*dag_tags(task), *declaration.get("tags", ())))),
        upstream=tuple(f"airflow:{dag_id}.{u}" for u in sorted(getattr(task, "upstream_task_ids", ()))),
        meta=meta,
    )
