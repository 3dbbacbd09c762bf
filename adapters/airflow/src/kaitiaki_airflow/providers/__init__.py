"""Where each provider family's operators keep their SQL: one ``kaitiaki_task_sql`` hookimpl each.

All are ``trylast``, so a platform team's own plugin is asked first. pluggy asks ``trylast``
hookimpls in the order they were registered: the generic ``sql`` field reader comes last here,
so it is asked last of all.
"""

from __future__ import annotations

PROVIDER_PLUGINS: tuple[str, ...] = (
    "kaitiaki_airflow.providers.common_sql",
    "kaitiaki_airflow.providers.google",
    "kaitiaki_airflow.providers.amazon",
    "kaitiaki_airflow.providers.databricks",
    "kaitiaki_airflow.providers.snowflake",
    "kaitiaki_airflow.providers.spark",
    "kaitiaki_airflow.providers.hive",
    "kaitiaki_airflow.providers.teradata",
    "kaitiaki_airflow.providers.oracle",
    "kaitiaki_airflow.providers.mysql",
    "kaitiaki_airflow.providers.cosmos",
    "kaitiaki_airflow.providers.generic",
)
