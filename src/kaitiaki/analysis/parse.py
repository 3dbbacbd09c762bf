"""Limits, tokens and statements: everything that happens before an AST exists.

Input limits (docs/security.md) are checked on the raw text and on the token stream, before any parser
runs, so hostile SQL (megabytes of text, thousands of nested parentheses) costs a linear scan and
becomes an error entry, never a crash. Statements are split on semicolons and parsed one by one,
so a syntax error in one statement does not hide the facts of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from kaitiaki.analysis.dialects import built_on
from kaitiaki.analysis.messages import describe_parse_error
from kaitiaki.config import Limits
from kaitiaki.model import AnalysisError

_OPENERS = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE})
_CLOSERS = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE})


@dataclass(frozen=True)
class StatementTokens:
    """One statement's tokens and where it starts (1-based line of its first token)."""

    index: int
    line: int
    tokens: list[Token]


def size_error(sql: str, limits: Limits) -> AnalysisError | None:
    """The byte limit, checked before anything else looks at the text."""
    size = len(sql.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_sql_bytes:
        return AnalysisError(
            f"SQL is {size} bytes, over the limit of {limits.max_sql_bytes} (limits.max_sql_bytes); "
            "it was not analysed."
        )
    return None


def tokenize(sql: str, dialect: Dialect) -> list[Token]:
    """The dialect's tokens; raises TokenError with a message that carries no SQL text."""
    tokenizer = dialect.tokenizer()
    try:
        return tokenizer.tokenize(sql)
    except TokenError:
        line = getattr(getattr(tokenizer, "_core", None), "_line", None)
        where = f" (near line {line})" if isinstance(line, int) else ""
        raise TokenError(
            f"cannot read the SQL text{where}: an unterminated string, quoted name or comment"
        ) from None


_EXECUTABLE_COMMENT = re.compile(r"/\*M?!(?:\d{5,6})?(.*?)\*/", re.DOTALL)


def executable_comments(sql: str, dialect: Dialect) -> str | None:
    """MySQL runs ``/*! … */`` (and MariaDB ``/*M! … */``) as SQL: the text with them opened, or None.

    Whether a versioned one runs depends on the server's version, so the caller also reports it.
    """
    if not built_on(dialect, "mysql", "MySQL"):
        return None
    # the text, not only the tokens' comments: a file that is nothing but a comment has no token
    # to carry it (``/*! select … */`` alone), and MySQL still runs it
    if "/*!" not in sql and "/*M!" not in sql:
        return None
    return _EXECUTABLE_COMMENT.sub(lambda match: f" {match.group(1)} ", sql)


# Engines whose lexer nests block comments the way sqlglot's does.
_NESTING_ENGINES = frozenset({"postgres", "duckdb", "tsql"})


def nested_comment_line(sql: str, tokens: list[Token], dialect: str) -> int | None:
    """The line of a block comment that contains ``/*``, where the engine may not read it as sqlglot.

    sqlglot nests block comments; MySQL, Spark (its hint ``/*+``), Snowflake and others end a
    comment at the first ``*/``, so text kaitiaki reads as comment may run as SQL there.
    """
    if dialect in _NESTING_ENGINES or not _opens_inside_block(sql):
        return None
    for token in tokens:
        if any("/*" in comment for comment in token.comments):
            return token.line
    return None


_BLOCK_MARKS = re.compile(r"/\*|\*/")


def _opens_inside_block(sql: str) -> bool:
    """Whether some ``/*`` follows another ``/*`` before its ``*/`` (a line comment's ``/*`` aside)."""
    depth = 0
    for mark in _BLOCK_MARKS.finditer(sql):
        text = mark.group()
        if text == "/*":
            if depth:
                return True
            depth = 1 if not _in_line_comment(sql, mark.start()) else 0
        elif text == "*/":
            depth = 0
    return False


def _in_line_comment(sql: str, position: int) -> bool:
    line_start = sql.rfind("\n", 0, position) + 1
    return "--" in sql[line_start:position]


def template_error(tokens: list[Token]) -> AnalysisError | None:
    """``{{ … }}`` or ``{% … %}``: a Jinja template, not SQL; the compiled SQL must be analysed."""
    previous: Token | None = None
    for token in tokens:
        opens_block = token.token_type == TokenType.BLOCK_START
        opens_expression = (
            previous is not None
            and previous.token_type == TokenType.L_BRACE
            and token.token_type == TokenType.L_BRACE
            and previous.end + 1 == token.start
        )
        if opens_block or opens_expression:
            return AnalysisError(
                "uncompiled Jinja template ({{ … }} or {% … %}): analyse the compiled SQL "
                "(for dbt, `dbt compile` or `kaitiaki dbt check`)",
                token.line,
            )
        previous = token
    return None


def nesting_depth(tokens: list[Token]) -> int:
    """Deepest nesting of brackets and CASE expressions: what drives the parser's recursion."""
    depth = cases = deepest = 0
    for token in tokens:
        kind = token.token_type
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth = max(depth - 1, 0)
        elif kind == TokenType.CASE:
            cases += 1
        elif kind == TokenType.END and cases:
            cases -= 1
        else:
            continue
        deepest = max(deepest, depth + cases)
    return deepest


def split_statements(tokens: list[Token]) -> list[StatementTokens]:
    """Tokens between semicolons; empty statements (``;;``, trailing ``;``) are dropped."""
    chunks: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    return [
        StatementTokens(index=i, line=chunk[0].line, tokens=chunk)
        for i, chunk in enumerate(c for c in chunks if c)
    ]


def limit_errors(depth: int, statements: list[StatementTokens], limits: Limits) -> list[AnalysisError]:
    """Depth (``nesting_depth`` of all tokens) and statement-count limits, checked before parsing."""
    errors: list[AnalysisError] = []
    if depth > limits.max_depth:
        errors.append(
            AnalysisError(
                f"SQL nests {depth} levels deep, over the limit of {limits.max_depth} (limits.max_depth); "
                "it was not analysed."
            )
        )
    if len(statements) > limits.max_statements:
        errors.append(
            AnalysisError(
                f"SQL has {len(statements)} statements, over the limit of {limits.max_statements} "
                "(limits.max_statements); it was not analysed."
            )
        )
    return errors


def parse_statement(statement: StatementTokens, sql: str, dialect: Dialect) -> exp.Expr:
    """One statement's AST; raises ParseError whose message names no SQL beyond the bad token."""
    parser = dialect.parser()
    try:
        trees = parser.parse(statement.tokens, sql)
    except ParseError as exc:
        raise ParseError(
            describe_parse_error(exc, sql, type(dialect).__name__.lower()), errors=exc.errors
        ) from None
    found = [tree for tree in trees if tree is not None]
    if len(found) != 1:
        raise ParseError("the statement did not parse to one SQL statement")
    return found[0]


def parse_error_line(exc: ParseError, default: int) -> int:
    line = exc.errors[0].get("line") if exc.errors else None
    return line if isinstance(line, int) and line > 0 else default
