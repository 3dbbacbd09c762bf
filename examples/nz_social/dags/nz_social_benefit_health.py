"""Flagged at parse time: literal SQL that links benefit and health records on the NHI.

The SQL has no template, so kaitiaki checks it when Airflow parses this file. With the default
``airflow: {parse_time_check: warn}`` the DAG processor logs the explanation (MSD clients
linked to hospital records through the NHI, another agency's identifier, without linking
approval, and without honouring opt-outs), and the runtime guard blocks the task when it runs.
With ``parse_time_check: block`` Airflow records an import error for the *whole file*, so
``nz_social_benefit_counts`` below, which is harmless, stops being scheduled too: keep DAGs
that may block at parse time in files of their own.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

WAREHOUSE = "nz_social_duckdb"

with DAG(
    dag_id="nz_social_benefit_health",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["nz_social", "purpose:benefit-health-research", "retention:P1Y"],
    default_args={"retries": 0},
):
    SQLExecuteQueryOperator(
        task_id="benefit_health",
        conn_id=WAREHOUSE,
        sql="""
        create or replace table analytics.benefit_health as
        select c.client_number, c.benefit_type, p.diagnosis_code
        from msd.clients c
        join stats.spine s on s.client_number = c.client_number
        join health.patients p on p.nhi = s.nhi
        """,
    )

with DAG(
    dag_id="nz_social_benefit_counts",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["nz_social", "purpose:benefit-uptake"],
    default_args={"retries": 0},
):
    SQLExecuteQueryOperator(
        task_id="benefit_types",
        conn_id=WAREHOUSE,
        sql="""
        select benefit_type, count(distinct client_number) as clients
        from msd.clients
        where not opted_out
        group by benefit_type
        having count(distinct client_number) >= 6
        """,
    )
