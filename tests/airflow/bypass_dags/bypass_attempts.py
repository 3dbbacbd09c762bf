"""A DAG author's attempts to get an identifying read past the runtime guard (issue #7).

Each DAG ``kt_bypass_<name>`` tries one trick to run SQL that copies ``msd.clients.full_name``
(a direct identifier the declared purpose does not allow) into ``loot.<name>``. The test
(``tests/airflow/test_bypass_dags.py``) runs them all in one real Airflow process and checks
which tables exist afterwards: a blocked attempt leaves none.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.duckdb.hooks.duckdb import DuckDBHook
from airflow.sdk import DAG, Param, TaskGroup, task

WAREHOUSE = "nz_social_duckdb"
START = datetime(2026, 1, 1)
DECLARED = {"kaitiaki": {"purpose": "benefit-uptake"}}
HARMLESS = "select count(*) as clients from msd.clients where not opted_out"


def loot(name: str, columns: str = "full_name") -> str:
    """SQL that copies identifying columns into ``loot.<name>``."""
    return f"create table loot.{name} as select {columns} from msd.clients where not opted_out"


def bypass_dag(name: str, **kwargs: Any) -> DAG:
    kwargs.setdefault("params", DECLARED)
    return DAG(f"kt_bypass_{name}", schedule=None, start_date=START, **kwargs)


def query(name: str, **kwargs: Any) -> SQLExecuteQueryOperator:
    kwargs.setdefault("sql", loot(name))
    return SQLExecuteQueryOperator(task_id=name, conn_id=WAREHOUSE, **kwargs)


# --- declarations: downgrade the mode, waive, or dodge the purpose -------------------------------

with bypass_dag("mode_on_dag", params={"kaitiaki": {"purpose": "benefit-uptake", "mode": "warn"}}):
    query("mode_on_dag")

with bypass_dag("mode_on_task"):
    query("mode_on_task", params={"kaitiaki": {"mode": "audit"}})

with bypass_dag("self_waiver"):
    query(
        "self_waiver",
        params={
            "kaitiaki": {
                "waivers": [{"job": "*", "rule": "PM-03", "approved_by": "me", "expires": "2099-01-01"}],
                "levels": {"PM-03": "advisory"},
            }
        },
    )

with bypass_dag(
    "two_purpose_tags", params={}, tags=["purpose:benefit-uptake", "purpose:benefit-health-research"]
):
    query("two_purpose_tags")

with bypass_dag("purpose_tag_case", params={}, tags=["Purpose:benefit-uptake"]):
    query("purpose_tag_case")

with bypass_dag("purpose_tag_space", params={}, tags=["purpose: benefit-uptake "]):
    query("purpose_tag_space")

with bypass_dag("run_conf_declaration"):
    query("run_conf_declaration")

with bypass_dag("run_conf_mapped"):
    SQLExecuteQueryOperator.partial(task_id="run_conf_mapped", conn_id=WAREHOUSE).expand(
        sql=[loot("run_conf_mapped")]
    )

with bypass_dag("param_object", params={"kaitiaki": Param({"purpose": "benefit-uptake"}, type="object")}):
    query("param_object")

# --- SQL that is not a plain literal in the sql field --------------------------------------------

with bypass_dag("sql_list"):
    query("sql_list", sql=[HARMLESS, loot("sql_list")])

with bypass_dag("sql_file", template_searchpath=[str(Path(__file__).parent)]):
    query("sql_file", sql="bypass_sql_file.sql")

with bypass_dag("variable_jinja"):
    query("variable_jinja", sql=loot("variable_jinja", "{{ var.value.kt_columns }}"))

with bypass_dag("run_conf_jinja", params={**DECLARED, "columns": "region"}):
    query("run_conf_jinja", sql=loot("run_conf_jinja", "{{ params.columns }}"))

with bypass_dag("bind_parameter_sql"):
    query(
        "bind_parameter_sql",
        sql="create table loot.bind_parameter_sql as select * from query($1)",
        parameters=["select full_name from msd.clients where not opted_out"],
    )

with bypass_dag("dialect_quotes", params={"kaitiaki": {"purpose": "benefit-uptake", "dialect": "mysql"}}):
    query("dialect_quotes", sql=loot("dialect_quotes", '"full_name"'))

# --- removing or outrunning the guard -----------------------------------------------------------

with bypass_dag("hook_cleared_in_file"):
    cleared = query("hook_cleared_in_file")
    cleared._pre_execute_hook = None


class UntemplatedQuery(SQLExecuteQueryOperator):
    """No template fields, so nothing is named ``sql`` among them."""

    template_fields = ()


with bypass_dag("untemplated_sql"):
    UntemplatedQuery(task_id="untemplated_sql", conn_id=WAREHOUSE, sql=loot("untemplated_sql"))

with bypass_dag("mapped_hook"):
    SQLExecuteQueryOperator.partial(task_id="mapped_hook", conn_id=WAREHOUSE).expand(
        sql=[loot("mapped_hook")], pre_execute=[None]
    )

with bypass_dag("mapped_kwargs_hook"):
    SQLExecuteQueryOperator.partial(task_id="mapped_kwargs_hook", conn_id=WAREHOUSE).expand_kwargs(
        [{"sql": loot("mapped_kwargs_hook"), "pre_execute": None}], strict=False
    )

with bypass_dag("mapped_kwargs"):
    SQLExecuteQueryOperator.partial(task_id="mapped_kwargs", conn_id=WAREHOUSE).expand_kwargs(
        [{"sql": loot("mapped_kwargs")}]
    )

with bypass_dag("teardown_in_group"), TaskGroup("group"):
    setup = query("setup", sql="select 1 as one").as_setup()
    setup >> query("fails", sql="select * from nowhere.missing")
    setup >> query("teardown_in_group").as_teardown(setups=setup)

with bypass_dag("mapped_params"):
    SQLExecuteQueryOperator.partial(
        task_id="mapped_params", conn_id=WAREHOUSE, sql=loot("mapped_params")
    ).expand(params=[{"kaitiaki": {"purpose": "benefit-uptake", "mode": "warn"}}])


def swap_sql(context: Any) -> None:
    context["task"].sql = loot(context["task"].task_id)


with bypass_dag("sql_swapped_by_hook"):
    query("sql_swapped_by_hook", sql=HARMLESS, pre_execute=swap_sql)

with bypass_dag("sql_swapped_by_callback"):
    query("sql_swapped_by_callback", sql=HARMLESS, on_execute_callback=swap_sql)


class SwappingQuery(SQLExecuteQueryOperator):
    """Changes its SQL in its own pre_execute, which Airflow calls after the pre-execute hook."""

    def pre_execute(self, context: Any) -> None:
        self.sql = loot(self.task_id)


with bypass_dag("sql_swapped_by_method"):
    SwappingQuery(task_id="sql_swapped_by_method", conn_id=WAREHOUSE, sql=HARMLESS)


class OwnExecuteQuery(SQLExecuteQueryOperator):
    """Shows the guard harmless SQL and runs other SQL in its own execute."""

    def execute(self, context: Any) -> None:
        DuckDBHook(duckdb_conn_id=self.conn_id).run(loot(self.task_id))


with bypass_dag("own_execute"):
    OwnExecuteQuery(task_id="own_execute", conn_id=WAREHOUSE, sql=HARMLESS)

with bypass_dag("python_task"):

    @task(task_id="python_task")
    def python_task() -> None:
        DuckDBHook(duckdb_conn_id=WAREHOUSE).run(loot("python_task"))

    python_task()

with bypass_dag("sql_decorator"):

    @task.sql(task_id="sql_decorator", conn_id=WAREHOUSE)
    def sql_decorator() -> str:
        return loot("sql_decorator")

    sql_decorator()
