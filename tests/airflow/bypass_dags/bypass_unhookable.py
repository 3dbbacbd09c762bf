"""An operator that will not keep kaitiaki's guard: the policy refuses the whole DAG file.

Kept apart from ``bypass_attempts.py`` because the refusal is an import error of its file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG


class UnhookableQuery(SQLExecuteQueryOperator):
    """Swallows any pre-execute hook set on it, kaitiaki's included."""

    @property
    def _pre_execute_hook(self) -> None:
        return None

    @_pre_execute_hook.setter
    def _pre_execute_hook(self, value: Any) -> None:
        pass


with DAG(
    "kt_bypass_hook_property",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"kaitiaki": {"purpose": "benefit-uptake"}},
):
    UnhookableQuery(
        task_id="hook_property",
        conn_id="nz_social_duckdb",
        sql="create table loot.hook_property as select full_name from msd.clients where not opted_out",
    )
