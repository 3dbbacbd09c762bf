"""A cosmos DbtTaskGroup over the nz_social example (copied and compiled by the test).

Four model tasks: ``stg_msd_clients`` → ``benefit_uptake_by_region`` (allowed), and
``nhi_benefit_match`` (denied: PM-11) → ``benefit_health_summary`` (clean, but downstream).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import LoadMode, TestBehavior

PROJECT = Path(os.environ["KT_DBT_PROJECT"])
MODELS = ["stg_msd_clients", "benefit_uptake_by_region", "nhi_benefit_match", "benefit_health_summary"]

with DAG("kt_cosmos", schedule=None, start_date=datetime(2026, 1, 1)):
    DbtTaskGroup(
        group_id="nz",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT,
            manifest_path=PROJECT / "target" / "manifest.json",
            project_name="nz_social",
        ),
        profile_config=ProfileConfig(
            profile_name="nz_social", target_name="dev", profiles_yml_filepath=PROJECT / "profiles.yml"
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.NONE, select=MODELS
        ),
        execution_config=ExecutionConfig(dbt_executable_path=os.environ["KT_DBT_EXECUTABLE"]),
        default_args={"retries": 0},
    )
