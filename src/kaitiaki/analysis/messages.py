"""sqlglot parse errors in words a data engineer can act on.

sqlglot describes a syntax error by the node it failed to build (``Required keyword: 'this'
missing for <class 'sqlglot.expressions.query.Where'>``), by the token it expected (``Expecting
)``) or by a token repr. ``describe_parse_error`` turns its first error into: where (line and
column), what is wrong in SQL terms ("the WHERE clause on line 3 has no condition"), and the line
of SQL with a caret under the token. The table ``_RULES`` maps each error shape to its wording;
anything it does not know keeps sqlglot's words with every Python class name and token repr
rewritten, so no internal ever reaches a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot.errors import ParseError

from kaitiaki.report.redact import redact_sql

_CLASS = re.compile(r"<class '(?:[\w.]+\.)?(\w+)'>")
_TOKEN = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+.*?>")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_MAX_EXCERPT = 120

_OPERATORS = {
    "EQ": "=",
    "NEQ": "<>",
    "GT": ">",
    "GTE": ">=",
    "LT": "<",
    "LTE": "<=",
    "NullSafeEQ": "<=>",
    "Add": "+",
    "Sub": "-",
    "Mul": "*",
    "Div": "/",
    "IntDiv": "DIV",
    "Mod": "%",
    "DPipe": "||",
    "BitwiseAnd": "&",
    "BitwiseOr": "|",
    "BitwiseXor": "^",
    "Xor": "XOR",
    "Is": "IS",
    "Like": "LIKE",
    "ILike": "ILIKE",
    "SimilarTo": "SIMILAR TO",
    "RegexpLike": "REGEXP / RLIKE",
    "Glob": "GLOB",
    "Escape": "ESCAPE",
}
# node → (what it is, what is missing when its required part is absent)
_CLAUSES = {
    "Where": ("the WHERE clause", "has no condition"),
    "Having": ("the HAVING clause", "has no condition"),
    "Qualify": ("the QUALIFY clause", "has no condition"),
    "Order": ("ORDER BY", "names nothing to sort by"),
    "Group": ("GROUP BY", "names nothing to group by"),
    "Limit": ("LIMIT", "has no row count"),
    "Offset": ("OFFSET", "has no row count"),
    "Fetch": ("FETCH", "has no row count"),
    "Union": ("UNION", "has no query after it"),
    "Intersect": ("INTERSECT", "has no query after it"),
    "Except": ("EXCEPT", "has no query after it"),
    "Not": ("NOT", "has no condition after it"),
    "And": ("AND", "has no condition after it"),
    "Or": ("OR", "has no condition after it"),
    "Between": ("BETWEEN", "needs both bounds: `BETWEEN low AND high`"),
    "In": ("IN", "has no list or subquery"),
    "Alias": ("AS", "has no name after it"),
    "Cast": ("CAST", "needs a type: `CAST(x AS type)`"),
    "TryCast": ("TRY_CAST", "needs a type: `TRY_CAST(x AS type)`"),
    "Join": ("the JOIN", "has no table"),
    "Case": ("CASE", "has no WHEN branch"),
    "If": ("the WHEN branch", "has no condition"),
    "Select": ("SELECT", "lists no columns"),
    "Insert": ("INSERT", "has no target table"),
    "Values": ("VALUES", "has no rows"),
    "Window": ("OVER", "is incomplete"),
    "Exists": ("EXISTS", "has no subquery"),
    "Subquery": ("the subquery", "is empty"),
    "Paren": ("the brackets", "are empty"),
}
_CLOSERS = {")": "bracket `(`", "]": "bracket `[`", "}": "brace `{`", ">": "angle bracket `<`"}


def _words(name: str) -> str:
    """A class name as words: ``JSONExtract`` → ``JSON extract`` (never the Python path)."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in _CAMEL.split(name))


def _missing(match: re.Match[str], where: str) -> str:
    key, node = match.group(1), match.group(2)
    if node in _OPERATORS:
        side = "left" if key == "this" else "right"
        return f"`{_OPERATORS[node]}`{where} has nothing on its {side} side"
    if node in _CLAUSES:
        what, problem = _CLAUSES[node]
        return f"{what}{where} {problem}"
    part = {"this": "main part", "expression": "second part", "expressions": "list"}.get(key, key)
    return f"a {_words(node)}{where} is incomplete (its {part} is missing)"


def _expecting(match: re.Match[str], where: str) -> str:
    wanted = match.group(1).strip()
    if wanted in _CLOSERS:
        return f"a {_CLOSERS[wanted]} is not closed{where}: `{wanted}` expected"
    if wanted == "(":
        return f"`(` expected{where}"
    return f"`{wanted}` expected{where}"


def _table_name(match: re.Match[str], where: str) -> str:
    found = match.group(1)
    if not found or found == "the end of the statement":
        return f"the statement ends{where} where a table name should be"
    return f"a table name is missing{where}: found {found}"


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], str], str]]
_RULES: list[_Rule] = [
    (re.compile(r"^Required keyword: '(\w+)' missing for <class '(?:[\w.]+\.)?(\w+)'>"), _missing),
    (re.compile(r"^Expect(?:ing|ed) ([)\]}>(])\s*\|"), _expecting),
    (re.compile(r"^Expecting \) or encountered unexpected keyword"), lambda m, w: f"`)` expected{w}"),
    (re.compile(r"^Expected (?:table|database) name but got ?(.*?) \|"), _table_name),
    (
        re.compile(r"^Invalid expression / Unexpected token\s*\|\s*[)\]}]$"),
        lambda m, w: f"this bracket{w} closes nothing: there is no open bracket for it",
    ),
    (
        re.compile(r"^Invalid expression / Unexpected token"),
        lambda m, w: (
            f"unexpected word or symbol{w}: a comma, an operator or a keyword may be missing "
            "before it, or it may be one too many"
        ),
    ),
    (
        re.compile(r"^Expected CTE to have alias"),
        lambda m, w: f"a WITH query{w} needs a name: `WITH name AS (…)`",
    ),
    (
        re.compile(r"^Failed to parse any statement following CTE"),
        lambda m, w: f"the WITH clause{w} must be followed by a statement (SELECT, INSERT, …)",
    ),
    (re.compile(r"^Expected END after CASE"), lambda m, w: f"a CASE expression{w} is not closed with END"),
    (
        re.compile(r"^Expected type(?: after '::')? \|"),
        lambda m, w: f"a type is missing{w} (after `::` or AS)",
    ),
    (
        re.compile(r"^Expected AS after CAST"),
        lambda m, w: f"CAST{w} needs AS before the type: `CAST(x AS type)`",
    ),
    (re.compile(r"^Expected TYPE after CAST"), lambda m, w: f"CAST{w} needs a type: `CAST(x AS type)`"),
    (
        re.compile(r"^Maximum number of AST nodes"),
        lambda m, w: f"the statement{w} is too large to parse; split it",
    ),
    (
        re.compile(r"^Expected (.+?) after (.+?) \|"),
        lambda m, w: f"{m.group(1)} expected after {m.group(2)}{w}",
    ),
]


def _token(match: re.Match[str]) -> str:
    kind, text = match.group(1), match.group(2)
    return "the end of the statement" if kind == "SENTINEL" else f"`{text}`"


def _plain(description: str) -> str:
    """sqlglot's own words with class names and token reprs rewritten."""
    text = _TOKEN.sub(_token, description)
    return _CLASS.sub(lambda m: _words(m.group(1)), text).rstrip(".")


def _wording(description: str, line: int | None, highlight: str) -> str:
    where = f" on line {line}" if line else ""
    cleaned = f"{_TOKEN.sub(_token, description)} | {highlight.strip()}"
    for pattern, word in _RULES:
        match = pattern.search(cleaned)
        if match:
            return word(match, where)
    return _plain(description) + (f" (line {line})" if line else "")


def _caret(sql: str, line: int | None, start: int | None, highlight: str, dialect: str | None) -> str:
    """The line of SQL, literals redacted, with ``^`` under the token sqlglot stopped at."""
    lines = sql.split("\n")
    if not line or not start or not 0 < line <= len(lines):
        return ""
    offset = sum(len(text) + 1 for text in lines[: line - 1]) + start - 1
    text = redact_sql(sql, dialect).split("\n")[line - 1] if line <= len(lines) else ""
    before = redact_sql(sql[:offset], dialect).split("\n")[-1]
    width = max(len(redact_sql(highlight.split("\n")[-1], dialect)), 1)
    begin = len(before)
    if len(text) > _MAX_EXCERPT:
        shift = max(begin - _MAX_EXCERPT // 2, 0)
        text, begin = text[shift : shift + _MAX_EXCERPT], begin - shift
    marks = "^" * max(min(width, len(text.rstrip()) - begin), 1)
    return f"\n    {text.rstrip()}\n    {' ' * begin}{marks}"


def error_position(error: dict[str, Any]) -> tuple[int | None, int | None]:
    """(line, first column) of sqlglot's error, 1-based; sqlglot reports the token's last column."""
    line, column = error.get("line"), error.get("col")
    highlight = str(error.get("highlight") or "")
    if not isinstance(line, int) or line < 1:
        return None, None
    if not isinstance(column, int) or column < 1:
        return line, None
    width = len(highlight.splitlines()[-1]) if highlight else 1
    return line, max(column - width + 1, 1)


def describe_parse_error(exc: ParseError, sql: str, dialect: str | None = None) -> str:
    """One paragraph: what is wrong, at line:column, then the SQL line with a caret under it."""
    if not exc.errors:
        return _plain(str(exc)) or "invalid SQL"
    first = exc.errors[0]
    description = str(first.get("description") or "invalid SQL")
    line, start = error_position(first)
    words = _wording(description, line, str(first.get("highlight") or ""))
    position = f" (line {line}, column {start})" if line and start else ""
    highlight = str(first.get("highlight") or "")
    return f"{words}{position}{_caret(sql, line, start, highlight, dialect)}"
