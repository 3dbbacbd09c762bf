"""DAGs that exercise the guard's mechanics; the tests copy this file into a scenario's DAGs folder.

Every SQL here is templated or harmless at parse time, so what they show happens at runtime:
the author's own pre-execute hook still runs after an allowed check and never after a denial,
an unknown connection type fails closed, each mapped copy is checked on its own rendered SQL,
and a custom operator is guarded because it has a ``sql`` template field.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.duckdb.hooks.duckdb import DuckDBHook
from airflow.sdk import DAG, BaseOperator

WAREHOUSE = "nz_social_duckdb"
START = datetime(2026, 1, 1)
DECLARED = {"kaitiaki": {"purpose": "benefit-uptake"}}


def mark_author_hook(context: Any) -> None:
    """The DAG author's own pre-execute hook: leaves a file named after the task."""
    Path(os.environ["KT_MARKERS"], context["task"].task_id).write_text("ran", encoding="utf-8")


class WarehouseQueryOperator(BaseOperator):
    """A team's own operator: not common-sql, but it has a ``sql`` template field."""

    template_fields = ("sql",)
    template_ext = (".sql",)

    def __init__(self, *, sql: str, warehouse_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.warehouse_conn_id = warehouse_conn_id

    def execute(self, context: Any) -> None:
        DuckDBHook(duckdb_conn_id=self.warehouse_conn_id).run(self.sql)


with DAG("kaitiaki_author_hook", schedule=None, start_date=START, params=DECLARED):
    SQLExecuteQueryOperator(
        task_id="allowed_with_hook",
        conn_id=WAREHOUSE,
        sql="select region, count(distinct client_number) as clients from msd.clients where not opted_out "
        "group by region having count(distinct client_number) >= {{ 6 }}",
        pre_execute=mark_author_hook,
    )
    SQLExecuteQueryOperator(
        task_id="denied_with_hook",
        conn_id=WAREHOUSE,
        sql="select {{ 'full_name, phone' }} from msd.clients where not opted_out",
        pre_execute=mark_author_hook,
    )

with DAG("kaitiaki_unknown_connection", schedule=None, start_date=START, params=DECLARED):
    unknown = SQLExecuteQueryOperator(
        task_id="on_unknown_connection", conn_id="legacy_odbc", sql="select {{ 1 }} as one"
    )
    unknown >> SQLExecuteQueryOperator(task_id="after_unknown", conn_id=WAREHOUSE, sql="select 1 as one")

with DAG("kaitiaki_mapped", schedule=None, start_date=START, params=DECLARED):
    SQLExecuteQueryOperator.partial(task_id="mapped_sql", conn_id=WAREHOUSE).expand(
        sql=[
            "select count(*) as {{ 'clients' }} from msd.clients where not opted_out",
            "select {{ 'full_name, phone' }} from msd.clients where not opted_out",
        ]
    )

with DAG("kaitiaki_custom_operator", schedule=None, start_date=START, params=DECLARED):
    WarehouseQueryOperator(
        task_id="custom_denied",
        warehouse_conn_id=WAREHOUSE,
        sql="create table msd.contact_copy as select {{ 'full_name, phone' }} from msd.clients "
        "where not opted_out",
    )
