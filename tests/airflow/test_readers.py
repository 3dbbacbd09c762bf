"""The ``kaitiaki_task_sql`` readers on real provider operator objects (no DAG run needed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from airflow.providers.amazon.aws.transfers.redshift_to_s3 import RedshiftToS3Operator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.databricks.operators.databricks import DatabricksSQLStatementsOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseOperator
from kaitiaki_airflow.locate import locate, plugin_manager
from kaitiaki_airflow.providers.google import insert_job_sql
from kaitiaki_airflow.tasks import held_sql, static_sql

from kaitiaki.errors import KaitiakiError
from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import TaskSql

pytestmark = pytest.mark.airflow

START = datetime(2026, 1, 1)


def noop() -> None:
    """A Python callable: the task runs code, not SQL kaitiaki can read."""


class LakeQueryOperator(BaseOperator):
    """An in-house operator keeping its SQL in ``statement_text``."""

    template_fields = ("statement_text",)

    def __init__(self, *, statement_text: str, lake_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statement_text, self.lake_conn_id = statement_text, lake_conn_id


class LakePlugin:
    """What docs/airflow.md shows a platform team writing."""

    @hookimpl
    def kaitiaki_task_sql(self, task: Any) -> TaskSql | None:
        if not isinstance(task, LakeQueryOperator):
            return None
        return TaskSql(
            values=(task.statement_text,), fields=("statement_text",), conn_ids=(task.lake_conn_id,)
        )


def test_an_in_house_operator_is_read_by_a_plugin_of_a_few_lines() -> None:
    with DAG("d", schedule=None, start_date=START):
        lake = LakeQueryOperator(task_id="lake", statement_text="select 1", lake_conn_id="lake")
    assert locate(lake) is None, "no reader knows the in-house operator until its plugin is registered"
    plugin = LakePlugin()
    plugin_manager().register(plugin, name="lake")
    try:
        found = locate(lake)
    finally:
        plugin_manager().unregister(plugin)
    assert found is not None and (found.values, found.conn_id) == (("select 1",), "lake")


def test_python_tasks_have_no_reader() -> None:
    with DAG("d", schedule=None, start_date=START):
        python = PythonOperator(task_id="python", python_callable=noop)
        sql = SQLExecuteQueryOperator(task_id="sql", conn_id="c", sql="select 1")
    assert locate(python) is None
    assert locate(sql) is not None


def test_bigquery_legacy_sql_fails_closed_and_standard_sql_is_read() -> None:
    legacy = insert_job_sql({"query": {"query": "select full_name from [msd.clients]"}}, ("gcp",))
    standard = insert_job_sql({"query": {"query": "select 1", "useLegacySql": False}}, ("gcp",))
    prefixed = insert_job_sql({"query": {"query": "#standardSQL\nselect 1"}}, ("gcp",))
    load_job = insert_job_sql({"load": {"sourceUris": ["gs://b/x.csv"]}}, ("gcp",))
    with pytest.raises(KaitiakiError, match="legacy SQL"):
        held_sql(legacy, where="task d.t")
    assert held_sql(standard, where="task d.t") == "select 1" and standard.dialect == "bigquery"
    assert prefixed.problem is None
    assert load_job.fields == () and load_job.problem is None, "a load job runs no SQL"


def test_a_table_only_unload_is_read_as_the_select_star_it_runs() -> None:
    with DAG("d", schedule=None, start_date=START):
        table_only = RedshiftToS3Operator(
            task_id="t", schema="msd", table="clients", s3_bucket="b", s3_key="k"
        )
        query = RedshiftToS3Operator(task_id="q", select_query="select 1", s3_bucket="b", s3_key="k")
    found = locate(table_only)
    assert (
        found is not None and found.values == ("SELECT * FROM msd.clients",) and found.dialect == "redshift"
    )
    assert locate(query) is not None and locate(query).values == ("select 1",)  # type: ignore[union-attr]


def test_a_statement_outside_the_template_fields_is_final_at_parse_time() -> None:
    with DAG("d", schedule=None, start_date=START):
        task = DatabricksSQLStatementsOperator(
            task_id="s", statement="select full_name from msd.clients", warehouse_id="w"
        )
    found = locate(task)
    assert found is not None and static_sql(task, found) == "select full_name from msd.clients"


def test_a_reader_that_fails_leaves_a_problem_not_a_pass() -> None:
    class Broken:
        @hookimpl
        def kaitiaki_task_sql(self, task: Any) -> TaskSql | None:
            raise RuntimeError("boom")

    with DAG("d", schedule=None, start_date=START):
        task = SQLExecuteQueryOperator(task_id="sql", conn_id="c", sql="select 1")
    plugin = Broken()
    plugin_manager().register(plugin, name="broken")
    try:
        found = locate(task)
    finally:
        plugin_manager().unregister(plugin)
    assert found is not None and found.problem and "boom" in found.problem
    with pytest.raises(KaitiakiError, match="cannot read the SQL"):
        held_sql(found, where="task d.sql")


def test_a_cosmos_selection_must_resolve_to_the_decided_node_alone() -> None:
    from kaitiaki_airflow.dbt_nodes import require_selects_only
    from kaitiaki_dbt.manifest import DbtProject

    nodes = {
        "model.p.orders": {"name": "orders", "fqn": ["p", "marts", "orders"]},
        "model.p.orders_v2": {"name": "orders_v2", "fqn": ["p", "marts", "orders_v2"]},
        "model.q.orders": {"name": "orders", "fqn": ["q", "orders"]},
        "model.p.users": {"name": "users", "fqn": ["p", "marts", "users"]},
    }
    project = DbtProject(manifest={"nodes": nodes}, path=None)
    require_selects_only(project, "users", "model.p.users")
    require_selects_only(project, "fqn:p.marts.orders_v2", "model.p.orders_v2")
    with pytest.raises(KaitiakiError, match="dbt would run what kaitiaki did not decide"):
        require_selects_only(project, "orders", "model.p.orders")  # also q's orders
    with pytest.raises(KaitiakiError, match="dbt would run"):
        require_selects_only(project, "fqn:p.marts", "model.p.users")  # the whole folder


def test_a_stale_manifest_fails_closed_and_a_current_one_passes(tmp_path: Any) -> None:
    from kaitiaki_airflow.dbt_nodes import file_checksum, require_current

    model = tmp_path / "models" / "users.sql"
    model.parent.mkdir()
    model.write_text("select region from {{ ref('clients') }}\n", encoding="utf-8")
    node = {
        "original_file_path": "models/users.sql",
        "checksum": {"name": "sha256", "checksum": file_checksum(model)},
    }
    require_current(node, tmp_path, uid="model.p.users", manifest="target/manifest.json")
    model.write_text("select full_name from {{ ref('clients') }}\n", encoding="utf-8")
    with pytest.raises(KaitiakiError, match="is not the file the dbt manifest"):
        require_current(node, tmp_path, uid="model.p.users", manifest="target/manifest.json")


def test_a_cosmos_selection_that_could_run_more_is_a_problem_at_once() -> None:
    from kaitiaki_airflow.providers.cosmos import selection_problem

    class Task:
        selector = None
        models = None

    assert selection_problem(Task(), "nhi_benefit_match") is None
    assert selection_problem(Task(), "fqn:nz_social.marts.nhi_benefit_match") is None
    for wider in ("nhi_benefit_match+", "tag:pii", "a b", ["a", "b"], None):
        assert selection_problem(Task(), wider) is not None, wider


def stand_in(module: str, name: str, **fields: Any) -> type:
    """A class with a provider operator's module, name and fields, for providers not installed here
    (teradata and oracle need their vendors' client tools to run; google pulls 108 packages; the
    mysql and exasol ones need their database drivers): the readers match operators by module and
    class name."""

    def __init__(self: Any, **kwargs: Any) -> None:
        given = {k: kwargs.pop(k) for k in list(kwargs) if k in fields}
        BaseOperator.__init__(self, **kwargs)
        for key, default in fields.items():
            setattr(self, key, given.get(key, default))

    cls = type(name, (BaseOperator,), {"__init__": __init__, "template_fields": tuple(fields)})
    cls.__module__ = module
    return cls


def test_teradata_tdload_reads_its_select_or_the_table_it_exports_and_refuses_a_job_file() -> None:
    TdLoad = stand_in(
        "airflow.providers.teradata.operators.tpt",
        "TdLoadOperator",
        select_stmt=None,
        insert_stmt=None,
        source_table=None,
        tdload_job_var_file=None,
        teradata_conn_id="td",
        target_teradata_conn_id=None,
    )
    with DAG("d", schedule=None, start_date=START):
        export = TdLoad(task_id="export", source_table="msd.clients")
        filtered = TdLoad(task_id="filtered", select_stmt="select region from msd.clients")
        job_file = TdLoad(task_id="job_file", source_table="msd.clients", tdload_job_var_file="/jobs/v.txt")
    found = locate(export)
    assert found is not None and (found.dialect, found.conn_ids) == ("teradata", ("td",))
    assert held_sql(found, where="export") == "SELECT * FROM msd.clients"
    located = locate(filtered)
    assert located is not None and held_sql(located, where="f") == "select region from msd.clients"
    problem = locate(job_file)
    assert problem is not None and "tdload_job_var_file" in str(problem.problem)


def test_a_mysql_transfer_is_read_on_its_source_and_fails_closed_with_a_mysql_preoperator() -> None:
    Transfer = stand_in(
        "airflow.providers.mysql.transfers.trino_to_mysql",
        "TrinoToMySqlOperator",
        sql=None,
        mysql_preoperator=None,
        mysql_table="t",
        trino_conn_id="trino_wh",
        mysql_conn_id="my",
    )
    with DAG("d", schedule=None, start_date=START):
        plain = Transfer(task_id="plain", sql="select region from msd.clients")
        pre = Transfer(task_id="pre", sql="select 1", mysql_preoperator="insert into x select nhi from h.p")
    found = locate(plain)
    assert found is not None and (found.fields, found.conn_ids, found.problem) == (
        ("sql",),
        ("trino_wh",),
        None,
    )
    refused = locate(pre)
    assert refused is not None and refused.fields == ("sql", "mysql_preoperator")
    assert "mysql_preoperator runs on MySQL" in str(refused.problem)


def test_an_exasol_export_of_a_table_is_read_as_the_select_star_it_runs() -> None:
    ExasolToS3Operator = stand_in(  # the real class imports the exasol provider (pyexasol), not installed
        "airflow.providers.amazon.aws.transfers.exasol_to_s3",
        "ExasolToS3Operator",
        query_or_table=None,
        key=None,
        exasol_conn_id="exasol_default",
    )
    with DAG("d", schedule=None, start_date=START):
        table = ExasolToS3Operator(task_id="table", query_or_table="msd.clients", key="k")
        query = ExasolToS3Operator(task_id="query", query_or_table="select region from msd.clients", key="k")
    by_table, by_query = locate(table), locate(query)
    assert by_table is not None and held_sql(by_table, where="t") == "SELECT * FROM msd.clients"
    assert by_query is not None and held_sql(by_query, where="q") == "select region from msd.clients"
    assert by_table.dialect == "exasol"


def test_a_borderline_operator_is_unguarded_with_its_reason_and_an_unknown_one_with_the_generic() -> None:
    from kaitiaki_airflow.unguarded import UNGUARDED, coverage

    from kaitiaki.config import Settings

    Dataproc = stand_in(
        "airflow.providers.google.cloud.operators.dataproc", "DataprocSubmitJobOperator", job={}
    )
    Other = stand_in("acme.operators", "LakeJobOperator", job={})
    with DAG("d", schedule=None, start_date=START):
        dataproc = Dataproc(
            task_id="dataproc", job={"pyspark_job": {"main_python_file_uri": "gs://b/job.py"}}
        )
        other = Other(task_id="other")
    assert locate(dataproc) is None and locate(other) is None
    found = coverage(dataproc, None, Settings())
    assert found.status == UNGUARDED and found.reason.startswith("runs a Dataproc job that is not a SQL one")
    generic = coverage(other, None, Settings())
    assert (
        generic.status == UNGUARDED and "no kaitiaki_task_sql reader knows acme.operators" in generic.reason
    )


def cosmos_task(cls: type, **held_values: Any) -> Any:
    """A cosmos operator object as the reader sees one (its attributes), without cosmos's setup."""
    task = cls.__new__(cls)
    vars(task).update(held_values)
    return task


def test_cosmos_container_modes_are_decided_from_the_workers_project_or_fail_closed(tmp_path: Any) -> None:
    """Kubernetes, Docker… run dbt inside an image: kaitiaki decides from the manifest and the
    project on the worker, and says so when the project is not there. (The kubernetes and docker
    providers cosmos needs for those classes are not installed: a class named as cosmos names its
    kubernetes operator stands in, on cosmos's real local operator.)"""
    from cosmos.operators.local import DbtRunLocalOperator
    from kaitiaki_airflow.dbt_nodes import file_checksum, require_current

    kubernetes = type("DbtRunKubernetesOperator", (DbtRunLocalOperator,), {})
    kubernetes.__module__ = "cosmos.operators.kubernetes"
    node = {"unique_id": "model.p.users", "resource_type": "model"}
    held_values = {
        "extra_context": {"dbt_node_config": node},
        "select": "users",
        "project_dir": str(tmp_path),
    }
    in_pod = locate(cosmos_task(kubernetes, **held_values))
    on_worker = locate(cosmos_task(DbtRunLocalOperator, **held_values))
    assert in_pod is not None and (in_pod.provider, in_pod.dbt_node) == (
        "cosmos (kubernetes mode)",
        node["unique_id"],
    )
    assert on_worker is not None and on_worker.provider == "cosmos" and in_pod.problem is None
    manifest_node = {
        "original_file_path": "models/users.sql",
        "checksum": {"name": "sha256", "checksum": "0"},
    }
    with pytest.raises(KaitiakiError, match=r"runs inside a container \(cosmos \(kubernetes mode\)\)"):
        require_current(manifest_node, tmp_path, uid="model.p.users", manifest="m", container=in_pod.provider)
    model = tmp_path / "models" / "users.sql"
    model.parent.mkdir()
    model.write_text("select region from {{ ref('clients') }}\n", encoding="utf-8")
    current = {**manifest_node, "checksum": {"name": "sha256", "checksum": file_checksum(model)}}
    require_current(current, tmp_path, uid="model.p.users", manifest="m", container=in_pod.provider)


def test_the_cosmos_watcher_producer_fails_closed_and_a_virtualenv_task_is_read() -> None:
    from cosmos.operators.virtualenv import DbtRunVirtualenvOperator
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    producer = locate(cosmos_task(DbtProducerWatcherOperator, extra_context={}, select=None))
    assert producer is not None and "runs the whole project's dbt build in one task" in str(producer.problem)
    node = {"unique_id": "model.p.users", "resource_type": "model"}
    venv = locate(
        cosmos_task(DbtRunVirtualenvOperator, extra_context={"dbt_node_config": node}, select="users")
    )
    assert venv is not None and (venv.provider, venv.problem, venv.dbt_node) == (
        "cosmos",
        None,
        "model.p.users",
    )


def test_the_audit_says_a_guarded_task_that_cannot_run_will_not_and_why() -> None:
    from cosmos.operators.watcher import DbtProducerWatcherOperator
    from kaitiaki_airflow.unguarded import GUARDED, coverage

    from kaitiaki.config import Settings

    producer = cosmos_task(DbtProducerWatcherOperator, extra_context={}, select=None)
    found = coverage(producer, locate(producer), Settings())
    assert found.status == GUARDED and "it does not run: the cosmos watcher producer" in found.reason
    with DAG("d", schedule=None, start_date=START):
        plain = SQLExecuteQueryOperator(task_id="plain", conn_id="wh", sql="select 1")
    assert "does not run" not in coverage(plain, locate(plain), Settings()).reason


def test_a_dataproc_sql_job_is_read_in_its_engines_dialect_and_a_query_file_fails_closed() -> None:
    Dataproc = stand_in(
        "airflow.providers.google.cloud.operators.dataproc",
        "DataprocSubmitJobOperator",
        job=None,
        gcp_conn_id="google_cloud_default",
    )
    queries = ["select region from msd.clients", "select count(*) from msd.clients"]
    with DAG("d", schedule=None, start_date=START):
        spark = Dataproc(task_id="spark", job={"spark_sql_job": {"query_list": {"queries": queries}}})
        hive = Dataproc(task_id="hive", job={"hive_job": {"query_list": {"queries": queries[:1]}}})
        in_file = Dataproc(task_id="file", job={"spark_sql_job": {"query_file_uri": "gs://b/q.sql"}})
        text = Dataproc(task_id="text", job="select 1")
    found = locate(spark)
    assert found is not None and (found.dialect, found.problem) == ("spark", None)
    assert found.fields == ('job["spark_sql_job"]["query_list"]["queries"]',)
    assert (
        held_sql(found, where="spark")
        == "select region from msd.clients\n;\nselect count(*) from msd.clients"
    )
    by_hive = locate(hive)
    assert by_hive is not None and by_hive.dialect == "hive"
    for refused, why in ((in_file, "in a file (gs://b/q.sql)"), (text, "not a Dataproc job mapping")):
        located = locate(refused)
        assert located is not None and why in str(located.problem)
