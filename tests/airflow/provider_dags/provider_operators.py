"""One DAG per provider family, each with an allowed task and its denied twin; copied into a scenario.

The operators are the providers' real classes (installed from PyPI in the test environment), so
their field layout, templating and mapping are Airflow's own. Where an operator would call a
cloud service (Athena, Redshift, Databricks, spark-sql, Hive), a test subclass replaces only
``execute``: it records the SQL fields it received in ``$KT_MARKERS`` instead. The google and
snowflake providers are not installed, so their operators appear as stand-ins with the same
module, class name, template fields and arguments as apache-airflow-providers-google 22.8.0
and -snowflake 6.20.0. Re-checked against this lock with ``pip install --dry-run`` (December
2026): google 22.8.0 would add 108 distributions to the test environment; snowflake 6.20.0
would take SQLAlchemy back from 2.1.9, the version Airflow and everything else here run on, to
2.0.58 (snowflake-sqlalchemy 1.11.1 requires < 2.1), and bring snowpark. common-sql
(``SQLExecuteQueryOperator``, ``GenericTransfer``, ``@task.sql``) runs for real on DuckDB.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.providers.amazon.aws.transfers.redshift_to_s3 import RedshiftToS3Operator
from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator
from airflow.providers.apache.hive.operators.hive import HiveOperator
from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.providers.common.sql.operators.analytics import AnalyticsOperator
from airflow.providers.common.sql.operators.generic_transfer import GenericTransfer
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator, SQLInsertRowsOperator
from airflow.providers.databricks.operators.databricks import DatabricksSQLStatementsOperator
from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, task

WAREHOUSE = "nz_social_duckdb"
START = datetime(2026, 1, 1)
DECLARED = {"kaitiaki": {"purpose": "benefit-uptake"}}
ALLOWED = (
    "select region, count(distinct client_number) as clients from msd.clients where not opted_out "
    "group by region having count(distinct client_number) >= {{ 6 }}"
)
DENIED = "select {{ 'full_name, phone' }} from msd.clients where not opted_out"


def record(context: Any, fields: dict[str, Any]) -> None:
    """Leave ``<dag>.<task>[.<map index>]`` with the SQL fields the task ran with."""
    ti = context["ti"]
    name = f"{ti.dag_id}.{ti.task_id}" + (f".{ti.map_index}" if ti.map_index >= 0 else "")
    Path(os.environ["KT_MARKERS"], name).write_text(json.dumps(fields, default=str), encoding="utf-8")


class Recorded:
    """In place of the call to the cloud service: record the fields named in ``recorded``."""

    recorded: tuple[str, ...] = ()

    def execute(self, context: Any) -> None:
        record(context, {name: getattr(self, name) for name in self.recorded})


class Athena(Recorded, AthenaOperator):
    recorded = ("query",)


class SqlToS3(Recorded, SqlToS3Operator):
    recorded = ("query",)


class RedshiftToS3(Recorded, RedshiftToS3Operator):
    recorded = ("select_query", "table")


class RedshiftData(Recorded, RedshiftDataOperator):
    recorded = ("sql",)


class DatabricksSql(Recorded, DatabricksSqlOperator):
    recorded = ("sql",)


class DatabricksStatements(Recorded, DatabricksSQLStatementsOperator):
    recorded = ("statement",)


class DeferredStatements(DatabricksSQLStatementsOperator):
    """Defers before it runs, as ``deferrable=True`` does, and records when it resumes."""

    def execute(self, context: Any) -> None:
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=0)), method_name="resume")

    def resume(self, context: Any, event: Any = None) -> None:
        record(context, {"statement": self.statement})


class SparkSql(Recorded, SparkSqlOperator):
    recorded = ("sql",)


class Hive(Recorded, HiveOperator):
    recorded = ("hql",)


class Analytics(Recorded, AnalyticsOperator):
    recorded = ("queries",)


class InsertRows(Recorded, SQLInsertRowsOperator):
    recorded = ("preoperator", "postoperator")


class OnTrino(Recorded, SQLExecuteQueryOperator):
    """``SQLExecuteQueryOperator`` on a trino connection (the trino provider has no operator of its own)."""

    recorded = ("sql",)


class BigQueryInsertJobOperator(Recorded, BaseOperator):
    """Stand-in (the google provider is not installed: 108 more distributions): the field layout of
    apache-airflow-providers-google 22.8.0's operator."""

    template_fields = ("configuration", "job_id", "gcp_conn_id", "impersonation_chain", "project_id")
    template_ext = (".json", ".sql")
    recorded = ("configuration",)

    def __init__(
        self, *, configuration: dict[str, Any], gcp_conn_id: str = "google_cloud_default", **kw: Any
    ):
        super().__init__(**kw)
        self.configuration, self.gcp_conn_id = configuration, gcp_conn_id
        self.job_id = self.impersonation_chain = self.project_id = None


class SpannerQueryDatabaseInstanceOperator(Recorded, BaseOperator):
    """Stand-in (the google provider is not installed: 108 more distributions): the field layout of
    apache-airflow-providers-google 22.8.0's operator."""

    template_fields = (
        "project_id",
        "instance_id",
        "database_id",
        "query",
        "gcp_conn_id",
        "impersonation_chain",
    )
    template_ext = (".sql",)
    recorded = ("query",)

    def __init__(self, *, instance_id: str, database_id: str, query: str | list[str], **kw: Any):
        super().__init__(**kw)
        self.instance_id, self.database_id, self.query = instance_id, database_id, query
        self.project_id = self.impersonation_chain = None
        self.gcp_conn_id = "google_cloud_default"


class SnowflakeSqlApiOperator(Recorded, SQLExecuteQueryOperator):
    """Stand-in (the snowflake provider would move SQLAlchemy back to 2.0.58): the field layout of
    apache-airflow-providers-snowflake 6.20.0's operator."""

    template_fields = tuple(set(SQLExecuteQueryOperator.template_fields) | {"snowflake_conn_id"})
    recorded = ("sql",)

    def __init__(self, *, snowflake_conn_id: str = "snowflake_default", **kw: Any):
        super().__init__(conn_id=snowflake_conn_id, **kw)
        self.snowflake_conn_id = snowflake_conn_id


class ExasolToS3Operator(Recorded, BaseOperator):
    """Stand-in (the amazon provider's class imports the exasol provider, which needs pyexasol and
    is not in the test environment): the field layout of apache-airflow-providers-amazon's
    ``ExasolToS3Operator``."""

    template_fields = ("query_or_table", "key", "bucket_name", "query_params", "export_params")
    template_ext = (".sql",)
    recorded = ("query_or_table",)

    def __init__(self, *, query_or_table: str, key: str, bucket_name: str | None = None, **kw: Any):
        super().__init__(**kw)
        self.query_or_table, self.key, self.bucket_name = query_or_table, key, bucket_name
        self.query_params = self.export_params = None
        self.exasol_conn_id = "exasol_default"


class DdlOperator(Recorded, BaseOperator):
    """Stand-in (the teradata provider is not in the test environment: its TPT operators need
    Teradata's tbuild/tdload tools to run at all): the field layout of
    apache-airflow-providers-teradata's ``tpt.DdlOperator``."""

    template_fields = ("ddl", "ddl_job_name", "teradata_conn_id", "ssh_conn_id")
    template_ext = (".sql",)
    recorded = ("ddl",)

    def __init__(self, *, ddl: list[str], teradata_conn_id: str = "teradata_default", **kw: Any):
        super().__init__(**kw)
        self.ddl, self.teradata_conn_id = ddl, teradata_conn_id
        self.ddl_job_name = self.ssh_conn_id = None


class OracleToOracleOperator(Recorded, BaseOperator):
    """Stand-in (the oracle provider is not in the test environment: it needs an Oracle client to
    run): the field layout of apache-airflow-providers-oracle's transfer."""

    template_fields = ("source_sql", "source_sql_params")
    recorded = ("source_sql",)

    def __init__(self, *, source_sql: str, destination_table: str, **kw: Any):
        super().__init__(**kw)
        self.source_sql, self.destination_table, self.source_sql_params = source_sql, destination_table, {}
        self.oracle_source_conn_id = self.oracle_destination_conn_id = "oracle_default"


ExasolToS3Operator.__module__ = "airflow.providers.amazon.aws.transfers.exasol_to_s3"


class DataprocSubmitJobOperator(Recorded, BaseOperator):
    """Stand-in (the google provider is not installed: 108 more distributions): the field layout of
    apache-airflow-providers-google 22.8.0's operator."""

    template_fields = ("project_id", "region", "job", "gcp_conn_id", "impersonation_chain", "request_id")
    recorded = ("job",)

    def __init__(self, *, job: dict[str, Any], region: str = "r", **kw: Any):
        super().__init__(**kw)
        self.job, self.region = job, region
        self.project_id = self.impersonation_chain = self.request_id = None
        self.gcp_conn_id = "google_cloud_default"


DataprocSubmitJobOperator.__module__ = "airflow.providers.google.cloud.operators.dataproc"
DdlOperator.__module__ = "airflow.providers.teradata.operators.tpt"
OracleToOracleOperator.__module__ = "airflow.providers.oracle.transfers.oracle_to_oracle"
BigQueryInsertJobOperator.__module__ = "airflow.providers.google.cloud.operators.bigquery"
SpannerQueryDatabaseInstanceOperator.__module__ = "airflow.providers.google.cloud.operators.spanner"
SnowflakeSqlApiOperator.__module__ = "airflow.providers.snowflake.operators.snowflake"


def bigquery_job(sql: str) -> dict[str, Any]:
    return {"query": {"query": sql, "useLegacySql": False}}


def twins(name: str, make: Any, **kwargs: Any) -> DAG:
    """A DAG ``kp_<name>`` with ``allowed`` and ``denied`` tasks made by ``make(sql)``."""
    params = kwargs.pop("params", DECLARED)
    with DAG(f"kp_{name}", schedule=None, start_date=START, params=params, **kwargs) as dag:
        make("allowed", ALLOWED)
        make("denied", DENIED)
    return dag


common_sql = twins(
    "common_sql",
    lambda tid, sql: GenericTransfer(
        task_id=tid,
        source_conn_id=WAREHOUSE,
        destination_conn_id=WAREHOUSE,
        destination_table=f"main.copied_{tid}",
        preoperator=f"create or replace table main.copied_{tid} (region varchar, clients bigint)"
        if tid == "allowed"
        else "create or replace table main.copied_denied (full_name varchar, phone varchar)",
        sql=sql,
    ),
)
analytics = twins(
    "analytics",
    lambda tid, sql: Analytics(task_id=tid, datasource_configs=[], queries=[sql]),
    params={"kaitiaki": {"purpose": "benefit-uptake", "dialect": "postgres"}},
)
insert_rows = twins(
    "insert_rows",
    lambda tid, sql: InsertRows(
        task_id=tid, conn_id=WAREHOUSE, table_name="main.t", rows=[], preoperator=f"create table t as {sql}"
    ),
)
athena = twins(
    "athena", lambda tid, sql: Athena(task_id=tid, query=sql, database="msd", output_location="s3://o/")
)
sql_to_s3 = twins(
    "sql_to_s3",
    lambda tid, sql: SqlToS3(task_id=tid, query=sql, sql_conn_id=WAREHOUSE, s3_bucket="b", s3_key="k"),
)
redshift_to_s3 = twins(
    "redshift_to_s3",
    lambda tid, sql: RedshiftToS3(task_id=tid, select_query=sql, s3_bucket="b", s3_key="k"),
)
redshift_data = twins(
    "redshift_data",
    lambda tid, sql: RedshiftData(task_id=tid, sql=sql, database="dev", cluster_identifier="c"),
)
databricks = twins("databricks", lambda tid, sql: DatabricksSql(task_id=tid, sql=sql))
statements = twins(
    "databricks_statements",
    lambda tid, sql: DatabricksStatements(
        task_id=tid,
        warehouse_id="w",
        statement=sql.replace("{{ 6 }}", "6").replace("{{ 'full_name, phone' }}", "full_name, phone"),
    ),
)
deferred = twins(
    "deferred",
    lambda tid, sql: DeferredStatements(
        task_id=tid,
        warehouse_id="w",
        statement=sql.replace("{{ 6 }}", "6").replace("{{ 'full_name, phone' }}", "full_name, phone"),
    ),
)
spark = twins("spark", lambda tid, sql: SparkSql(task_id=tid, sql=sql))
hive = twins("hive", lambda tid, sql: Hive(task_id=tid, hql=sql))
trino = twins("trino", lambda tid, sql: OnTrino(task_id=tid, conn_id="trino_wh", sql=sql))
bigquery = twins(
    "bigquery", lambda tid, sql: BigQueryInsertJobOperator(task_id=tid, configuration=bigquery_job(sql))
)
spanner = twins(
    "spanner",
    lambda tid, sql: SpannerQueryDatabaseInstanceOperator(
        task_id=tid, instance_id="i", database_id="d", query=sql
    ),
    params={"kaitiaki": {"purpose": "benefit-uptake", "dialect": "bigquery"}},
)
snowflake = twins("snowflake", lambda tid, sql: SnowflakeSqlApiOperator(task_id=tid, sql=sql))
exasol = twins(
    "exasol",
    lambda tid, sql: ExasolToS3Operator(task_id=tid, query_or_table=sql, key="k", bucket_name="b"),
)
teradata = twins("teradata", lambda tid, sql: DdlOperator(task_id=tid, ddl=[sql]))
dataproc = twins(
    "dataproc",
    lambda tid, sql: DataprocSubmitJobOperator(
        task_id=tid, job={"spark_sql_job": {"query_list": {"queries": [sql]}}}
    ),
)
oracle = twins(
    "oracle",
    lambda tid, sql: OracleToOracleOperator(task_id=tid, source_sql=sql, destination_table=f"copy_{tid}"),
)

with DAG("kp_task_sql", schedule=None, start_date=START, params=DECLARED):

    @task.sql(conn_id=WAREHOUSE)
    def allowed() -> str:
        return ALLOWED.replace("{{ 6 }}", "{{ 3 + 3 }}")

    @task.sql(conn_id=WAREHOUSE)
    def denied() -> str:
        return DENIED

    allowed()
    denied()

with DAG("kp_mapped", schedule=None, start_date=START, params=DECLARED):
    Athena.partial(task_id="athena", database="msd", output_location="s3://o/").expand(
        query=[ALLOWED, DENIED]
    )
    BigQueryInsertJobOperator.partial(task_id="bigquery").expand(
        configuration=[bigquery_job(ALLOWED), bigquery_job(DENIED)]
    )
