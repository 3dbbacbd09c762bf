"""The runtime guard: check a task's *rendered* SQL just before it executes.

The task policy chains :func:`guarded` in front of the task's pre-execute hook (the hook the
DAG author set still runs, after the check). The task runner calls it with the context once the
templates are rendered, so ``context["task"]`` holds the SQL that is about to run; the task the
policy saw at parse time is still the template. A denial raises ``AirflowFailException``: the
task fails on this try, without retries, before its operator opens a connection, and its
downstream tasks end ``upstream_failed``. Anything that stops kaitiaki from deciding fails the
task the same way (fail closed); only a policy engine that gave no answer (SYS-02) is left to the
task's retries, because nothing about the task itself is wrong.

The task runner reads ``task.execute`` before any pre-execute hook runs, and Python the DAG
author wrote can still change the SQL after the check (its own pre-execute hook, an overridden
``pre_execute`` method, an ``on_execute_callback``). So the policy also wraps ``execute`` on the
task object: just before the operator's own ``execute`` runs, the SQL the task now holds is
compared with the SQL the check saw (a digest kept in the run's context), and checked again
when it differs or was never checked. An operator whose ``execute`` body runs other SQL, and
``@task`` Python, stay out of reach: the guard sees what the task holds, not what its code does.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Generator, Mapping, MutableMapping
from types import MethodType
from typing import TYPE_CHECKING, Any

from kaitiaki_airflow.dbt_nodes import decide_dbt_node
from kaitiaki_airflow.gates import LOG, config_path_for, decide_task, gate_for, rules_of
from kaitiaki_airflow.locate import locate
from kaitiaki_airflow.tasks import (
    FROZEN,
    during_execution,
    freeze_declarations,
    held_sql,
    job_id_of,
    task_name,
)

if TYPE_CHECKING:
    from kaitiaki.model import TaskSql, Verdict

GUARD_MARK = "_kaitiaki_guard"
CHECKED_KEY = "_kaitiaki_checked_sql"
AUTHOR_EXECUTE = "_kaitiaki_author_execute"
ENGINE_UNAVAILABLE = "SYS-02"

Hook = Callable[[Any], Any]


def install_guard(task: Any) -> None:
    """Chain the check in front of the task's own pre-execute hook, once per task object.

    The task's declarations are frozen as the DAG file wrote them. A mapped task's copies are
    made at run time from its partial *and* expanded arguments, and an
    expanded ``pre_execute`` would replace the guard: each copy gets it again as it is made. A
    task that does not keep the hook (an operator overriding the attribute) is refused.
    """
    if not hasattr(task, FROZEN):
        freeze_declarations(task)
    if hasattr(task, "partial_kwargs"):
        previous = task.partial_kwargs.get("pre_execute")
        if not is_guard(previous):
            task.partial_kwargs["pre_execute"] = guarded(previous)
        if getattr(vars(task).get("unmap"), "__func__", None) is not unmap_guarded:
            task.unmap = MethodType(unmap_guarded, task)
        return
    previous = getattr(task, "_pre_execute_hook", None)
    if not is_guard(previous):
        task._pre_execute_hook = guarded(previous)
    if not is_guard(getattr(task, "_pre_execute_hook", None)):
        raise unguardable(task)
    wrap_execute(task)


def wrap_execute(task: Any) -> None:
    """Put :func:`execute_guarded` on the task object, in front of its ``execute``.

    A bound method: a deep copy of the task rebinds it to the copy. An ``execute`` the DAG file
    set on the object itself is kept and runs after the check.
    """
    own = vars(task).get("execute")
    if getattr(own, "__func__", None) is execute_guarded:
        return
    if own is not None:
        setattr(task, AUTHOR_EXECUTE, own)
    task.execute = MethodType(execute_guarded, task)


def execute_guarded(bound: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
    """Check the SQL again when it is not the SQL the pre-execute check saw, then execute.

    What is checked is what runs: the task object the runner executes, never another. SQL that
    ``execute`` itself builds (``@task.sql``) is checked when ``execute`` asks for its database
    hook, after the SQL is set and rendered and before any statement runs.
    """
    task = running_task(bound, context)
    located = locate(task)
    if located is not None and during_execution(located):
        check_when_hook_is_asked(task, context)
    elif not isinstance(context, Mapping) or context.get(CHECKED_KEY) != held_sql_digest(task):
        log = getattr(task, "log", LOG)
        log.warning(
            "kaitiaki: the SQL of %s is not the SQL its pre-execute check saw; checking it again.",
            job_id_of(task),
        )
        check_task(task, context)
    own = vars(task).get(AUTHOR_EXECUTE)
    run = own if own is not None else MethodType(type(task).execute, task)
    return run(context, *args, **kwargs)


def check_when_hook_is_asked(task: Any, context: Any) -> None:
    """Put a ``get_db_hook`` on the task that checks the SQL the task then holds, once per SQL."""
    from airflow.sdk.exceptions import AirflowFailException

    own = getattr(type(task), "get_db_hook", None)
    if not callable(own):
        raise AirflowFailException(
            f"kaitiaki could not check {job_id_of(task)}: its SQL is built during execute and the operator "
            "has no get_db_hook to check it at, so it does not run."
        )

    def get_db_hook_checked(*args: Any, **kwargs: Any) -> Any:
        if context.get(CHECKED_KEY) != held_sql_digest(task):
            check_task(task, context)
        return own(task, *args, **kwargs)

    task.get_db_hook = get_db_hook_checked


def running_task(bound: Any, context: Any) -> Any:
    """The task the runner executes: ``context["task"]`` when it is ``bound`` or a shallow copy of it.

    ``BaseOperator.prepare_for_execution`` runs a shallow copy, which shares the method bound to
    the task the policy wrapped; the copy is the one whose SQL the hooks and callbacks change.
    """
    task = context.get("task") if isinstance(context, Mapping) else None
    execute = getattr(task, "__dict__", {}).get("execute")
    return task if getattr(execute, "__self__", None) is bound else bound


def held_sql_digest(task: Any) -> str | None:
    """A digest of the SQL the task holds and the connections it runs on; None when unreadable."""
    located = locate(task)
    if located is None:
        return None
    try:
        sql = held_sql(located, where=task_name(task))
    except Exception:
        return None
    return sql_digest(sql, located)


def sql_digest(sql: str, located: TaskSql) -> str:
    """What the check decided: the SQL, the connections, and a dbt node with its selection."""
    held = (*located.conn_ids, located.dbt_node or "", located.problem or "", sql)
    return hashlib.sha256("\0".join(held).encode()).hexdigest()


def unmap_guarded(mapped: Any, resolve: Any) -> Any:
    """``MappedOperator.unmap``, then the guard on the copy it made."""
    copy = type(mapped).unmap(mapped, resolve)
    freeze_declarations(copy, mapped=mapped, expanded=resolve)
    install_guard(copy)
    return copy


def unguardable(task: Any) -> Exception:
    """Airflow records this as an import error of the DAG file: no DAG in it runs unchecked."""
    from airflow.exceptions import AirflowClusterPolicyViolation

    return AirflowClusterPolicyViolation(
        f"kaitiaki could not install its check on {task_name(task)}: the operator does not keep the "
        "pre-execute hook Airflow gives it (_pre_execute_hook), so its SQL would run unchecked. "
        "Use an operator that keeps it."
    )


def is_guard(hook: Any) -> bool:
    return bool(getattr(hook, GUARD_MARK, False))


def guarded(previous: Hook | None) -> Hook:
    """A pre-execute hook that checks first, then runs ``previous`` (a generator hook stays one)."""
    if previous is not None and inspect.isgeneratorfunction(previous):
        generator_hook = previous

        def check_then_yield(context: Any) -> Generator[Any, Any, Any]:
            check_before_execute(context)
            return (yield from generator_hook(context))

        hook: Hook = check_then_yield
    else:

        def check_then_call(context: Any) -> Any:
            check_before_execute(context)
            return previous(context) if previous is not None else None

        hook = check_then_call
    setattr(hook, GUARD_MARK, True)
    return hook


def run_labels(context: Mapping[str, Any]) -> dict[str, str]:
    """What the decision log records about the run: dag, task, run and try."""
    ti = context["ti"]
    labels = {
        "dag_id": str(ti.dag_id),
        "task_id": str(ti.task_id),
        "run_id": str(context.get("run_id") or ti.run_id),
        "try_number": str(ti.try_number),
    }
    map_index = getattr(ti, "map_index", -1)
    if isinstance(map_index, int) and map_index >= 0:
        labels["map_index"] = str(map_index)
    return labels


def check_before_execute(context: Mapping[str, Any]) -> None:
    """The pre-execute check of the rendered task the context holds."""
    check_task(context["task"], context)


def check_task(task: Any, context: Mapping[str, Any]) -> None:
    """Decide the rendered task; raise to stop it, log why either way; remember what ran the check."""
    from airflow.sdk.exceptions import AirflowFailException

    log = getattr(task, "log", LOG)
    job_id = job_id_of(task)
    try:
        located = located_at_run(task)
        if during_execution(located):
            log.info("kaitiaki: %s builds its SQL in execute; it is checked there, before it runs.", job_id)
            return
        sql = held_sql(located, where=task_name(task))
        verdict = None
        if located.dbt_node:
            gate = gate_for(config_path_for(task))
            verdict = decide_dbt_node(task, gate=gate, located=located, labels=run_labels(context))
        elif located.fields:
            gate = gate_for(config_path_for(task))
            verdict = decide_task(task, gate=gate, located=located, sql=sql, labels=run_labels(context))
    except Exception as exc:
        reason = str(exc) if _is_kaitiaki_error(exc) else f"internal error {type(exc).__name__}: {exc}"
        log.error("kaitiaki could not check %s, so it does not run. %s", job_id, reason)
        raise AirflowFailException(f"kaitiaki could not check {job_id}: {reason}") from None
    if verdict is None:
        log.info("kaitiaki: %s runs no SQL this time (%s); nothing to check.", job_id, located.provider)
    else:
        announce(verdict, log)
        if verdict.blocked:
            raise blocked_error(verdict)
    if isinstance(context, MutableMapping):
        context[CHECKED_KEY] = sql_digest(sql, located)


def located_at_run(task: Any) -> TaskSql:
    """Where the rendered task keeps its SQL; a guarded task that no reader knows now fails closed."""
    from kaitiaki.errors import KaitiakiError

    located = locate(task)
    if located is None:
        raise KaitiakiError(f"no kaitiaki_task_sql reader knows where {task_name(task)} keeps its SQL now.")
    return located


def _is_kaitiaki_error(exc: Exception) -> bool:
    from kaitiaki.errors import KaitiakiError

    return isinstance(exc, KaitiakiError)


def announce(verdict: Verdict, log: Any) -> None:
    """Blocked or warned: the full explanation; audit: one line; allowed: one line."""
    job_id = verdict.job.id
    decision = verdict.decision
    if verdict.blocked:
        log.error("kaitiaki blocked %s. %s\n%s", job_id, where(verdict), explanation(verdict))
    elif not decision.allow and verdict.mode == "audit":
        log.info("kaitiaki (audit mode) would block %s: %s. It runs.", job_id, rules_of(verdict))
    elif not decision.allow:
        text = explanation(verdict)
        log.warning("kaitiaki (%s mode) lets %s run. %s\n%s", verdict.mode, job_id, where(verdict), text)
    elif decision.violations:
        log.info("kaitiaki allowed %s with findings. %s\n%s", job_id, where(verdict), explanation(verdict))
    else:
        log.info("kaitiaki allowed %s (policy revision %s).", job_id, decision.policy_revision or "unknown")


def where(verdict: Verdict) -> str:
    """The DAG file, and what the explanation's line numbers count (the SQL is rendered)."""
    return (
        f"DAG file: {verdict.job.meta.get('dag_file') or 'unknown'}. "
        "Line numbers below count lines of the task's rendered SQL."
    )


def explanation(verdict: Verdict) -> str:
    from kaitiaki.report.explain import explain

    return explain(verdict, color=False)


def blocked_error(verdict: Verdict) -> Exception:
    """Final for a policy denial; retryable when the only problem is an engine that did not answer."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    message = (
        f"kaitiaki blocked {verdict.job.id}: {rules_of(verdict)}. The explanation is in the log above; "
        "the task did not run."
    )
    if {v.rule for v in verdict.decision.violations} == {ENGINE_UNAVAILABLE}:
        return AirflowException(message + " The policy engine gave no answer; the task's retries apply.")
    return AirflowFailException(message)
