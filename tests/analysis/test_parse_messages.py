"""Parse errors in words (issue #16): each sqlglot error shape → its wording, position and caret.

Every case runs the real parser of its dialect; the message must say what is wrong in SQL terms,
where (line, column), show the line with a caret under the token, and never leak a Python class
name, a token repr or sqlglot's own phrasing.
"""

from __future__ import annotations

import pytest

from kaitiaki.analysis import analyze_sql

LEAKS = ("sqlglot", "<class", "Token", "TokenType", "Required keyword", "SENTINEL", "expressions.")

CASES = [
    # (dialect, sql, words, line, column, caret line)
    ("postgres", "select a\nfrom t\nwhere", "the WHERE clause on line 3 has no condition", 3, 1, "    ^^^^^"),
    (
        "postgres",
        "select a from t\nhaving",
        "the HAVING clause on line 2 has no condition",
        2,
        1,
        "    ^^^^^^",
    ),
    (
        "snowflake",
        "select a from t\nqualify",
        "the QUALIFY clause on line 2 has no condition",
        2,
        1,
        "    ^^^^^^^",
    ),
    ("postgres", "select a from t where a =", "`=` on line 1 has nothing on its right side", 1, 25, None),
    ("postgres", "select a + from t", "`+` on line 1 has nothing on its right side", 1, 12, None),
    ("postgres", "select a from t where a = 1 and", "AND on line 1 has no condition after it", 1, 29, None),
    ("postgres", "select a from t where a = 1 or", "OR on line 1 has no condition after it", 1, 29, None),
    ("postgres", "select a from t where not", "NOT on line 1 has no condition after it", 1, 23, None),
    (
        "postgres",
        "select a from t where a like",
        "`LIKE` on line 1 has nothing on its right side",
        1,
        25,
        None,
    ),
    ("postgres", "select a from t where a between 1", "BETWEEN on line 1 needs both bounds", 1, 33, None),
    ("postgres", "select a from t order by", "ORDER BY on line 1 names nothing to sort by", 1, 17, None),
    ("postgres", "select a from t limit", "LIMIT on line 1 has no row count", 1, 17, None),
    ("postgres", "select * from t union", "UNION on line 1 has no query after it", 1, 17, None),
    (
        "postgres",
        "select a from t where (a = 1",
        "a bracket `(` is not closed on line 1: `)` expected",
        1,
        28,
        None,
    ),
    ("postgres", "select count( from t", "a bracket `(` is not closed", 1, 20, None),
    ("postgres", "select [1,2", "a bracket `[` is not closed on line 1: `]` expected", 1, 11, None),
    ("bigquery", "select a from t where a = 1)", "closes nothing: there is no open bracket", 1, 28, None),
    ("postgres", "select a b c d from t", "unexpected word or symbol on line 1", 1, 12, "               ^"),
    ("tsql", "select a\nfrom t t2 t3", "unexpected word or symbol on line 2", 2, 11, None),
    ("postgres", "select a from", "the statement ends on line 1 where a table name should be", 1, 10, None),
    ("postgres", "create table as select 1", "a table name is missing on line 1: found `as`", 1, 14, None),
    ("postgres", "with as (select 1) select 1", "a WITH query on line 1 needs a name", 1, 9, None),
    (
        "postgres",
        "with x as (select 1)",
        "the WITH clause on line 1 must be followed by a statement",
        1,
        20,
        None,
    ),
    (
        "postgres",
        "select case when a then 1 from t",
        "a CASE expression on line 1 is not closed with END",
        1,
        25,
        None,
    ),
    ("postgres", "select a:: from t", "a type is missing on line 1", 1, 12, None),
    ("postgres", "select cast(a varchar) from t", "CAST on line 1 needs AS before the type", 1, 15, None),
]


@pytest.mark.parametrize(("dialect", "sql", "words", "line", "column", "caret"), CASES)
def test_parse_error_in_words(
    dialect: str, sql: str, words: str, line: int, column: int, caret: str | None
) -> None:
    facts = analyze_sql(sql, dialect=dialect)
    (error,) = facts.errors
    assert error.line == line
    assert words in error.message, error.message
    assert f"(line {line}, column {column})" in error.message, error.message
    for leak in LEAKS:
        assert leak not in error.message, error.message
    first, source, marks = error.message.split("\n")
    assert first.startswith(f"statement 1 cannot be parsed as {dialect}: ")
    assert source.strip() == sql.splitlines()[line - 1].strip()
    assert marks.strip() and set(marks.strip()) == {"^"}
    assert marks.index("^") == source.index(source.strip()) + column - 1, (source, marks)
    if caret is not None:
        assert marks == caret


def test_valid_twin_has_no_error() -> None:
    assert not analyze_sql("select a\nfrom t\nwhere a = 1", dialect="postgres").errors


def test_unknown_shape_keeps_words_without_internals() -> None:
    from sqlglot.errors import ParseError

    from kaitiaki.analysis.messages import describe_parse_error

    exc = ParseError(
        "x",
        errors=[
            {
                "description": "Required keyword: 'unit' missing for "
                "<class 'sqlglot.expressions.core.JSONExtractQuote'>",
                "line": 1,
                "col": 8,
                "highlight": "json_q",
            }
        ],
    )
    message = describe_parse_error(exc, "select json_q(a) from t")
    assert "a JSON extract quote on line 1 is incomplete (its unit is missing)" in message
    assert "sqlglot" not in message and "<class" not in message


def test_excerpt_never_shows_a_literal_value() -> None:
    sql = "select a from t\nwhere nhi = 'ZZZ0017' and ird = 123456789 and"
    (error,) = analyze_sql(sql, dialect="postgres").errors
    assert "ZZZ0017" not in error.message and "123456789" not in error.message
    _, source, marks = error.message.split("\n")
    assert source[marks.index("^") :].startswith("and") and source.rstrip().endswith("and")
