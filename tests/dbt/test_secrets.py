"""Secret vars found by position in a model's compiled SQL (kaitiaki_dbt.secrets), never by value.

Pure: the raw and compiled texts are written here as dbt renders them. The end-to-end cases (a
real dbt-duckdb project, --vars, env_var, dbt_project.yml vars) are the dbt_cases of
tests/e2e/twins.yaml.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from kaitiaki_dbt.cache import model_cache_key
from kaitiaki_dbt.secrets import committed_vars, node_secret_spans, secret_spans, shadowed

from kaitiaki.model import Job, SecretSpan

pytestmark = pytest.mark.dbt

RAW = """{{ config(materialized='table') }}
select sha256('{{ var("link_key") }}' || nhi) as pid, 'x' as y, region
from {{ source('msd', 'clients') }}"""
COMPILED = """
select sha256('S3cret-value' || nhi) as pid, 'x' as y, region
from "db"."msd"."clients\""""


def rendered(raw: str, compiled: str, names: list[str]) -> list[tuple[str, str]]:
    return [(compiled[s.start : s.end], s.name) for s in secret_spans(raw, compiled, names)]


def test_the_rendering_of_a_lone_secret_call_is_a_span() -> None:
    assert rendered(RAW, COMPILED, ["link_key"]) == [("S3cret-value", "link_key")]
    raw = "select md5({{ env_var('LINK_KEY') }} || nhi) as pid from t"
    assert rendered(raw, "select md5(4711 || nhi) as pid from t", ["LINK_KEY"]) == [("4711", "LINK_KEY")]


@pytest.mark.parametrize(
    ("raw", "compiled"),
    [
        # a default written in the code is a key committed to the repository
        (
            'select sha256(\'{{ var("link_key", "dev") }}\' || nhi) as p from t',
            "select sha256('dev' || nhi) as p from t",
        ),
        # another expression beside the call could render the text that is taken for the secret
        (
            "select sha256('{{ public_key() }}{{ var(\"link_key\") }}' || nhi) as p from t",
            "select sha256('pubS3c' || nhi) as p from t",
        ),
        # a filter: what reaches the SQL is not the var
        (
            "select sha256('{{ var(\"link_key\") | truncate(2) }}' || nhi) as p from t",
            "select sha256('S3' || nhi) as p from t",
        ),
        # an undeclared var
        (
            "select sha256('{{ var(\"other\") }}' || nhi) as p from t",
            "select sha256('S3c' || nhi) as p from t",
        ),
        # the compiled text does not read as the raw text around the call
        ("select sha256('{{ var(\"link_key\") }}' || nhi) as p from t", "select sha256(nhi) as p from t"),
    ],
)
def test_no_span_where_the_secret_cannot_be_placed_exactly(raw: str, compiled: str) -> None:
    assert rendered(raw, compiled, ["link_key"]) == []


@pytest.mark.parametrize(
    "binding",
    [
        "{% macro var(name) %}public-salt{% endmacro %}",
        "{% set var = 'public-salt'.format %}",
        "{%- set env_var = 'public-salt'.format -%}",
        "{% from 'salts.sql' import var %}",
        "{% import 'salts.sql' as var %}",
    ],
)
def test_a_model_that_binds_var_itself_keys_nothing(binding: str) -> None:
    """dbt renders the model's own var() where the call stands: what it gives is no secret."""
    assert rendered(binding + RAW, COMPILED, ["link_key"]) == []


NOT_IN_PLACE = "select sha256('pub' || nhi) as p from t"


@pytest.mark.parametrize(
    "raw",
    [
        # a branch dbt does not render, its text written again by an expression
        "{% if false %}select sha256('{{ var(\"link_key\") }}' || nhi) as p{% endif %}"
        "{{ \"select sha256('pub' || nhi) as p\" }} from t",
        # a macro's body is rendered where the macro is called, here through a filter
        "{% macro m() %}sha256('{{ var(\"link_key\") }}' || nhi){% endmacro %}"
        "select {{ m() | replace(var('link_key'), 'pub') }} as p from t",
        "{% filter replace(var('link_key'), 'pub') %}select sha256('{{ var(\"link_key\") }}' || nhi)"
        "{% endfilter %} as p from t",
        # text, not a call
        "{% raw %}select sha256('{{ var(\"link_key\") }}' || nhi){% endraw %} as p from t",
        # unbalanced ends: the nesting cannot be read
        "{% endif %}{% if false %}select sha256('{{ var(\"link_key\") }}' || nhi){% endif %} as p from t",
    ],
)
def test_a_call_inside_a_block_statement_keys_nothing(raw: str) -> None:
    assert rendered(raw, NOT_IN_PLACE, ["link_key"]) == []


@pytest.mark.parametrize(
    "raw",
    [
        "select {{ m() }} sha256('{{ var(\"link_key\") }}' || nhi)",
        "select {{ var('public_sql') }} sha256('{{ var(\"link_key\") }}' || nhi)",
        "select {% for i in [1] %}{{ 'sha256(' }}{% endfor %} sha256('{{ var(\"link_key\") }}' || nhi)",
        "select {{ config(materialized='table') ~ m() }} sha256('{{ var(\"link_key\") }}' || nhi)",
        "{% set ref = m %}select {{ ref('x') }} sha256('{{ var(\"link_key\") }}' || nhi)",
    ],
)
def test_other_jinja_that_renders_sql_text_keys_nothing(raw: str) -> None:
    """Another expression renders a copy of the SQL around the call before it: the alignment
    took the copy's literal ('pub') for the secret's, while the real one sat in a WHERE."""
    compiled = "select sha256('pub' || nhi) as p from t where 'x' <> sha256('S3CRET' || nhi)"
    assert rendered(raw, compiled, ["link_key"]) == []
    # its twin: the SQL written in the model, the call alone in it, is keyed where it stands
    written = (
        "select sha256('pub' || nhi) as p from {{ source('a', 't') }} "
        "where 'x' <> sha256('{{ var(\"link_key\") }}' || nhi)"
    )
    compiled_written = compiled.replace(" t ", ' "db"."a"."t" ')
    assert rendered(written, compiled_written, ["link_key"]) == [("S3CRET", "link_key")]


def test_a_lone_call_beside_block_statements_still_keys() -> None:
    raw = (
        "{% set region = var('region_name') %}{% if is_incremental() %}{% endif %}"
        "select sha256('{{ var(\"link_key\") }}' || nhi) as p from t"
    )
    assert rendered(raw, "select sha256('S3c' || nhi) as p from t", ["link_key"]) == [("S3c", "link_key")]


def test_a_statement_that_only_calls_var_still_keys() -> None:
    raw = "{% set region = var('region_name') %}" + RAW
    assert rendered(raw, COMPILED, ["link_key"]) == [("S3cret-value", "link_key")]


def test_a_macro_named_var_or_env_var_shadows_dbts_own() -> None:
    """A root project's macros/var.sql replaces dbt's var() in every model (dbt-duckdb 1.10)."""
    assert shadowed({"macro.p.var": {"name": "var"}, "macro.dbt.run": {"name": "run"}})
    assert shadowed({"macro.p.env_var": {"name": "env_var"}})
    assert shadowed({"macro.p.ref": {"name": "ref"}})
    assert not shadowed({"macro.p.hash_key": {"name": "hash_key"}, "macro.dbt.run": {"name": "run"}})


def test_vars_committed_in_dbt_project_yml_are_no_secret(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: p\nvars: {Link_Key: abc, my_pkg: {pkg_key: x}}\n")
    assert committed_vars(tmp_path) == {"link_key", "my_pkg", "pkg_key"}
    node = {"raw_code": RAW, "compiled_code": COMPILED, "package_name": "p"}
    assert node_secret_spans(node, COMPILED, ["link_key"], tmp_path, "p") == ()
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    spans = node_secret_spans(node, "create table x as " + COMPILED, ["link_key"], tmp_path, "p")
    assert [("create table x as " + COMPILED)[s.start : s.end] for s in spans] == ["S3cret-value"]
    # a model of an installed package: its vars live in the package's own dbt_project.yml
    assert node_secret_spans({**node, "package_name": "pkg"}, COMPILED, ["link_key"], tmp_path, "p") == ()


def test_an_unknown_project_directory_keys_nothing(tmp_path: Path) -> None:
    node = {"raw_code": RAW, "compiled_code": COMPILED, "package_name": "p"}
    assert node_secret_spans(node, COMPILED, ["link_key"], None, "p") == ()
    assert node_secret_spans(node, COMPILED, ["link_key"], tmp_path / "missing", "p") == ()


def test_where_the_secret_sits_is_part_of_the_cached_verdict_key() -> None:
    """A model that inlines the secret's value compiles to the same SQL as one that reads the var:
    only the spans tell them apart, so a keyed verdict is never reused for the inlined key."""
    job = Job(id="dbt:model.p.m", kind="dbt_model", name="m", sql=COMPILED)
    keyed = replace(job, secret_spans=(SecretSpan(16, 28, "link_key"),))

    def key(j: Job) -> str:
        return model_cache_key(j, inputs=[], decide=True, needs_columns=False)

    assert key(job) != key(keyed)
