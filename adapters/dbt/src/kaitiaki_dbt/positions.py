"""Where a finding in compiled SQL is in the file the engineer wrote.

dbt gives no source map: the compiled SQL is the raw text with its Jinja rendered. The two are
aligned by tokens: the raw text's SQL tokens (Jinja comments, statements and expressions left
out) are matched to the compiled tokens in order (difflib over the token texts). A compiled
token that matched is at its raw token's line and column; one that did not was produced by the
Jinja expression between its matched neighbours (``{{ ref('x') }}`` → a relation name,
``{{ hash_nhi('p.nhi') }}`` → a macro's SQL) and is placed at that expression. When the
expression calls a macro (anything but ref, source, var, this, config, env_var), the position
says so, naming the macro.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from kaitiaki.model import Position
from kaitiaki_dbt.manifest import Node

TOKEN = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|`[^`\n]*`|\w+|[^\s\w]")
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
CALLED = re.compile(r"^\{\{-?\s*([\w.]+)\s*\(")
NOT_MACROS = frozenset({"ref", "source", "var", "this", "config", "env_var", "target", "is_incremental"})


@dataclass(frozen=True)
class Token:
    text: str
    line: int
    column: int  # 1-based


@dataclass(frozen=True)
class Expression:
    """A ``{{ … }}`` block of the raw text: where it is, and the macro it calls (if any)."""

    line: int
    column: int
    macro: str | None


def line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def tokens(text: str, start: int = 0, end: int | None = None, whole: str | None = None) -> list[Token]:
    """SQL tokens of ``text[start:end]``, positioned in ``whole`` (default ``text``)."""
    source = whole if whole is not None else text
    return [
        Token(m.group(0).lower(), *line_col(source, m.start()))
        for m in TOKEN.finditer(text, start, len(text) if end is None else end)
    ]


def raw_tokens(raw: str) -> tuple[list[Token], list[tuple[int, Expression]]]:
    """The raw text's SQL tokens outside Jinja, and each ``{{ }}`` expression with the index of
    the first SQL token after it."""
    out: list[Token] = []
    expressions: list[tuple[int, Expression]] = []
    position = 0
    for block in JINJA.finditer(raw):
        out.extend(tokens(raw, position, block.start()))
        if block.group(0).startswith("{{"):
            called = CALLED.match(block.group(0))
            name = called.group(1) if called else None
            macro = name if name and name.split(".")[-1] not in NOT_MACROS else None
            expressions.append((len(out), Expression(*line_col(raw, block.start()), macro)))
        position = block.end()
    out.extend(tokens(raw, position))
    return out, expressions


def expression_before(expressions: list[tuple[int, Expression]], index: int) -> Expression | None:
    """The last ``{{ }}`` expression that comes before raw token ``index``."""
    found = None
    for at, expression in expressions:
        if at > index:
            break
        found = expression
    return found


def source_positions(raw: str, compiled: str, *, first_line: int = 1) -> tuple[Position, ...]:
    """One position per compiled token: (compiled line, column) → (source line, column, macro).

    ``first_line`` is the source file's line that the raw code starts on (a snapshot's body
    starts inside its ``{% snapshot %}`` block).
    """
    raw_list, expressions = raw_tokens(raw)
    compiled_list = tokens(compiled)
    matcher = difflib.SequenceMatcher(
        None, [t.text for t in raw_list], [t.text for t in compiled_list], autojunk=False
    )
    matched: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            matched[block.b + k] = block.a + k
    out: list[Position] = []
    next_raw = 0
    for index, token in enumerate(compiled_list):
        if index in matched:
            source = raw_list[matched[index]]
            next_raw = matched[index] + 1
            out.append(Position(token.line, token.column, source.line + first_line - 1, source.column))
            continue
        expression = expression_before(expressions, next_raw)
        if expression is None:
            continue
        line = expression.line + first_line - 1
        out.append(Position(token.line, token.column, line, expression.column, expression.macro, exact=False))
    return tuple(out)


def body_start_line(file_text: str, raw: str) -> int:
    """The file line a node's raw code starts on (1 unless it is a block inside the file)."""
    stripped = raw.strip()
    at = file_text.find(stripped[:200]) if stripped else -1
    if at < 0:
        return 1
    lead = len(raw) - len(raw.lstrip())
    return file_text.count("\n", 0, at) + 1 - raw.count("\n", 0, lead)


def repo_relative(path: str | None, project_dir: Path | None, repo_root: Path | None) -> str | None:
    """A node's path (relative to its dbt project) made relative to the repository root, so that
    SARIF, GitHub and JUnit name files that exist; unchanged when it is outside the root."""
    if path is None or project_dir is None or repo_root is None:
        return path
    try:
        return (project_dir / path).resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return path


def node_positions(node: Node, sql: str, project_dir: Path | None) -> tuple[Position, ...]:
    """Positions of a node's job SQL in its source file (models, snapshots, singular tests; a
    unit test's SQL in its YAML)."""
    if node.get("resource_type") == "unit_test":
        from kaitiaki_dbt.unit_tests import unit_test_positions

        return unit_test_positions(node, project_dir)
    raw, compiled = node.get("raw_code"), node.get("compiled_code")
    if not isinstance(raw, str) or not isinstance(compiled, str) or node.get("language", "sql") != "sql":
        return ()
    prefix = sql.find(compiled) if compiled else -1
    if prefix < 0 or "\n" in sql[:prefix]:
        return ()
    first_line = 1
    if node.get("resource_type") == "snapshot" and project_dir is not None:
        try:
            first_line = body_start_line((project_dir / str(node.get("original_file_path"))).read_text(), raw)
        except OSError:
            return ()
    return tuple(
        replace(p, sql_column=p.sql_column + prefix) if p.sql_line == 1 else p
        for p in source_positions(raw, compiled, first_line=first_line)
    )
