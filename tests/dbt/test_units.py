"""The adapter's pure parts: argument splitting, dialects, graph order, exclusion selectors, jobs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlglot
from kaitiaki_dbt.dialects import adapter_dialect
from kaitiaki_dbt.hooks import hook_nodes
from kaitiaki_dbt.jobs import kaitiaki_meta, model_job, node_job, purpose_node
from kaitiaki_dbt.manifest import DbtProject, ancestors, descendants, topological_order
from kaitiaki_dbt.routes import gated_ids, runnable
from kaitiaki_dbt.runner import split_dbt_args
from kaitiaki_dbt.schema import StarExpander, output_columns, qualified_names
from kaitiaki_dbt.summary import exclusion_selectors

from kaitiaki.config import Settings
from kaitiaki.errors import ConfigError, KaitiakiError
from kaitiaki.model import Destination
from tests.dbt.conftest import BuiltProject

pytestmark = pytest.mark.dbt


def model(name: str, *parents: str, folder: str = "marts", **extra: Any) -> dict[str, Any]:
    return {
        "unique_id": f"model.p.{name}",
        "name": name,
        "resource_type": "model",
        "fqn": ["p", folder, name],
        "depends_on": {"nodes": list(parents)},
        "original_file_path": f"models/{folder}/{name}.sql",
        "patch_path": f"p://models/{folder}/_{folder}.yml",
        "compiled_code": f"select 1 as x -- {name}",
        "relation_name": f'"db"."main"."{name}"',
        "config": {"meta": {}, "materialized": "table"},
        "meta": {},
        "tags": [],
        **extra,
    }


def project(*models: dict[str, Any]) -> DbtProject:
    nodes = {m["unique_id"]: m for m in models}
    nodes["seed.p.raw"] = {
        "unique_id": "seed.p.raw",
        "resource_type": "seed",
        "relation_name": '"db"."main"."raw"',
    }
    return DbtProject(
        manifest={"metadata": {"adapter_type": "duckdb", "project_name": "p"}, "nodes": nodes}, path=None
    )


DAG = project(
    model("a", "seed.p.raw", folder="staging"),
    model("b", "model.p.a"),
    model("c", "model.p.a"),
    model("d", "model.p.b", "model.p.c"),
    model("e"),
)


def test_split_dbt_args_keeps_values_and_multi_value_selectors() -> None:
    args = split_dbt_args(
        [
            "--select",
            "a",
            "b+",
            "--full-refresh",
            "-t",
            "prod",
            "--exclude=c",
            "--vars",
            "{x: 1}",
            "-s",
            "tag:t",
        ]
    )
    assert args.project == ("-t", "prod", "--vars", "{x: 1}")
    assert args.selection == ("--select", "a", "b+", "--exclude=c", "-s", "tag:t")
    assert args.value("--target", "-t") == "prod"
    assert split_dbt_args(["run", "--full-refresh", "-s", "x"]).compile_flags == ("--full-refresh",)


def test_target_dir_follows_project_dir_and_target_path() -> None:
    args = split_dbt_args(["--project-dir", "/srv/proj", "--target-path", "out"])
    assert str(args.target_dir) == "/srv/proj/out"
    assert str(split_dbt_args([]).target_dir) == "target"


@pytest.mark.parametrize(
    ("adapter", "dialect"),
    [
        ("duckdb", "duckdb"),
        ("sqlserver", "tsql"),
        ("Databricks", "databricks"),
        ("spark", "spark"),
        ("trino", "trino"),
    ],
)
def test_adapter_types_map_to_sqlglot_dialects(adapter: str, dialect: str) -> None:
    assert adapter_dialect(adapter) == dialect


def test_unknown_adapter_type_maps_to_nothing() -> None:
    assert adapter_dialect("cobolbase") is None and adapter_dialect(None) is None


def test_topological_order_puts_parents_first_and_is_stable() -> None:
    order = topological_order(DAG, [f"model.p.{n}" for n in "edcba"])
    assert order == ["model.p.a", "model.p.b", "model.p.c", "model.p.d", "model.p.e"]


def test_ancestors_and_descendants_follow_every_node_that_moves_data() -> None:
    assert ancestors(DAG, ["model.p.d"]) == {"model.p.a", "model.p.b", "model.p.c", "seed.p.raw"}
    assert descendants(DAG, ["model.p.a"]) == {"model.p.b", "model.p.c", "model.p.d"}


def test_cycles_are_reported_not_looped_over() -> None:
    cyclic = project(model("x", "model.p.y"), model("y", "model.p.x"))
    with pytest.raises(KaitiakiError, match="cycle"):
        topological_order(cyclic, ["model.p.x", "model.p.y"])


def test_exclusion_selectors_use_the_full_fqn_and_descendants() -> None:
    assert exclusion_selectors(DAG, ["model.p.b", "model.p.a"]) == ["p.staging.a+", "p.marts.b+"]


def data_test(name: str, **config: Any) -> dict[str, Any]:
    """A generic test of model ``a`` with a sql_header (and ``config`` besides)."""
    return {
        "unique_id": f"test.p.{name}",
        "name": name,
        "resource_type": "test",
        "fqn": ["p", name],
        "attached_node": "model.p.a",
        "depends_on": {"nodes": ["model.p.a"]},
        "config": {"meta": {}, "sql_header": "set threads = 1;", **config},
        "meta": {},
        "tags": [],
    }


def with_test_headers() -> DbtProject:
    """Model ``a`` (purpose p1), a test that stores its failing rows, one that stores nothing
    unless the command says so, and one whose own meta names its purpose."""
    tested = model("a", config={"meta": {"kaitiaki": {"purpose": "p1"}}, "materialized": "table"})
    stored = data_test("stored", store_failures=True)
    own = data_test("own", store_failures=False, meta={"kaitiaki": {"purpose": "p2"}})
    bare = project(tested, stored, data_test("unstored"), own)
    return replace(bare, extra=hook_nodes(bare, None))


HEADERS = {name: f"test.p.{name}#sql-header.0" for name in ("stored", "unstored", "own")}


@pytest.mark.parametrize(
    ("command", "store_failures_flag", "test_header_flag", "gated"),
    [
        ("test", False, False, {"stored"}),  # stores failing rows: dbt's CREATE runs the header
        ("build", False, False, {"stored"}),
        ("test", True, False, {"stored", "unstored"}),  # --store-failures; `own` says it does not
        ("test", False, True, {"stored", "unstored", "own"}),  # the flag: before every test's query
        ("check", False, True, {"stored", "unstored", "own"}),
        ("run", True, True, set()),  # dbt run runs no tests
        ("clone", True, True, set()),
    ],
)
def test_a_data_tests_sql_header_is_gated_when_dbt_runs_it(
    command: str, store_failures_flag: bool, test_header_flag: bool, gated: set[str]
) -> None:
    headed = with_test_headers()
    tests = {uid for uid, node in headed.graph().items() if node.get("resource_type") == "test"}
    chosen = gated_ids(
        headed, command, tests, store_failures_flag=store_failures_flag, test_header_flag=test_header_flag
    )
    assert {name for name, uid in HEADERS.items() if uid in chosen} == gated


def test_a_blocked_test_header_leaves_its_test_out_read_with_the_tests_purpose() -> None:
    headed = with_test_headers()
    graph = headed.graph()
    assert runnable(graph, {HEADERS["unstored"]}) == ({"test.p.unstored"}, set())
    assert purpose_node(graph[HEADERS["unstored"]], headed)["unique_id"] == "model.p.a"  # the tested model
    assert purpose_node(graph[HEADERS["own"]], headed)["unique_id"] == "test.p.own"
    jobs = {
        name: node_job(graph[uid], adapter_type="duckdb", settings=Settings(), sql="", project=headed)
        for name, uid in HEADERS.items()
    }
    assert {name: (job.kind, job.purpose) for name, job in jobs.items()} == {
        "stored": ("dbt_hook", "p1"),
        "unstored": ("dbt_hook", "p1"),
        "own": ("dbt_hook", "p2"),
    }


def test_model_meta_overrides_folder_meta_and_unknown_keys_are_errors() -> None:
    node = model(
        "m", config={"meta": {"kaitiaki": {"purpose": "folder"}}}, meta={"kaitiaki": {"purpose": "own"}}
    )
    assert kaitiaki_meta(node) == {"purpose": "own"}
    typo = model("m", meta={"kaitiaki": {"purpse": "x"}})
    with pytest.raises(ConfigError, match="did you mean 'purpose'") as error:
        kaitiaki_meta(typo)
    assert "models/marts/_marts.yml" in str(error.value)


def test_model_job_reads_purpose_destination_dialect_and_upstream() -> None:
    node = model(
        "m",
        "model.p.a",
        meta={
            "kaitiaki": {"purpose": "p1", "destination": {"kind": "shared"}, "agency": "moh"},
            "owner": "team",
        },
        tags=["retention:P1Y"],
    )
    job = model_job(node, adapter_type="duckdb", settings=Settings())
    assert job.id == "dbt:model.p.m" and job.kind == "dbt_model" and job.dialect == "duckdb"
    assert job.purpose == "p1" and job.owner == "team" and job.tags == ("retention:P1Y",)
    assert job.destination == Destination(kind="shared", region="nz")
    assert job.upstream == ("dbt:model.p.a",)
    assert job.meta["agency"] == "moh"
    default = model_job(
        model("n"), adapter_type="redshift", settings=Settings(default_destination=Destination("shared"))
    )
    assert default.destination.kind == "shared" and default.dialect == "redshift" and default.purpose is None


SCHEMA = {"db.main.t": {"k": "", "a": ""}, "db.main.u": {"k": "", "b": ""}}
OUTPUT_CASES = [
    ('select * from "db"."main"."t"', ["k", "a"]),
    ("with s as (select k, a as x from db.main.t) select * from s", ["k", "x"]),
    (
        "with s as (select * from db.main.t) select s.*, u.b from s join db.main.u as u on s.k = u.k",
        ["k", "a", "b"],
    ),
    ("select * from db.main.t, db.main.u", ["k", "a", "k", "b"]),
    ("select * from (select a, 1 as one from db.main.t) as q", ["a", "one"]),
    ("select a from db.main.t union all select b from db.main.u", ["a"]),
    ("select k, count(*) from db.main.t group by k", ["k", "COUNT(*)"]),
]


@pytest.mark.parametrize(("sql", "expected"), OUTPUT_CASES)
def test_output_columns_agree_with_sqlglot_qualify(sql: str, expected: list[str]) -> None:
    """The direct star expansion must name exactly what sqlglot's optimizer names."""
    query = sqlglot.parse_one(sql, dialect="duckdb")
    assert StarExpander(SCHEMA, "duckdb").names(query, {}) == expected
    assert output_columns(sql, "duckdb", SCHEMA) == expected
    if "count" not in sql:
        assert qualified_names(sqlglot.parse_one(sql, dialect="duckdb"), SCHEMA, "duckdb") == expected


@pytest.mark.parametrize(
    "sql",
    [
        "select * exclude (a) from db.main.t",
        "select * from db.main.t join db.main.u using (k)",
        "select * from db.main.t natural join db.main.u",
        "select columns('a.*') from db.main.t",
        "select * from db.main.unknown",
    ],
)
def test_direct_expansion_steps_aside_when_unsure(sql: str) -> None:
    assert StarExpander(SCHEMA, "duckdb").names(sqlglot.parse_one(sql, dialect="duckdb"), {}) is None


def test_a_star_over_an_unknown_relation_has_no_output_columns() -> None:
    assert output_columns("select * from db.main.unknown", "duckdb", SCHEMA) is None


def test_answers_from_a_remote_opa_fleet_are_never_cached() -> None:
    # The cache key holds the local policy revision; a fleet decides with the bundle it loaded.
    from kaitiaki_dbt.commands import cacheable

    from kaitiaki.config import EngineSettings, Settings

    assert cacheable(Settings())
    assert not cacheable(Settings(engine=EngineSettings(kind="opa", url="http://127.0.0.1:8181")))


def test_decide_node_answers_for_one_node_of_a_manifest(built: BuiltProject) -> None:
    """The entry point orchestrators (cosmos) call by unique_id: blocked and allowed twins."""
    from kaitiaki_dbt.decide import decide_node

    config = built.path / "kaitiaki.yaml"
    offshore = decide_node(built.manifest, "model.nz_social.client_profile_offshore", config=config)
    assert offshore.blocked and not offshore.allowed
    assert offshore.verdicts[0].job.id == "dbt:model.nz_social.client_profile_offshore"
    assert "SV-02" in {v.rule for v in offshore.verdicts[0].decision.violations}
    uptake = decide_node(built.manifest, "model.nz_social.benefit_uptake_by_region", config=config)
    assert uptake.allowed and not uptake.blocked and len(uptake.verdicts) == 1
    with pytest.raises(KaitiakiError, match="no node"):
        decide_node(built.manifest, "model.nz_social.no_such_model", config=config)
