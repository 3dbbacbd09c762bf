"""The facts the DPUP policies judge meaning by: what a suppression threshold counts, which
aggregates publish one value, which conditions keep a table's rows on every path, and the marks
(coarsening, hash keys) on lineage edges. Real sqlglot, no mocks."""

from __future__ import annotations

from typing import Any

import pytest

from kaitiaki.analysis.analyze import analyze_sql
from kaitiaki.model import SecretSpan

SCHEMA = {
    "c": {"k": "int", "opted_out": "bool", "region": "text", "sex": "int", "income": "int", "dob": "date"},
    "consent": {"k": "int", "consent": "bool"},
    "optouts": {"k": "int"},
    "e": {"k": "int", "event_date": "date"},
}


def facts(sql: str) -> Any:
    found = analyze_sql(sql, dialect="postgres", schema=SCHEMA)
    assert not found.errors and not found.unresolved, (found.errors, found.unresolved)
    return found


def people(columns: list[str]) -> dict[str, Any]:
    return {
        "min": 6,
        "distinct": True,
        "columns": columns,
        "tables": [],
        "joined": False,
        "population": "all",
    }


def rows(minimum: int, tables: list[str], joined: bool) -> dict[str, Any]:
    return {
        "min": minimum,
        "distinct": False,
        "columns": [],
        "tables": tables,
        "joined": joined,
        "population": "all",
    }


THRESHOLDS = [
    (
        "select region, count(distinct k) n from c group by region having count(distinct k) >= 6",
        [
            {
                "min": 6,
                "distinct": True,
                "columns": ["c.k"],
                "tables": [],
                "joined": False,
                "population": "all",
            }
        ],
    ),
    (
        "select region, count(*) n from c group by region having count(*) > 9",
        [
            {
                "min": 10,
                "distinct": False,
                "columns": [],
                "tables": ["c"],
                "joined": False,
                "population": "all",
            }
        ],
    ),
    (  # a join may multiply the rows COUNT(*) counts
        "select c.region, count(*) n from c join e on e.k = c.k group by c.region having count(*) >= 6",
        [
            {
                "min": 6,
                "distinct": False,
                "columns": [],
                "tables": ["c", "e"],
                "joined": True,
                "population": "all",
            }
        ],
    ),
    (  # counting dates is counting something else than people
        "select region, count(distinct dob) n from c group by region having count(distinct dob) >= 6",
        [
            {
                "min": 6,
                "distinct": True,
                "columns": ["c.dob"],
                "tables": [],
                "joined": False,
                "population": "all",
            }
        ],
    ),
    ("select region, count(*) n from c group by region having count(*) >= 6 or region = 'x'", []),
]


@pytest.mark.parametrize(("sql", "expected"), THRESHOLDS)
def test_thresholds_say_what_they_count(sql: str, expected: list[dict[str, Any]]) -> None:
    cells = facts(sql).aggregation.to_dict()["cells"]
    assert [t for cell in cells for t in cell["thresholds"]] == expected


def test_a_filtered_aggregate_is_a_population_of_its_own() -> None:
    sql = (
        "select region, count(distinct k) filter (where sex = 1) f, sum(case when sex = 2 then income end) s"
        " from c group by region having count(distinct k) >= 6"
    )
    (cell,) = facts(sql).aggregation.to_dict()["cells"]
    assert cell["populations"] == ["c.sex = 1", "c.sex = 2"]
    assert [t["population"] for t in cell["thresholds"]] == ["all"]


@pytest.mark.parametrize(
    ("sql", "single"),
    [
        ("select region, max(income) from c group by region", ["max"]),
        ("select region, any_value(income), min(dob) from c group by region", ["any_value", "min"]),
        (
            "select region, avg(income), percentile_cont(0.5) within group (order by income) from c group by 1",  # noqa: E501
            [],
        ),
    ],
)
def test_single_value_aggregates(sql: str, single: list[str]) -> None:
    assert list(facts(sql).aggregation.single_value) == single


@pytest.mark.parametrize(
    ("dialect", "sql", "single"),
    [
        ("postgres", "select percentile_disc(1) within group (order by income) from c", ["percentile_disc"]),
        ("postgres", "select percentile_disc(0.75) within group (order by income) from c", []),
        ("duckdb", "select quantile_disc(income, [0.0, 1.0]) from c", ["percentile_disc"]),
        ("duckdb", "select quantile_disc(income, [0.25, 0.75]), median(income) from c", []),
        ("duckdb", "select quantile_cont(income, 0.99) from c", ["percentile_cont"]),
        ("snowflake", "select approx_percentile(income, 1.0) from c", ["approx_quantile"]),
        ("bigquery", "select approx_quantiles(income, 4) from c", ["approx_quantiles"]),
    ],
)
def test_extreme_percentiles_are_single_values(dialect: str, sql: str, single: list[str]) -> None:
    """MIN and MAX spelled as a percentile (a fraction of 0 or 1, or near them) publish one
    person's value as MIN and MAX do; the quartiles and the median are magnitudes."""
    found = analyze_sql(sql, dialect=dialect, schema=SCHEMA)
    assert not found.errors and not found.unresolved
    assert list(found.aggregation.single_value) == single


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("bigquery", "select approx_top_sum(k, income, 10) as t from c"),
        ("trino", "select approx_most_frequent(10, k, 100) as t from c"),
        ("postgres", "select approx_top_count(k, 10) as t from c"),
    ],
)
def test_aggregates_listing_top_values_are_raw_flows(dialect: str, sql: str) -> None:
    """They return the values themselves (the top keys), not a summary of them."""
    found = analyze_sql(sql, dialect=dialect, schema=SCHEMA)
    (edge,) = [e for e in found.lineage if e.source.column == "k"]
    assert edge.transforms == ("none",)


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "select percentile_disc(0.5) within group (order by k) as t from c"),
        ("duckdb", "select median(k) as t from c"),
        ("bigquery", "select approx_quantiles(k, 4) as t from c"),
    ],
)
def test_percentiles_that_pick_a_value_are_raw_flows_and_magnitudes(dialect: str, sql: str) -> None:
    """The median key is a key: the value reaches the output raw, and the aggregate still needs
    the magnitude threshold."""
    found = analyze_sql(sql, dialect=dialect, schema=SCHEMA)
    (edge,) = [e for e in found.lineage if e.source.column == "k"]
    assert edge.transforms == ("none",)
    assert found.aggregation.magnitudes


POLARITY = [
    ("select k from c where not opted_out", [("c", "false", "c.opted_out")]),
    ("select k from c where opted_out = false and region = 'x'", [("c", "false", "c.opted_out")]),
    ("select k from c where opted_out is not true", [("c", "false", "c.opted_out")]),
    ("select k from c where coalesce(opted_out, false) = false", [("c", "false", "c.opted_out")]),
    ("select k from c where opted_out = true", [("c", "true", "c.opted_out")]),
    ("select k from c where opted_out is not null", []),
    ("select k from c where not opted_out or region = 'x'", []),
    ("select k from c where c.k not in (select k from optouts)", [("c", "anti", "optouts")]),
    (
        "select k from c where not exists (select 1 from optouts o where o.k = c.k)",
        [("c", "anti", "optouts")],
    ),
    (
        "select c.k from c join consent s on s.k = c.k and s.consent = true",
        [("c", "true", "consent.consent"), ("consent", "true", "consent.consent")],
    ),
    ("select c.k from c left join consent s on s.k = c.k and s.consent = true", []),
    (
        "select c.k from c left join consent s on s.k = c.k where s.k is null",
        [("c", "anti", "consent"), ("consent", "anti", "consent")],
    ),
    (
        "with a as (select k, opted_out from c) select k from a where not a.opted_out",
        [("c", "false", "c.opted_out")],
    ),
    ("with a as (select k from c where not opted_out) select k from a union all select k from c", []),
]


@pytest.mark.parametrize(("sql", "expected"), POLARITY)
def test_row_filters_hold_on_every_path(sql: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(f.table, f.kind, f.column) for f in facts(sql).row_filters] == expected


MARKS = [
    ("select extract(year from dob) y from c", "dob", ["coarse:year"]),
    ("select date_trunc('year', dob) y from c", "dob", ["coarse:year"]),
    ("select date_trunc('month', dob) y from c", "dob", []),
    ("select left(region, 2) p from c", "region", ["coarse:prefix:2"]),
    ("select case when income < 1000 then 'low' else 'high' end b from c", "income", ["coarse:band"]),
    ("select case when income < 1000 then income else 0 end b from c", "income", []),
    ("select md5(k::text || current_setting('msd.link_key')) h from c", "k", ["key:setting:msd.link_key"]),
    ("select md5(k::text || 'salt') h from c", "k", []),
    # the key must reach the hash whole: cut to nothing, measured, or only tested it keys nothing
    ("select md5(k::text || left(current_setting('msd.link_key'), 0)) h from c", "k", []),
    ("select md5(k::text || length(current_setting('msd.link_key'))) h from c", "k", []),
    ("select md5(case when current_setting('msd.link_key') = '' then k else k end) h from c", "k", []),
    ("select md5(concat_ws(current_setting('msd.link_key'), k)) h from c", "k", []),
    (
        "select md5(concat_ws('|', k, upper(current_setting('msd.link_key')))) h from c",
        "k",
        ["key:setting:msd.link_key"],
    ),
    (
        "select md5(cast(k as text) || (current_setting('msd.link_key'))::text) h from c",
        "k",
        ["key:setting:msd.link_key"],
    ),
    ("select coalesce(year(dob), dob) y from c", "dob", []),
]


@pytest.mark.parametrize(("sql", "column", "marks"), MARKS)
def test_marks_hold_on_every_path(sql: str, column: str, marks: list[str]) -> None:
    edges = [e for e in facts(sql).lineage if e.source.column == column]
    assert edges and [list(e.marks) for e in edges] == [marks]


SECRET_SQL = (
    "select md5(k::text || 'k3y-from-var') h, md5(k::text || 'k3y-from-var') g, 'k3y-from-var' x from c"
)


def secret_marks(spans: tuple[SecretSpan, ...]) -> dict[str, list[str]]:
    found = analyze_sql(SECRET_SQL, dialect="postgres", schema=SCHEMA, secrets=spans)
    return {e.target.column: list(e.marks) for e in found.lineage if e.source.column == "k"}


def test_a_secret_span_keys_only_the_literal_at_its_position() -> None:
    """By position, never by value: the second hash's literal equals the secret but was written in
    the SQL, and a span that covers more than the literal's value is not inside it."""
    start = SECRET_SQL.index("k3y-from-var")
    span = SecretSpan(start, start + len("k3y-from-var"), "Link_Key")
    assert secret_marks((span,)) == {"h": ["key:var:link_key"], "g": []}
    assert secret_marks((SecretSpan(start - 1, span.end, "link_key"),)) == {"h": [], "g": []}
    assert secret_marks(()) == {"h": [], "g": []}
    cut = "select md5(k::text || left('k3y-from-var', 0)) h from c"  # the var's value cut away
    at = cut.index("k3y-from-var")
    found = analyze_sql(
        cut, dialect="postgres", schema=SCHEMA, secrets=(SecretSpan(at, at + 12, "link_key"),)
    )
    assert [list(e.marks) for e in found.lineage if e.source.column == "k"] == [[]]
    third = SECRET_SQL.rindex("k3y-from-var")  # selected beside the hashes, keys nothing
    assert secret_marks((SecretSpan(third, third + 12, "link_key"),)) == {"h": [], "g": []}


def test_assigned_settings_are_recorded() -> None:
    found = analyze_sql(
        "SET msd.link_key = 'x'; select md5(k::text) from c", dialect="postgres", schema=SCHEMA
    )
    assert found.assigned_settings == ("msd.link_key",)


@pytest.mark.parametrize(
    "assignment",
    ['SET "msd"."link_key" = \'x\'', "SET SESSION \"MSD\".link_key TO 'x'", "SET msd.Link_Key TO 'x'"],
)
def test_a_setting_assigned_with_quoted_parts_is_the_same_setting(assignment: str) -> None:
    """Postgres reads "msd"."link_key" as msd.link_key (and setting names case-blind): a job that
    quotes the name still writes the key it hashes with (it was counted a secret, the hash keyed)."""
    found = analyze_sql(f"{assignment}; select md5(k::text) from c", dialect="postgres", schema=SCHEMA)
    assert found.assigned_settings == ("msd.link_key",)
