"""A team folder whose kaitiaki.yaml is invalid: its SQL tasks fail closed, naming file and line.

The author's pre-execute hook must not run either: kaitiaki checks first.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG


def mark_author_hook(context: Any) -> None:
    """The DAG author's own pre-execute hook: leaves a file named after the task."""
    Path(os.environ["KT_MARKERS"], context["task"].task_id).write_text("ran", encoding="utf-8")


with DAG("kaitiaki_broken_config", schedule=None, start_date=datetime(2026, 1, 1)):
    SQLExecuteQueryOperator(
        task_id="under_broken_config",
        conn_id="nz_social_duckdb",
        sql="select {{ 1 }} as one",
        pre_execute=mark_author_hook,
    )
