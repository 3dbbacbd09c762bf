"""Tasks whose SQL no ``kaitiaki_task_sql`` reader finds: which are harmless, allowlisted or unguarded.

A PythonOperator that calls a hook, a BashOperator that runs ``psql``, an operator no reader
knows: kaitiaki cannot see what they run. ``airflow: {unguarded_tasks: allow | warn | block}``
in kaitiaki.yaml says what happens to them: ``warn`` (default) names each one in the DAG
processor's log when its file is parsed; ``block`` fails each one before it runs; ``allow`` says
nothing. ``airflow: {unguarded_allow: {operators: [module.Class], tasks: [dag_id.task_id]}}``
lists those governance has looked at (an operator by its exact class, never its subclasses; a
task by an fnmatch pattern). Operators that run no code of the DAG author's (EmptyOperator,
the time sensors…) are never unguarded.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from types import MethodType
from typing import TYPE_CHECKING, Any

from kaitiaki_airflow.operators import class_names, operator_class

if TYPE_CHECKING:
    from kaitiaki.config import Settings
    from kaitiaki.model import TaskSql

GUARDED, NO_SQL, ALLOWLISTED, UNGUARDED = "guarded", "no-sql", "allowlisted", "unguarded"
STANDARD = "airflow.providers.standard"
RUNS_NO_AUTHOR_CODE = frozenset(
    {
        f"{STANDARD}.operators.empty.EmptyOperator",
        f"{STANDARD}.operators.latest_only.LatestOnlyOperator",
        f"{STANDARD}.operators.trigger_dagrun.TriggerDagRunOperator",
        f"{STANDARD}.operators.smooth.SmoothOperator",
        f"{STANDARD}.sensors.time_delta.TimeDeltaSensor",
        f"{STANDARD}.sensors.time.TimeSensor",
        f"{STANDARD}.sensors.date_time.DateTimeSensor",
        f"{STANDARD}.sensors.weekday.DayOfWeekSensor",
        f"{STANDARD}.sensors.external_task.ExternalTaskSensor",
    }
)
GOOGLE = "airflow.providers.google.cloud.operators"
NOT_READ = "kaitiaki does not read it"
BORDERLINE: dict[str, str] = {
    f"{GOOGLE}.dataproc.DataprocSubmitJobOperator": "runs a Dataproc job that is not a SQL one (Spark, "
    "PySpark, Pig, Hadoop…): kaitiaki reads the queries of Spark SQL, Hive, Presto and Trino jobs only",
    f"{GOOGLE}.dataproc.DataprocCreateBatchOperator": "runs a Dataproc batch (a Spark SQL batch reads "
    f"its query from a file in Cloud Storage); {NOT_READ}",
    f"{GOOGLE}.dataproc.DataprocInstantiateInlineWorkflowTemplateOperator": "runs the jobs of its "
    f"workflow template dict; {NOT_READ}",
    f"{GOOGLE}.cloud_sql.CloudSQLExportInstanceOperator": "exports what its body's exportContext "
    f"names (whole databases, or a csvExportOptions.selectQuery) to Cloud Storage; {NOT_READ}",
    f"{GOOGLE}.cloud_sql.CloudSQLImportInstanceOperator": "loads a SQL dump or CSV file from Cloud "
    "Storage, whose content kaitiaki cannot see",
    f"{GOOGLE}.bigquery.BigQueryCreateTableOperator": "creates a table, view or materialized view from "
    f"its table_resource; a view's query is stored and runs later, when read; {NOT_READ}",
    f"{GOOGLE}.bigquery.BigQueryUpdateTableOperator": "changes a table or view from its table_resource "
    f"(a view's query runs later, when read); {NOT_READ}",
    f"{GOOGLE}.bigquery.BigQueryCreateRoutineOperator": "creates a routine whose SQL body runs later, "
    f"when called; {NOT_READ}",
    f"{GOOGLE}.bigquery_dts.BigQueryCreateDataTransferOperator": "creates a scheduled query or transfer "
    f"that BigQuery runs on its own schedule, outside Airflow; {NOT_READ}",
    "airflow.providers.yandex.operators.dataproc.DataprocCreateHiveJobOperator": "runs a Hive job on "
    f"Yandex Dataproc (its query, or a query file in object storage); {NOT_READ}",
}
RUNS_PYTHON = f"{STANDARD}.operators.python.PythonOperator"
RUNS_SHELL = f"{STANDARD}.operators.bash.BashOperator"
REFUSAL_MARK = "_kaitiaki_refusal"


@dataclass(frozen=True)
class Coverage:
    """What kaitiaki does with one task, and why."""

    status: str
    reason: str


def qualified(task: Any) -> str:
    cls = operator_class(task)
    return f"{cls.__module__}.{cls.__qualname__}" if cls else type(task).__name__


def coverage(task: Any, located: TaskSql | None, settings: Settings) -> Coverage:
    """Guarded (a reader found its SQL), no SQL, allowlisted, or unguarded and why."""
    if located is not None:
        fields = ", ".join(located.fields) or "no SQL this time"
        reason = f"{fields} ({located.provider or 'plugin'})"
        if located.problem:
            reason += f"; it does not run: {located.problem}"
        return Coverage(GUARDED, reason)
    name = qualified(task)
    if name in RUNS_NO_AUTHOR_CODE:
        return Coverage(NO_SQL, "runs no code of the DAG author's")
    task_key = f"{task.dag.dag_id}.{task.task_id}"
    if name in settings.unguarded_operators:
        return Coverage(ALLOWLISTED, f"operator {name} is in airflow.unguarded_allow.operators")
    if any(fnmatch.fnmatchcase(task_key, pattern) for pattern in settings.unguarded_task_ids):
        return Coverage(ALLOWLISTED, "task is in airflow.unguarded_allow.tasks")
    names = class_names(task)
    borderline = next((BORDERLINE[n] for n in sorted(names) if n in BORDERLINE), None)
    if borderline is not None:
        why = borderline
    elif RUNS_PYTHON in names:
        why = "runs Python: SQL it runs through a hook or a DB-API cursor is invisible to kaitiaki"
    elif RUNS_SHELL in names:
        why = "runs a shell command: SQL it runs (psql, bq, a script) is invisible to kaitiaki"
    else:
        why = f"no kaitiaki_task_sql reader knows {name}; if it runs SQL, add a reader (a plugin)"
    return Coverage(UNGUARDED, why)


def refuse(task: Any, reason: str) -> None:
    """``unguarded_tasks: block``: the task fails before it runs, on every try (no retries).

    A mapped task's copies get the refusal again as they are made, as the guard does.
    """
    setattr(task, REFUSAL_MARK, reason)
    if hasattr(task, "partial_kwargs"):
        task.partial_kwargs["pre_execute"] = refusal
        task.unmap = MethodType(unmap_refused, task)
    else:
        task._pre_execute_hook = refusal


def refusal(context: Any) -> None:
    """The pre-execute hook of a blocked unguarded task."""
    from airflow.sdk.exceptions import AirflowFailException

    task = context["task"]
    raise AirflowFailException(
        f"kaitiaki (unguarded_tasks: block) does not let airflow:{task.dag.dag_id}.{task.task_id} run: it "
        f"{getattr(task, REFUSAL_MARK, 'cannot be read')}. Move its SQL into an operator kaitiaki reads, "
        "or allowlist it in kaitiaki.yaml (airflow.unguarded_allow)."
    )


def unmap_refused(mapped: Any, resolve: Any) -> Any:
    """``MappedOperator.unmap``, then the refusal on the copy it made."""
    copy = type(mapped).unmap(mapped, resolve)
    refuse(copy, getattr(mapped, REFUSAL_MARK))
    return copy
