"""Incremental models decided from a manifest alone are read as both is_incremental() branches,
or blocked saying why the other branch cannot be rendered (incremental.py). Real Jinja on
manifest nodes as dbt writes them; the end-to-end case on dbt-duckdb is in test_routes.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kaitiaki_dbt.incremental import incremental_nodes
from kaitiaki_dbt.manifest import DbtProject

CLIENTS = '"db"."msd"."clients"'
THIS = '"db"."main"."model"'
NAMES = "select full_name as region from " + CLIENTS
REGIONS = "select region from " + CLIENTS
LEAK = (
    "{{ config(materialized='incremental') }}\n{% if is_incremental() %}\n"
    "select full_name as region from {{ source('msd', 'clients') }}\n{% else %}\n"
    "select region from {{ source('msd', 'clients') }}\n{% endif %}"
)


def project(raw: str, compiled: str, *, macros: dict[str, Any] | None = None, **extra: Any) -> DbtProject:
    model = {
        "unique_id": "model.p.model",
        "resource_type": "model",
        "name": "model",
        "package_name": "p",
        "config": {"materialized": "incremental"},
        "relation_name": THIS,
        "raw_code": raw,
        "compiled_code": compiled,
        "depends_on": {"nodes": ["source.p.msd.clients", "model.p.eph"], "macros": list(macros or {})},
        **extra,
    }
    nodes = {
        "model.p.model": model,
        "model.p.eph": {"name": "eph", "package_name": "p", "config": {"materialized": "ephemeral"}},
    }
    sources = {"source.p.msd.clients": {"source_name": "msd", "name": "clients", "relation_name": CLIENTS}}
    return DbtProject(manifest={"nodes": nodes, "sources": sources, "macros": macros or {}}, path=None)


@pytest.mark.parametrize("compiled", [f"\n\n{REGIONS}\n", f"\n\n{NAMES}\n"])
def test_either_compiled_branch_is_read_with_the_other(compiled: str) -> None:
    """Whichever branch dbt compiled keeps its lines first; the other follows in a union."""
    node = incremental_nodes(project(LEAK, compiled))["model.p.model"]
    sql = node["compiled_code"]
    assert NAMES in sql and REGIONS in sql and "union all" in sql
    assert sql.splitlines()[2].strip() == compiled.strip()  # the compiled branch's own line
    assert "render_error" not in node


def test_a_branch_that_only_filters_on_this_is_still_read_both_ways() -> None:
    raw = (
        "select region from {{ source('msd', 'clients') }}\n"
        "{% if is_incremental() %}where region > (select max(region) from {{ this }}){% endif %}"
    )
    node = incremental_nodes(project(raw, REGIONS + "\n"))["model.p.model"]
    assert f"from {THIS}" in node["compiled_code"]


@pytest.mark.parametrize(
    ("raw", "compiled", "said"),
    [
        (
            "select {% if is_incremental() %}{{ var('c') }}{% else %}region{% endif %} from t",
            "select region from t",
            "'var' is undefined",
        ),
        (
            "select region from {{ ref('eph') }} {% if is_incremental() %}where 1{% endif %}",
            "select region from __dbt__cte__eph",
            "ephemeral",
        ),
        (
            "select {% if is_incremental() %}a{% else %}b{% endif %} from {{ target.schema }}.t",
            "select b from s.t",
            "'target' is undefined",
        ),
        (
            "select {% if is_incremental() %}a{% else %}b{% endif %} from t",
            "select c from t",
            "could not be rendered to match",
        ),
        (  # dbt defines execute; a renderer answering "not defined" read both branches as region
            "select {% if is_incremental() and execute is defined %}full_name"
            "{% else %}region{% endif %} from t",
            "select region from t",
            "execute is not known without dbt",
        ),
        (
            "select {% if is_incremental() and target is mapping %}full_name"
            "{% else %}region{% endif %} from t",
            "select region from t",
            "target is not known without dbt",
        ),
        (
            "select {% if is_incremental() %}{{ cols | default('region') }}"
            "{% else %}region{% endif %} from t",
            "select region from t",
            "cols is not known without dbt",
        ),
    ],
)
def test_what_cannot_be_rendered_faithfully_blocks_the_model(raw: str, compiled: str, said: str) -> None:
    node = incremental_nodes(project(raw, compiled))["model.p.model"]
    assert said in node["render_error"] and "model model is incremental" in node["render_error"]


def test_a_branch_asked_inside_a_projects_macro_blocks_the_model() -> None:
    macros = {
        "macro.p.rows": {
            "package_name": "p",
            "macro_sql": "{% macro rows() %}{% if is_incremental() %}x{% endif %}{% endmacro %}",
        },
        "macro.dbt.is_incremental": {
            "package_name": "dbt",
            "macro_sql": "{% macro is_incremental() %}…{% endmacro %}",
        },
    }
    node = incremental_nodes(project("select {{ rows() }} from t", "select from t", macros=macros))[
        "model.p.model"
    ]
    assert "inside the macro macro.p.rows" in node["render_error"]


@pytest.mark.parametrize(
    ("raw", "extra"),
    [
        ("select region from {{ source('msd', 'clients') }}", {}),  # never asks
        ("select region from t {% if is_incremental() %}{% endif %}", {}),  # both branches alike
        (LEAK, {"config": {"materialized": "table"}}),  # not incremental: the compiled SQL is what runs
    ],
)
def test_models_whose_branch_cannot_differ_are_left_as_compiled(raw: str, extra: dict[str, Any]) -> None:
    assert incremental_nodes(project(raw, "select region from t", **extra)) == {}


NESTED_MACROS = """
{% macro region_label() %}{{ label_for_run() }}{% endmacro %}
{% macro label_for_run() %}{% if is_incremental() %}ethnicity{% else %}'all'{% endif %}{% endmacro %}
{% macro plain_label() %}{{ constant_label() }}{% endmacro %}
{% macro constant_label() %}'all'{% endmacro %}
"""
NESTED_MODEL = (
    "{{{{ config(materialized='incremental') }}}}\n"
    "select region, {{{{ {macro}() }}}} as label from {{{{ ref('stg_msd_clients') }}}}\n"
)


def test_a_branch_asked_in_a_macro_called_by_a_macro_blocks_the_model(tmp_path: Path) -> None:
    """dbt lists only the macros a model calls itself in its depends_on: a model calling
    region_label(), which calls label_for_run(), which asks is_incremental(), has no
    is_incremental in its own SQL nor in the macro it calls, and was left as the compiled branch
    (the person-level ethnicity branch a later run takes was never read). Real dbt compile on
    dbt-duckdb; the twin whose nested macro does not branch stays as compiled."""
    from kaitiaki_dbt.manifest import load_manifest

    from tests.dbt.conftest import copy_example, run_dbt_command

    project = copy_example(tmp_path / "nz_social")
    (project / "macros" / "nested_labels.sql").write_text(NESTED_MACROS)
    marts = project / "models" / "marts"
    (marts / "nested_incremental.sql").write_text(NESTED_MODEL.format(macro="region_label"))
    (marts / "nested_incremental_ok.sql").write_text(NESTED_MODEL.format(macro="plain_label"))
    result = run_dbt_command(project, "compile", "--select", "nested_incremental", "nested_incremental_ok")
    assert result.exit_code == 0, result.stdout + result.stderr
    manifest = load_manifest(project / "target" / "manifest.json")
    leak = manifest.nodes["model.nz_social.nested_incremental"]
    assert leak["depends_on"]["macros"] == ["macro.nz_social.region_label"]  # dbt's direct calls only
    assert "'all' as label" in leak["compiled_code"]  # the full-refresh branch (no table yet)
    read = incremental_nodes(manifest)
    assert (
        "inside the macro macro.nz_social.label_for_run"
        in read["model.nz_social.nested_incremental"]["render_error"]
    )
    assert "model.nz_social.nested_incremental_ok" not in read


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (
            "{% if load_relation(this) is none %}select region from t"
            "{% else %}select full_name from t{% endif %}",
            "load_relation",
        ),
        (
            "{% set rel = adapter.get_relation(this.database, this.schema, 'x') %}select region from t",
            "adapter",
        ),
        (
            "{%- if flags.FULL_REFRESH -%}select full_name from t"
            "{%- else -%}select region from t{%- endif -%}",
            "flags",
        ),
        ("{% if should_full_refresh() %}select full_name from t{% endif %}", "should_full_refresh"),
        # SQL run while the model renders: a manifest holds what it returned at compile time only
        ("{% do run_query('create table x as select full_name from t') %}select region from t", "run_query"),
        (
            "{% call statement('names', fetch_result=True) %}select full_name from t{% endcall %}select 1",
            "statement",
        ),
    ],
)
def test_sql_chosen_by_the_warehouse_or_the_run_blocks_any_model(raw: str, what: str) -> None:
    """Not only incremental models: a table model whose branch asks the warehouse is chosen anew
    by each run."""
    node = incremental_nodes(project(raw, "select region from t", config={"materialized": "table"}))
    error = node["model.p.model"]["render_error"]
    assert (
        f"({what} in a {{% … %}} statement)" in error
        and "model model is decided from a manifest alone" in error
    )


@pytest.mark.parametrize(
    "raw",
    [
        "select region, '{{ run_started_at }}' as loaded_at from t",  # a value, not a choice of SQL
        "{% if target.name == 'prod' %}select region from t{% else %}select region from t_dev{% endif %}",
        "{% if execute %}select region from t{% endif %}",
    ],
)
def test_jinja_that_does_not_ask_the_warehouse_leaves_a_model_as_compiled(raw: str) -> None:
    assert incremental_nodes(project(raw, "select region from t", config={"materialized": "table"})) == {}
