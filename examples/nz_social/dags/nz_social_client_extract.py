"""Blocked at runtime: a column list from params makes the SQL harmful only once rendered.

The template names no column, so nothing can be said about it when the file is parsed. With
the default params it renders to an external extract of client names and phone numbers under
a purpose that allows neither: kaitiaki fails ``client_extract`` before it opens the warehouse,
without retries, and ``extract_rows`` ends ``upstream_failed``. Triggered with the conf
``{"columns": ["region", "benefit_type"]}`` the same task renders to harmless SQL and runs.
Purpose and destination come from ``params["kaitiaki"]`` in this file: a run's conf cannot
change them.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

WAREHOUSE = "nz_social_duckdb"

with DAG(
    dag_id="nz_social_client_extract",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["nz_social", "retention:P1Y"],
    params={
        "kaitiaki": {"purpose": "benefit-uptake", "destination": {"kind": "external", "region": "nz"}},
        "columns": ["client_number", "full_name", "phone", "region"],
        "region": "Waikato",
    },
    default_args={"retries": 2},
):
    client_extract = SQLExecuteQueryOperator(
        task_id="client_extract",
        conn_id=WAREHOUSE,
        sql=[
            "create schema if not exists exports",
            """
            create or replace table exports.client_extract as
            select {{ params.columns | join(', ') }}
            from msd.clients
            where region = '{{ params.region }}' and not opted_out
            """,
        ],
    )
    extract_rows = SQLExecuteQueryOperator(
        task_id="extract_rows",
        conn_id=WAREHOUSE,
        sql="select count(*) as rows_extracted from exports.client_extract",
        params={"kaitiaki": {"destination": "internal"}},  # a check that stays in the agency
    )
    client_extract >> extract_rows
