"""Which SQL dialect a task speaks: the operator's own, its connection hook's, or its connection type's.

An operator that only speaks one dialect (Athena, Spark SQL) says so in its SQL reader. Otherwise
the connection's hook names it (``get_openlineage_database_dialect()``, where the provider
implements it), and the type table below is the fallback. The map covers the connection types
of Airflow's SQL providers whose dialect sqlglot knows. A type that is not here is never
guessed: the task fails closed unless the task's ``params={"kaitiaki": {"dialect": ...}}`` or
kaitiaki.yaml's ``dialect:`` names one. For a type that is here, the task may only name a
dialect built on the connection's (``fabric`` on an ``mssql`` connection): a DAG author must
not make kaitiaki read the SQL differently from the database (``"full_name"`` is a string to
``mysql`` and a column to DuckDB).
"""

from __future__ import annotations

from kaitiaki.errors import KaitiakiError

__all__ = ["CONN_TYPE_DIALECTS", "dialect_for", "refines"]

CONN_TYPE_DIALECTS: dict[str, str] = {
    "athena": "athena",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "doris": "doris",
    "druid": "druid",
    "duckdb": "duckdb",
    "exasol": "exasol",
    "gcpbigquery": "bigquery",
    "google_cloud_platform": "bigquery",
    "hive_cli": "hive",
    "hiveserver2": "hive",
    "mssql": "tsql",
    "mysql": "mysql",
    "oracle": "oracle",
    "postgres": "postgres",
    "presto": "presto",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "spark": "spark",
    "spark_connect": "spark",
    "spark_sql": "spark",
    "sqlite": "sqlite",
    "teradata": "teradata",
    "trino": "trino",
}


OPENLINEAGE_NAMES: dict[str, str] = {"mssql": "tsql", "sqlserver": "tsql"}


def provider_dialect(named: str | None) -> str | None:
    """A sqlglot dialect from a hook's ``get_openlineage_database_dialect()``; None for
    ``generic`` (the DbApiHook default) or a name sqlglot does not know."""
    from sqlglot.dialects.dialect import Dialect

    if not named or named.lower() in ("generic", "ansi"):
        return None
    name = OPENLINEAGE_NAMES.get(named.lower(), named.lower())
    try:
        Dialect.get_or_raise(name)
    except ValueError:
        return None
    return name


def refines(variant: str, base: str) -> bool:
    """sqlglot's answer (imported here, not at import time: the task policy loads this module)."""
    from kaitiaki.analysis.dialects import refines as sqlglot_refines

    return sqlglot_refines(variant, base)


def dialect_for(
    *,
    spoken: str | None,
    conn_type: str | None,
    task_dialect: str | None,
    configured_dialect: str | None,
    conn_id: str | None,
    where: str,
) -> str:
    """The dialect the task's SQL is spoken in (or the task's refinement of it), else the task's
    choice, else kaitiaki.yaml's; never a guess.

    ``spoken`` is what the operator or its connection says (the operator's own dialect, its
    hook's, or the connection type's from :data:`CONN_TYPE_DIALECTS`); ``where`` names the task
    (``dag_id.task_id in file``) for the error message.
    """
    if spoken:
        if not task_dialect or task_dialect == spoken:
            return spoken
        if refines(task_dialect, spoken):
            return task_dialect
        via = f"its connection {conn_id!r} has type {conn_type!r}, which" if conn_type else "its operator"
        raise KaitiakiError(
            f"{where} declares dialect {task_dialect!r}, but {via} speaks {spoken!r}; kaitiaki reads SQL "
            "the way the database does, so the task does not run.",
            hint=f'remove "dialect" from params["kaitiaki"], or name a dialect built on {spoken!r}.',
        )
    if task_dialect:
        return task_dialect
    if configured_dialect:
        return configured_dialect
    if conn_type:
        problem = f"connection {conn_id!r} has type {conn_type!r}, which kaitiaki cannot map to a SQL dialect"
    else:
        problem = "the task names no connection, so kaitiaki cannot tell which SQL dialect it speaks"
    raise KaitiakiError(
        f"{problem}; the SQL of {where} cannot be checked, so it does not run.",
        hint='set params={"kaitiaki": {"dialect": "<sqlglot dialect>"}} on the task or DAG, or '
        "`dialect:` in kaitiaki.yaml for every connection type kaitiaki does not know "
        f"(known types: {', '.join(sorted(CONN_TYPE_DIALECTS))}).",
    )
