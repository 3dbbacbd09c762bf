"""Allowed: benefit uptake by region, aggregated, opt-outs filtered, small cells suppressed.

kaitiaki checks each SQL task's rendered SQL just before it runs; this pipeline uses the
agency's own client number only inside ``count(distinct …)``, keeps regions of six or more
clients and drops clients who opted out, so it runs. The purpose comes from the DAG tag
``purpose:benefit-uptake``; the DAG's other tags (``retention:P2Y``) reach the policies as tags.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

WAREHOUSE = "nz_social_duckdb"

with DAG(
    dag_id="nz_social_benefit_uptake",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["nz_social", "purpose:benefit-uptake", "retention:P2Y"],
    default_args={"retries": 1},
):
    uptake_by_region = SQLExecuteQueryOperator(
        task_id="uptake_by_region",
        conn_id=WAREHOUSE,
        sql=[
            "create schema if not exists analytics",
            """
            create or replace table analytics.benefit_uptake_by_region as
            select region, count(distinct client_number) as clients
            from msd.clients
            where not opted_out
            group by region
            having count(distinct client_number) >= 6
            """,
        ],
    )
    regions_published = SQLExecuteQueryOperator(
        task_id="regions_published",
        conn_id=WAREHOUSE,
        sql="select count(*) as regions from analytics.benefit_uptake_by_region",
    )
    uptake_by_region >> regions_published
