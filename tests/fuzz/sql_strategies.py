"""Generators of SQL text: well-formed queries that know what they read, and noise around them.

``queries()`` builds statements over ``msd.clients c`` (optionally joined to ``stats.spine s``,
whose columns kaitiaki does not know) from real SQL fragments — column references, literals
with unicode, wrappers, predicates, correlated subqueries, aggregates, GROUP BY/HAVING/ORDER BY,
CREATE TABLE AS / INSERT / UNION ALL, several statements — with comments, odd whitespace and
keyword case between the fragments. Each carries whether it references an identifying column of
``msd.clients``: such a query must never be allowed (the purpose allows none).

``noise()`` is everything else: those queries mutated (spans cut, duplicated, garbage inserted),
deep nesting, token soup, arbitrary unicode text and long literals. For noise the only promise
is the weaker one: never a traceback, never a usage error, and allowed only if fully analysed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

IDENTIFYING = ("full_name", "client_number", "date_of_birth", "phone")
PLAIN = ("region", "benefit_type", "city")
SPINE = ("nhi", "client_number", "linked_on")
DIALECTS = ("postgres", "duckdb", "snowflake", "bigquery", "tsql", "mysql", "spark", "oracle", "trino")

# No backslash and no quote-like characters beyond the one escaped: in some dialects a backslash
# escapes the closing quote, which would turn the rest of the query into a string.
LITERAL_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"),
        blacklist_characters="\\'\"`",
        min_codepoint=32,
        max_codepoint=0x2FFF,
    ),
    max_size=16,
)
COMMENT_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="*/\\\n\r", max_codepoint=0x2FFF
    ),
    max_size=20,
)
SQL_WORDS = (
    "select",
    "from",
    "where",
    "join",
    "left join",
    "on",
    "using",
    "(",
    ")",
    ",",
    "*",
    "c.*",
    "nhi",
    "full_name",
    "c.full_name",
    "s.nhi",
    "msd.clients",
    "stats.spine",
    "=",
    "<>",
    "union",
    "with",
    "as",
    "group by",
    "having",
    "order by",
    "count(*)",
    ">=",
    "10",
    "'a'",
    ";",
    "case",
    "when",
    "then",
    "else",
    "end",
    "over",
    "partition by",
    "insert into",
    "values",
    "update",
    "set",
    "merge",
    "delete",
    "lateral",
    "exists",
    "in",
    "not",
    "null",
    "is",
    "md5(",
    "cast(",
    "::text",
    "/*",
    "*/",
    "--",
    "\n",
    "'",
    '"',
    "`",
    "[",
    "]",
    "\\",
    "$1",
    "?",
    ":name",
    "{{ ref('x') }}",
    "qualify",
    "pivot",
    "unnest(",
    "#1",
    "->>",
)

Fragment = tuple[str, bool]


@dataclass(frozen=True)
class Sql:
    """SQL text, and whether it references an identifying column of msd.clients."""

    text: str
    identifying: bool


def joined(parts: list[Fragment], separator: str = " ") -> Fragment:
    return separator.join(text for text, _ in parts), any(flag for _, flag in parts)


@st.composite
def gap(draw: st.DrawFn) -> str:
    """What may separate two fragments without changing the query: space, comments, newlines."""
    kind = draw(st.sampled_from(("space", "space", "space", "newline", "block", "line", "tab")))
    if kind == "block":
        return f" /* {draw(COMMENT_TEXT)} */ "
    if kind == "line":
        return f" -- {draw(COMMENT_TEXT)}\n"
    return {"space": " ", "newline": "\n  ", "tab": "\t"}[kind]


@st.composite
def keyword(draw: st.DrawFn, word: str) -> str:
    return draw(st.sampled_from((word, word.upper(), word.title())))


@st.composite
def literal(draw: st.DrawFn) -> Fragment:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return str(draw(st.integers(-(10**12), 10**12))), False
    if choice == 1:
        return repr(draw(st.floats(allow_nan=False, allow_infinity=False, width=32))), False
    if choice == 2:
        return "null", False
    text = draw(st.one_of(LITERAL_TEXT, st.sampled_from((*IDENTIFYING, "c.full_name", "select full_name"))))
    return "'" + text.replace("'", "''") + "'", False


@st.composite
def column(draw: st.DrawFn, spine: bool) -> Fragment:
    """A reference to a column: qualified by ``c`` or ``s``, or unqualified."""
    name = draw(st.sampled_from(IDENTIFYING + PLAIN))
    qualifier = draw(st.sampled_from(("c.", "") + (("s.",) if spine else ())))
    if qualifier == "s.":
        return f"s.{draw(st.sampled_from(SPINE))}", False
    return f"{qualifier}{name}", name in IDENTIFYING


def expression(spine: bool) -> st.SearchStrategy[Fragment]:
    base = st.one_of(column(spine), literal())

    def extend(inner: st.SearchStrategy[Fragment]) -> st.SearchStrategy[Fragment]:
        return st.one_of(
            st.builds(lambda e, f: (f.format(e[0]), e[1]), inner, st.sampled_from(WRAPPERS)),
            st.builds(lambda a, b: joined([a, ("||", False), b]), inner, inner),
            st.builds(lambda a, b: (f"concat({a[0]}, {b[0]})", a[1] or b[1]), inner, inner),
            st.builds(
                lambda p, a, b: (f"case when {p[0]} then {a[0]} else {b[0]} end", p[1] or a[1] or b[1]),
                simple_predicate(inner),
                inner,
                inner,
            ),
        )

    return st.recursive(base, extend, max_leaves=6)


WRAPPERS = (
    "coalesce({}, 'n/a')",
    "upper({})",
    "lower({})",
    "trim({})",
    "cast({} as varchar(40))",
    "({})",
    "nullif({}, '')",
)


def simple_predicate(inner: st.SearchStrategy[Fragment]) -> st.SearchStrategy[Fragment]:
    return st.one_of(
        st.builds(lambda e, v: (f"{e[0]} = {v[0]}", e[1]), inner, literal()),
        st.builds(lambda e: (f"{e[0]} is not null", e[1]), inner),
        st.builds(lambda e, a, b: (f"{e[0]} in ({a[0]}, {b[0]})", e[1]), inner, literal(), literal()),
        st.builds(lambda e: (f"{e[0]} like 'A%'", e[1]), inner),
    )


def predicate(spine: bool) -> st.SearchStrategy[Fragment]:
    simple = simple_predicate(expression(spine))

    def extend(inner: st.SearchStrategy[Fragment]) -> st.SearchStrategy[Fragment]:
        return st.one_of(
            st.builds(lambda p: (f"not ({p[0]})", p[1]), inner),
            st.builds(
                lambda a, b, op: (f"({a[0]}) {op} ({b[0]})", a[1] or b[1]),
                inner,
                inner,
                st.sampled_from(("and", "or")),
            ),
            st.builds(
                lambda e: (f"exists (select 1 from stats.spine x where x.client_number = {e[0]})", e[1]),
                column(spine),
            ),
            st.builds(
                lambda e: (f"{e[0]} in (select x.client_number from stats.spine x)", e[1]),
                column(spine),
            ),
        )

    return st.recursive(simple, extend, max_leaves=4)


def aggregate(spine: bool) -> st.SearchStrategy[Fragment]:
    return st.one_of(
        st.just(("count(*)", False)),
        st.builds(lambda e, f: (f.format(e[0]), e[1]), column(spine), st.sampled_from(AGGREGATES)),
    )


AGGREGATES = ("count(distinct {})", "max({})", "min({})", "count({})")


@st.composite
def select(draw: st.DrawFn) -> Fragment:
    spine = draw(st.booleans())
    items = draw(st.lists(st.one_of(expression(spine), aggregate(spine)), min_size=1, max_size=4))
    aliased = [
        (f"{text} as v{i}" if draw(st.booleans()) else text, flag) for i, (text, flag) in enumerate(items)
    ]
    parts: list[Fragment] = [(draw(keyword("select")), False)]
    if draw(st.booleans()):
        parts.append((draw(keyword("distinct")), False))
    parts.append(joined(aliased, ", "))
    parts.append((f"{draw(keyword('from'))} msd.clients c", False))
    if spine:
        on = draw(column(False))
        parts.append((f"{draw(keyword('join'))} stats.spine s on s.client_number = {on[0]}", on[1]))
    for clause, strategy in (("where", predicate(spine)), ("group by", expression(spine))):
        if draw(st.booleans()):
            fragment = draw(strategy)
            parts.append((f"{draw(keyword(clause))} {fragment[0]}", fragment[1]))
    if draw(st.booleans()):
        having = draw(aggregate(spine))
        parts.append((f"{draw(keyword('having'))} {having[0]} >= {draw(st.integers(0, 20))}", having[1]))
    if draw(st.booleans()):
        order = draw(expression(spine))
        parts.append((f"{draw(keyword('order by'))} {order[0]}", order[1]))
    text = "".join(part + draw(gap()) for part, _ in parts).strip()
    return text, any(flag for _, flag in parts)


@st.composite
def statement(draw: st.DrawFn) -> Fragment:
    body = draw(select())
    shape = draw(st.sampled_from(("select", "select", "ctas", "insert", "union")))
    table = f"out.t{draw(st.integers(0, 9))}"
    if shape == "ctas":
        return f"create table {table} as {body[0]}", body[1]
    if shape == "insert":
        return f"insert into {table} {body[0]}", body[1]
    if shape == "union":
        other = draw(select())
        return f"{body[0]}\nunion all\n{other[0]}", body[1] or other[1]
    return body


@st.composite
def queries(draw: st.DrawFn) -> Sql:
    statements = draw(st.lists(statement(), min_size=1, max_size=3))
    text, flag = joined(statements, ";\n")
    if draw(st.booleans()):
        text += ";"
    return Sql(text, flag)


# --- noise --------------------------------------------------------------------------------------

MUTATIONS: tuple[Callable[[str, int, int, str], str], ...] = (
    lambda s, i, j, extra: s[:i] + s[j:],  # cut a span
    lambda s, i, j, extra: s[:j] + s[i:j] + s[j:],  # duplicate a span
    lambda s, i, j, extra: s[:i] + extra + s[i:],  # insert noise
    lambda s, i, j, extra: s[:i] + extra + s[j:],  # replace a span
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(queries()).text
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        extra = draw(st.one_of(st.sampled_from(SQL_WORDS), st.text(max_size=6)))
        text = draw(st.sampled_from(MUTATIONS))(text, i, j, extra)
    return text


@st.composite
def nested(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, 120))
    inner = draw(st.sampled_from(("c.full_name", "1", "select 1", "c.region")))
    opening, closing = draw(st.sampled_from((("(", ")"), ("coalesce(", ", 1)"), ("(select ", ")"))))
    return f"select {opening * depth}{inner}{closing * depth} as x from msd.clients c"


@st.composite
def soup(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(SQL_WORDS), max_size=40))
    return " ".join(words)


@st.composite
def long_literal(draw: st.DrawFn) -> str:
    size = draw(st.integers(1_000, 30_000))
    return f"select region from msd.clients c where region = '{'x' * size}'"


@st.composite
def many_statements(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 40))
    return ";\n".join(["select region from msd.clients c"] * count)


def noise() -> st.SearchStrategy[str]:
    return st.one_of(
        mutated(),
        mutated(),
        nested(),
        soup(),
        st.text(max_size=300),
        long_literal(),
        many_statements(),
    )
