"""google: BigQuery jobs, Dataproc SQL jobs and Spanner.

``BigQueryInsertJobOperator`` keeps a query job's SQL in ``configuration["query"]["query"]``
(``configuration`` may also name a ``.json`` file, rendered to a mapping before the run). A job
without a ``query`` part (load, copy, extract) runs no SQL. BigQuery reads a query as *legacy*
SQL unless ``useLegacySql`` is false or the text starts with ``#standardSQL``; kaitiaki reads
GoogleSQL only, so a legacy query fails closed. ``DataprocSubmitJobOperator`` runs the job in
its ``job`` dict: a Spark SQL, Hive, Presto or Trino job's ``query_list.queries`` are read in
that engine's dialect; a job whose queries are in a file (``query_file_uri``) fails closed, and
a job of another kind (Spark, PySpark, Pig…) runs code, not SQL: it is unguarded. Spanner's
dialect is not one sqlglot has: its tasks need a declared dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

PACKAGE = "airflow.providers.google.cloud.operators"
INSERT_JOB = frozenset({f"{PACKAGE}.bigquery.BigQueryInsertJobOperator"})
SPANNER_QUERY = frozenset({f"{PACKAGE}.spanner.SpannerQueryDatabaseInstanceOperator"})
SPANNER_DDL = frozenset(
    {
        f"{PACKAGE}.spanner.SpannerDeployDatabaseInstanceOperator",
        f"{PACKAGE}.spanner.SpannerUpdateDatabaseInstanceOperator",
    }
)
QUERY_FIELD = 'configuration["query"]["query"]'
DATAPROC_JOB = frozenset({f"{PACKAGE}.dataproc.DataprocSubmitJobOperator"})
DATAPROC_SQL_JOBS = {
    "spark_sql_job": "spark",
    "hive_job": "hive",
    "presto_job": "presto",
    "trino_job": "trino",
}


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if is_one_of(task, INSERT_JOB):
        return insert_job_sql(held(task, "configuration"), held_conn(task, "gcp_conn_id"))
    if is_one_of(task, DATAPROC_JOB):
        return dataproc_job_sql(held(task, "job"), held_conn(task, "gcp_conn_id"))
    if is_one_of(task, SPANNER_QUERY):
        return TaskSql(values=(held(task, "query"),), fields=("query",), provider="google")
    if is_one_of(task, SPANNER_DDL):
        return TaskSql(values=(held(task, "ddl_statements"),), fields=("ddl_statements",), provider="google")
    return None


def insert_job_sql(configuration: Any, conn_ids: tuple[str, ...]) -> TaskSql:
    """The query of a BigQuery job configuration; a template (file name, Jinja) as it is."""
    if not isinstance(configuration, Mapping):
        return TaskSql(
            values=(configuration,), fields=("configuration",), conn_ids=conn_ids, dialect="bigquery"
        )
    query = configuration.get("query")
    if query is None:
        return TaskSql(values=(), fields=(), conn_ids=conn_ids, dialect="bigquery", provider="google")
    text = query.get("query") if isinstance(query, Mapping) else query
    problem = None
    if not isinstance(query, Mapping):
        problem = 'configuration["query"] is not a mapping'
    elif not standard_sql(text, query.get("useLegacySql")):
        problem = (
            "the query would run as BigQuery legacy SQL (useLegacySql is not false and the text does not "
            "start with #standardSQL), which kaitiaki cannot read; set useLegacySql: False"
        )
    return TaskSql(
        values=(text,),
        fields=(QUERY_FIELD,),
        conn_ids=conn_ids,
        dialect="bigquery",
        provider="google",
        problem=problem,
    )


def standard_sql(text: Any, legacy_flag: Any) -> bool:
    """GoogleSQL: ``useLegacySql`` false, or a ``#standardSQL`` first line (BigQuery's own rule)."""
    first = text.lstrip().lower() if isinstance(text, str) else ""
    if first.startswith("#legacysql"):
        return False
    return legacy_flag is False or first.startswith("#standardsql") or _templated(legacy_flag)


def _templated(value: Any) -> bool:
    """A Jinja flag is only known once rendered; the runtime check sees the rendered value."""
    return isinstance(value, str) and "{{" in value


def dataproc_job_sql(job: Any, conn_ids: tuple[str, ...]) -> TaskSql | None:
    """The queries of a Dataproc SQL job; None for a job of another kind (code, not SQL)."""
    if isinstance(job, str) and not _templated(job):
        not_a_job = "its job is text, not a Dataproc job mapping"
        return TaskSql(values=(), fields=("job",), conn_ids=conn_ids, provider="google", problem=not_a_job)
    if not isinstance(job, Mapping):  # a template, or a mapped task's jobs: each copy is read when it runs
        return TaskSql(values=(job,), fields=("job",), conn_ids=conn_ids, provider="google")
    kinds = [kind for kind in DATAPROC_SQL_JOBS if kind in job]
    if not kinds:
        return None
    kind = kinds[0]
    part = job[kind]
    field = f'job["{kind}"]["query_list"]["queries"]'
    queries = part.get("query_list", {}).get("queries") if isinstance(part, Mapping) else None
    problem: str | None = None
    if len(kinds) > 1:
        problem = f"its job names {len(kinds)} kinds of job ({', '.join(kinds)})"
    elif isinstance(part, Mapping) and part.get("query_file_uri"):
        problem = f"its queries are in a file ({part['query_file_uri']}) that kaitiaki cannot read"
    elif not isinstance(queries, list):
        problem = f"its {kind} has no query_list.queries list"
    return TaskSql(
        values=(queries,) if isinstance(queries, list) else (),
        fields=(field,),
        conn_ids=conn_ids,
        dialect=DATAPROC_SQL_JOBS[kind],
        provider="google",
        problem=problem,
    )
