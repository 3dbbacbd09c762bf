"""The DAG the wheel-install test runs with ``airflow dags test`` in a clean venv (sqlite warehouse)."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

with DAG("kt_wheel", schedule=None, start_date=datetime(2026, 1, 1), default_args={"retries": 0}):
    SQLExecuteQueryOperator(
        task_id="allowed",
        conn_id="kt_sqlite",
        sql="create table region_counts as "
        "select region, count(*) as clients from clients group by region having count(*) >= {{ 6 }}",
    )
    SQLExecuteQueryOperator(
        task_id="denied", conn_id="kt_sqlite", sql="select {{ 'full_name' }}, region from clients"
    )
