"""Fuzzing the fail-closed constructs: what the analysis does not model must never be allowed.

Generators wrap a read of an identifying column of ``msd.clients`` in the constructs of issue
#13 — statements used as queries, names bound at run time, SQL held in strings, system views
with column values, renames and swaps before a later read, session statements that change
lexing, alias column lists, ClickHouse ``WITH expr AS name``, nested comments — and the shapes
that used to hang the CLI (operator chains, doubling stars, nested ``/*! */``). Through the real
CLI in-process: exit 0 or 1 only, no traceback, and never allowed (exit 1).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.sql_strategies import IDENTIFYING, PLAIN
from tests.fuzz.support import assert_contained, decision_document, kaitiaki, profile
from tests.fuzz.workspace import fuzz_config, write_workspace

pytestmark = pytest.mark.fuzz

SECRET = st.sampled_from(IDENTIFYING)
HARMLESS = st.sampled_from(PLAIN)
NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-fail-closed")
    write_workspace(folder, fuzz_config())
    return folder


@st.composite
def hidden_reads(draw: st.DrawFn) -> tuple[str, str]:
    """(dialect, SQL) that reads an identifying column through a construct kaitiaki must not skip."""
    secret, harmless, name = draw(SECRET), draw(HARMLESS), draw(NAME)
    read = f"select {secret} from msd.clients"
    shapes = [
        ("duckdb", f"select * from (pivot msd.clients on {harmless} using first({secret}))"),
        (
            "duckdb",
            f"with {name} as (unpivot msd.clients on {secret} into name k value v) select v from {name}",
        ),
        ("duckdb", f"select * from (summarize {read})"),
        ("duckdb", f"select * from query('{read}')"),
        ("snowflake", f"select * from table(${name})"),
        ("snowflake", f"select identifier(:{name}) from msd.clients"),
        ("snowflake", f"select identifier('{secret[:2]}' || '{secret[2:]}') from msd.clients"),
        ("spark", f"select ${{{name}}} from msd.clients"),
        ("postgres", f"select :{name} from msd.clients"),
        ("clickhouse", f"select {{{name}:Identifier}} from msd.clients"),
        ("postgres", f"select query_to_xml('{read}', true, false, '')"),
        ("postgres", "select table_to_xml('msd.clients', true, false, '')"),
        ("postgres", f"select my_{name}('{read}')"),
        ("postgres", f"select most_common_vals from pg_stats where attname = '{secret}'"),
        (
            "postgres",
            f"alter table msd.clients rename column {secret} to {name}x; select {name}x from msd.clients",
        ),
        ("postgres", f"alter table msd.clients rename to {name}; select {secret} from msd.{name}"),
        ("snowflake", f"alter table msd.clients swap with msd.other; select {secret} from msd.other"),
        ("postgres", f"select p.{name} from msd.clients as p({name})"),
        ("clickhouse", f"with {secret} as {harmless}x select {harmless}x from msd.clients"),
        ("mysql", f"set sql_mode = 'ANSI_QUOTES'; select \"{secret}\" from msd.clients"),
        ("postgres", f"set client_encoding = 'SJIS'; select {harmless} from msd.clients -- {secret}"),
        ("spark", f"select {harmless} /* x /*+ y */, {secret} /* */ from msd.clients"),
        ("postgres", f"alter view msd.v as {read}"),
        ("postgres", f"alter table msd.other alter column k type text using ({read} limit 1)"),
    ]
    return draw(st.sampled_from(shapes))


@st.composite
def heavy_shapes(draw: st.DrawFn) -> tuple[str, str]:
    """Shapes that used to take minutes: each also reads an identifying column."""
    secret, size = draw(SECRET), draw(st.integers(min_value=1, max_value=3000))
    kind = draw(st.sampled_from(("chain", "stars", "comments")))
    if kind == "chain":
        return "postgres", "select " + " + ".join([secret] * size) + " as x from msd.clients"
    if kind == "stars":
        levels = size % 24 + 1
        ctes = [f"c0 as (select {secret}, region from msd.clients)"]
        ctes += [f"c{i} as (select * from c{i - 1} a cross join c{i - 1} b)" for i in range(1, levels)]
        return "postgres", "with " + ", ".join(ctes) + f" select * from c{levels - 1}"
    sql = f"select {secret} from msd.clients"
    for _ in range(size % 40 + 1):
        sql = f"/*! {sql} */"
    return "mysql", sql


def _denied(folder: Path, dialect: str, sql: str) -> None:
    (folder / "job.sql").write_text(sql, encoding="utf-8")
    result = kaitiaki(["check", "job.sql", "--dialect", dialect, "--format", "json"], folder)
    assert_contained(result, allowed_exits=(0, 1))
    decision_document(result)
    event(f"{dialect}: exit {result.exit_code}")
    assert result.exit_code == 1, f"allowed:\n{sql}\n{result.stdout[-1500:]}"


@profile()
@given(case=hidden_reads())
def test_constructs_the_analysis_does_not_model_are_never_allowed(
    folder: Path, case: tuple[str, str]
) -> None:
    _denied(folder, *case)


@profile()
@given(case=heavy_shapes())
def test_heavy_shapes_end_in_a_decision_never_a_hang(folder: Path, case: tuple[str, str]) -> None:
    _denied(folder, *case)
