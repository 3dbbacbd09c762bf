"""apache-hive: ``HiveOperator.hql`` and ``HiveToSambaOperator.hql`` (HiveQL)."""

from __future__ import annotations

from typing import Any

from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql
from kaitiaki_airflow.operators import held, held_conn, is_one_of

PACKAGE = "airflow.providers.apache.hive"
HQL = frozenset(
    {f"{PACKAGE}.operators.hive.HiveOperator", f"{PACKAGE}.transfers.hive_to_samba.HiveToSambaOperator"}
)


@hookimpl(trylast=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    if not is_one_of(task, HQL):
        return None
    return TaskSql(
        values=(held(task, "hql"),),
        fields=("hql",),
        conn_ids=held_conn(task, "hive_cli_conn_id", "hiveserver2_conn_id"),
        dialect="hive",
        provider="apache-hive",
    )
