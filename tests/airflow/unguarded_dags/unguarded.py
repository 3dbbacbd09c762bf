"""A DAG mixing tasks kaitiaki reads with tasks it cannot; the tests copy it into a scenario.

``hook_in_python`` runs SQL through a hook from Python: no reader can see it, so it is unguarded.
``shell`` is allowlisted by operator, ``python_approved`` by task id, ``start`` runs no author code.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.duckdb.hooks.duckdb import DuckDBHook
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task

WAREHOUSE = "nz_social_duckdb"


def names_through_a_hook() -> None:
    """SQL kaitiaki never sees: it would be denied in a SQL operator."""
    rows = DuckDBHook(duckdb_conn_id=WAREHOUSE).get_records("select full_name from msd.clients")
    Path(os.environ["KT_MARKERS"], "hook_in_python").write_text(str(len(rows)), encoding="utf-8")


with DAG(
    "kt_unguarded",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"kaitiaki": {"purpose": "benefit-uptake"}},
):
    start = EmptyOperator(task_id="start")
    counted = SQLExecuteQueryOperator(
        task_id="counted",
        conn_id=WAREHOUSE,
        sql="select region, count(distinct client_number) as clients from msd.clients where not opted_out "
        "group by region having count(distinct client_number) >= {{ 6 }}",
    )
    hook_in_python = PythonOperator(task_id="hook_in_python", python_callable=names_through_a_hook)
    shell = BashOperator(task_id="shell", bash_command='touch "$KT_MARKERS/shell"')

    @task(task_id="python_approved")
    def python_approved() -> None:
        Path(os.environ["KT_MARKERS"], "python_approved").write_text("ran", encoding="utf-8")

    start >> [counted, hook_in_python, shell, python_approved()]
