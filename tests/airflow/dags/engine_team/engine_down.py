"""A team folder whose kaitiaki.yaml points at an OPA server that does not answer.

The nearest kaitiaki.yaml above a DAG file wins, so this DAG is checked under its team's
config. SYS-02 blocks the task, but leaves it to its retries: nothing about the task is wrong.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

with DAG(
    "kaitiaki_engine_down",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"kaitiaki": {"purpose": "benefit-uptake"}},
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
):
    waits = SQLExecuteQueryOperator(
        task_id="waits_for_engine",
        conn_id="nz_social_duckdb",
        sql="select count(distinct client_number) as {{ 'clients' }} from msd.clients where not opted_out",
    )
    waits >> SQLExecuteQueryOperator(
        task_id="after_engine", conn_id="nz_social_duckdb", sql="select 1 as one"
    )
