"""``SqlFacts.tables``: every stored table a job reads, even when no column of it is named.

Without it a ``count(*)`` or ``EXISTS`` over a table left no trace, so ``strict_catalog`` and
table-level categories (a table of children, a table with an opt-out flag) could not see the read.
"""

from __future__ import annotations

import pytest

from kaitiaki.analysis import analyze_sql

CASES = [
    ("select count(*) from unknown.t", "duckdb", ("unknown.t",)),
    ("select 1 where exists (select 1 from s.t)", "postgres", ("s.t",)),
    ("with c as (select 1 as x from a.b) select count(*) from c cross join d.e", "postgres", ("a.b", "d.e")),
    ("insert into z.w select count(*) from q.r", "postgres", ("q.r",)),
    ("select count(*) from a.b union all select count(*) from c.d", "postgres", ("a.b", "c.d")),
    ('select count(*) from "Mixed"."Case"', "postgres", ('"Mixed"."Case"',)),
    ("select count(*) from `proj.ds.tbl`", "bigquery", ("proj.ds.tbl",)),
    ("select 1 as x", "postgres", ()),
    ("select * from generate_series(1, 3)", "postgres", ()),
]


@pytest.mark.parametrize(("sql", "dialect", "tables"), CASES, ids=[c[0] for c in CASES])
def test_tables_lists_every_stored_table_read(sql: str, dialect: str, tables: tuple[str, ...]) -> None:
    facts = analyze_sql(sql, dialect=dialect)
    assert facts.tables == tables
    assert "tables" not in facts.to_dict()  # the analyze JSON of README.md is unchanged


def test_a_cte_name_is_not_a_table_but_what_it_reads_is() -> None:
    sql = "with clients as (select id from msd.clients) select count(*) from clients"
    facts = analyze_sql(sql, dialect="duckdb")
    assert facts.tables == ("msd.clients",)
