"""Work budgets: shapes that made analysis hang are bounded, and running out is SYS-01, never a hang.

Only facts are asserted (performance is measured in bench/fail_closed.py, not here).
"""

from __future__ import annotations

from kaitiaki.analysis import analyze_sql, normalise_schema
from kaitiaki.analysis.budget import CHAIN_MIN, MAX_OPENINGS, MAX_TOKENS

SCHEMA = normalise_schema(
    {"ref.clinics": {"clinic_id": "int", "clinic_name": "text", "region": "text"}}, "postgres"
)


def _columns(sql: str, dialect: str = "postgres") -> set[tuple[str, str, tuple[str, ...]]]:
    facts = analyze_sql(sql, dialect=dialect, schema=SCHEMA)
    assert not facts.errors and not facts.unresolved, (facts.errors, facts.unresolved)
    return {(c.table, c.column, tuple(sorted(c.uses))) for c in facts.columns}


def test_a_long_operator_chain_keeps_every_column() -> None:
    names = ["clinic_id", "clinic_name", "region"] * (CHAIN_MIN * 3)
    long_chain = _columns("select " + " || ".join(names) + " as k from ref.clinics")
    short = _columns("select clinic_id || clinic_name || region as k from ref.clinics")
    assert long_chain == short
    where = " or ".join(f"region = 'r{i}'" for i in range(CHAIN_MIN * 4))
    assert ("ref.clinics", "region", ("filter",)) in _columns(
        f"select 1 as one from ref.clinics where {where}"
    )


def test_stars_that_double_per_cte_are_out_of_budget() -> None:
    ctes = ["c0 as (select * from ref.clinics)"]
    ctes += [f"c{i} as (select * from c{i - 1} a cross join c{i - 1} b)" for i in range(1, 21)]
    facts = analyze_sql(f"with {', '.join(ctes)} select * from c20", dialect="postgres", schema=SCHEMA)
    assert {u.kind for u in facts.unresolved} == {"work_budget"}
    assert "SELECT *" in facts.unresolved[0].detail


def test_a_few_doubling_stars_stay_in_budget() -> None:
    ctes = ["c0 as (select * from ref.clinics)"]
    ctes += [f"c{i} as (select * from c{i - 1} a cross join c{i - 1} b)" for i in range(1, 4)]
    facts = analyze_sql(f"with {', '.join(ctes)} select * from c3", dialect="postgres", schema=SCHEMA)
    assert "work_budget" not in {u.kind for u in facts.unresolved}
    assert {c.column for c in facts.columns} == {"clinic_id", "clinic_name", "region"}


def test_nested_executable_comments_beyond_the_budget_are_an_error() -> None:
    sql = "select clinic_id from ref.clinics"
    for _ in range(MAX_OPENINGS + 2):
        sql = f"/*! {sql} */"
    facts = analyze_sql(sql, dialect="mysql", schema=SCHEMA)
    assert facts.errors and "nested more than" in facts.errors[0].message
    shallow = analyze_sql("/*! /*! select clinic_id from ref.clinics */ */", dialect="mysql", schema=SCHEMA)
    assert not shallow.errors


def test_a_statement_over_the_token_budget_is_unresolved_but_others_count() -> None:
    wide = "select " + ", ".join(f"region as c{i}" for i in range(MAX_TOKENS // 4 + 1)) + " from ref.clinics"
    facts = analyze_sql(f"select clinic_name from ref.clinics;\n{wide}", dialect="postgres", schema=SCHEMA)
    assert [(u.kind, u.line) for u in facts.unresolved] == [("work_budget", 2)]
    assert {c.column for c in facts.columns} == {"clinic_name"}
