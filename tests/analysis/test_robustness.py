"""analyze_sql never raises on bad input and always answers with SqlFacts (fail closed).

Hostile and malformed input: arbitrary text, binary garbage, megabytes of SQL, thousands of
nested parentheses, random sqlglot-generated queries. Real sqlglot throughout.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from kaitiaki.analysis import analyze_sql
from kaitiaki.config import Limits
from kaitiaki.model import SqlFacts

DIALECTS = ("postgres", "snowflake", "bigquery", "tsql", "duckdb", "spark")
INTERNAL = "please report it"


def assert_sound(facts: SqlFacts) -> None:
    """Facts are well-formed and serialisable, whatever the input."""
    assert isinstance(facts, SqlFacts)
    json.dumps(facts.to_dict())
    for column in facts.columns:
        assert column.table and column.column
        assert set(column.uses) <= {"select", "join", "filter", "group", "order", "window", "write"}
    for error in facts.errors:
        assert error.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), dialect=st.sampled_from(DIALECTS))
def test_arbitrary_text_never_raises(text: str, dialect: str) -> None:
    assert_sound(analyze_sql(text, dialect=dialect))


SQLISH = st.lists(
    st.sampled_from(
        [
            "select",
            "from",
            "where",
            "join",
            "on",
            "(",
            ")",
            ",",
            "*",
            "nhi",
            "t",
            "u.x",
            "=",
            "union",
            "with",
            "as",
            "group by",
            "having",
            "count(*)",
            ">",
            "10",
            "'a'",
            ";",
            "case",
            "when",
            "then",
            "end",
            "over",
            "partition by",
            "insert into",
            "values",
            "update",
            "set",
            "merge",
            "using",
            "lateral",
            "exists",
            "in",
            "not",
            "md5(",
            "--",
            "/*",
            "*/",
            "{{",
            "\n",
        ]
    ),
    max_size=40,
).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=SQLISH, dialect=st.sampled_from(DIALECTS))
def test_sql_shaped_noise_never_raises(text: str, dialect: str) -> None:
    assert_sound(analyze_sql(text, dialect=dialect))


NAMES = st.sampled_from(["nhi", "region", "amount", "dob", "id", "x"])
TABLES = st.sampled_from(["health.patients", "health.visits", "cms.clients", "t"])
FUNCTIONS = st.sampled_from([exp.MD5, exp.Upper, exp.Count, exp.Sum, exp.Max, exp.Coalesce, exp.Year])


def _leaf(draw: st.DrawFn, aliases: list[str]) -> exp.Expr:
    if draw(st.booleans()):
        return exp.column(draw(NAMES), table=draw(st.sampled_from(aliases)))
    return exp.column(draw(NAMES)) if draw(st.booleans()) else exp.Literal.number(draw(st.integers(0, 99)))


@st.composite
def value(draw: st.DrawFn, aliases: list[str], depth: int = 0) -> exp.Expr:
    if depth > 2 or draw(st.integers(0, 3)) == 0:
        return _leaf(draw, aliases)
    kind = draw(st.integers(0, 3))
    if kind == 0:
        func = draw(FUNCTIONS)
        inner = draw(value(aliases, depth + 1))
        return func(this=inner) if func is not exp.Coalesce else exp.Coalesce(this=inner, expressions=[])
    if kind == 1:
        return exp.Add(this=draw(value(aliases, depth + 1)), expression=draw(value(aliases, depth + 1)))
    if kind == 2:
        return exp.Case(
            ifs=[exp.If(this=draw(condition(aliases, depth + 1)), true=draw(value(aliases, depth + 1)))]
        )
    return exp.Window(this=exp.Count(this=exp.Star()), partition_by=[draw(value(aliases, depth + 1))])


@st.composite
def condition(draw: st.DrawFn, aliases: list[str], depth: int = 0) -> exp.Expr:
    left, right = draw(value(aliases, depth + 1)), draw(value(aliases, depth + 1))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return exp.EQ(this=left, expression=right)
    if kind == 1:
        return exp.GT(this=left, expression=right)
    if kind == 2 and depth < 2:
        return exp.In(this=left, query=exp.Subquery(this=draw(query(depth + 1))))
    return exp.and_(exp.EQ(this=left, expression=right), exp.Not(this=exp.column(draw(NAMES))))


@st.composite
def query(draw: st.DrawFn, depth: int = 0) -> exp.Select:
    aliases = [f"a{depth}", f"b{depth}"]
    select = exp.select(*[exp.alias_(draw(value(aliases)), f"c{i}") for i in range(draw(st.integers(1, 3)))])
    if draw(st.booleans()):
        select = select.select(
            exp.Star() if draw(st.booleans()) else exp.column(exp.Star(), table=aliases[0])
        )
    select = select.from_(exp.alias_(exp.to_table(draw(TABLES)), aliases[0], table=True))
    if draw(st.booleans()):
        on = draw(condition(aliases, depth + 1))
        select = select.join(
            exp.alias_(exp.to_table(draw(TABLES)), aliases[1], table=True), on=on, join_type="left"
        )
    if draw(st.booleans()):
        select = select.where(draw(condition(aliases, depth + 1)))
    if draw(st.booleans()):
        select = select.group_by(exp.column(draw(NAMES), table=aliases[0]))
    return select


@st.composite
def statement(draw: st.DrawFn) -> str:
    body = draw(query())
    dialect = draw(st.sampled_from(DIALECTS))
    wrap = draw(st.integers(0, 3))
    if wrap == 1:
        cte = exp.CTE(this=draw(query(1)), alias=exp.TableAlias(this=exp.to_identifier("c")))
        body.set("with_", exp.With(expressions=[cte]))
    sql = body.sql(dialect=dialect)
    if wrap == 2:
        sql = f"create table out.t as {sql}"
    if wrap == 3:
        sql = f"{sql} union all {draw(query(1)).sql(dialect=dialect)}"
    return f"{dialect}\x00{sql}"


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=statement())
def test_generated_queries_are_analysed_without_internal_errors(generated: str) -> None:
    dialect, sql = generated.split("\x00", 1)
    facts = analyze_sql(sql, dialect=dialect)
    assert_sound(facts)
    assert not any(INTERNAL in e.message for e in facts.errors), (sql, facts.errors)
    assert facts.statements, sql


def test_empty_and_comment_only_text() -> None:
    for text in ("", "   \n\t", "-- select nhi from p\n/* nothing */"):
        facts = analyze_sql(text, dialect="postgres")
        assert facts.statements == () and facts.columns == () and facts.errors == ()


def test_binary_garbage_is_an_error_not_a_crash() -> None:
    garbage = os.urandom(4096).decode("latin-1")
    facts = analyze_sql(garbage, dialect="postgres")
    assert_sound(facts)
    assert facts.errors or facts.unresolved or not facts.columns


def test_five_megabyte_statement_is_refused_before_parsing() -> None:
    sql = "select " + ", ".join(f"c{i}" for i in range(700_000)) + " from t"
    assert len(sql) > 5_000_000
    facts = analyze_sql(sql, dialect="postgres")
    assert facts.statements == ()
    assert facts.errors[0].message.startswith("SQL is ")
    assert "max_sql_bytes" in facts.errors[0].message


def test_five_thousand_nested_parentheses_are_refused() -> None:
    sql = "select " + "(" * 5000 + "nhi" + ")" * 5000 + " from p"
    facts = analyze_sql(sql, dialect="postgres")
    assert facts.statements == ()
    assert "5000 levels deep" in facts.errors[0].message and "max_depth" in facts.errors[0].message


@pytest.mark.parametrize(
    "sql",
    [
        "select " + "(" * 499 + "nhi" + ")" * 499 + " from p",
        "select k from " + "(select k from " * 120 + "p" + ") s" * 120,
        "select " + "case when a then " * 150 + "nhi" + " end" * 150 + " from p",
    ],
    ids=["499-parentheses", "120-nested-subqueries", "150-nested-case"],
)
def test_deep_nesting_within_the_limit_is_analysed(sql: str) -> None:
    facts = analyze_sql(sql, dialect="postgres")
    assert facts.errors == ()
    assert "nhi" in {c.column for c in facts.columns} or "k" in {c.column for c in facts.columns}


def test_deep_unary_chain_is_an_error_not_a_crash() -> None:
    facts = analyze_sql("select " + "not " * 5000 + "x from p", dialect="postgres")
    assert facts.errors and "nested too deeply" in facts.errors[0].message


def test_limits_are_configurable() -> None:
    sql = "select 1; select 2; select 3"
    assert analyze_sql(sql, dialect="postgres", limits=Limits(max_statements=2)).errors
    assert not analyze_sql(sql, dialect="postgres", limits=Limits(max_statements=3)).errors
    assert analyze_sql("select 1", dialect="postgres", limits=Limits(max_sql_bytes=4)).errors
    nested = "select " + "(" * 30 + "1" + ")" * 30
    assert analyze_sql(nested, dialect="postgres", limits=Limits(max_depth=29)).errors
    assert not analyze_sql(nested, dialect="postgres", limits=Limits(max_depth=30)).errors


def test_too_many_statements_are_refused_before_parsing() -> None:
    facts = analyze_sql("select nhi from p;" * 1001, dialect="postgres")
    assert facts.statements == () and "1001 statements" in facts.errors[0].message


def test_unknown_dialect_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown dialect 'cobol'"):
        analyze_sql("select 1", dialect="cobol")


def test_errors_name_no_sql_values() -> None:
    """A parse error reports the offending token, not the literals elsewhere in the statement."""
    facts = analyze_sql("select nhi from p where nhi = 'ZZZ0016' and and", dialect="postgres")
    assert facts.errors
    assert "ZZZ0016" not in facts.errors[0].message


def test_sqlglot_warnings_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """sqlglot logs unsupported statements with their text (literals included); kaitiaki silences it."""
    with caplog.at_level("DEBUG"):
        analyze_sql("vacuum analyse p -- 'ZZZ0016'", dialect="postgres")
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]
