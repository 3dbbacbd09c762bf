"""dbt adapter type → sqlglot dialect.

The compiled SQL of a dbt model is written in its warehouse's dialect; reading it with the wrong
one would silently misread quoting and functions, so an adapter type missing here is never
guessed: its models are blocked (fail closed) until the model names a dialect in
``meta.kaitiaki.dialect``.
"""

from __future__ import annotations

ADAPTER_DIALECTS: dict[str, str] = {
    "athena": "athena",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "doris": "doris",
    "dremio": "dremio",
    "duckdb": "duckdb",
    "exasol": "exasol",
    "fabric": "fabric",
    "glue": "spark",
    "hive": "hive",
    "impala": "hive",
    "materialize": "materialize",
    "motherduck": "duckdb",
    "mysql": "mysql",
    "oracle": "oracle",
    "postgres": "postgres",
    "presto": "presto",
    "redshift": "redshift",
    "risingwave": "risingwave",
    "snowflake": "snowflake",
    "spark": "spark",
    "sqlite": "sqlite",
    "sqlserver": "tsql",
    "starrocks": "starrocks",
    "synapse": "tsql",
    "teradata": "teradata",
    "trino": "trino",
}


def adapter_dialect(adapter_type: str | None) -> str | None:
    """The sqlglot dialect for a dbt adapter type, or None when it cannot be mapped."""
    if not adapter_type:
        return None
    return ADAPTER_DIALECTS.get(adapter_type.strip().lower())
