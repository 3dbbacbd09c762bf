"""``kaitiaki analyze --format text``: the facts of each file as plain-text tables.

One block per file: the statements, a table of the columns touched (uses, transforms, outputs,
lines, and whether only a star reached them), the joins, the aggregation, and what could not be
resolved or parsed. Facts only: no decision, no categories, never a data value.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from kaitiaki.model import Aggregation, SqlFacts

_COLUMN_HEADINGS = ("column", "uses", "transforms", "outputs", "lines", "star")


def render_analysis_text(facts: list[SqlFacts]) -> str:
    """Every file's facts, one block per file, separated by a blank line."""
    if not facts:
        return "no SQL files analysed\n"
    return "\n".join(_file_block(f) for f in facts)


def _file_block(facts: SqlFacts) -> str:
    lines = [f"== {facts.path or '<sql>'} ({facts.dialect}) ==", _statements_line(facts)]
    lines += _columns_section(facts)
    lines += _joins_section(facts)
    aggregation = _aggregation_line(facts.aggregation)
    if aggregation:
        lines.append(aggregation)
    lines += _problems_section("unresolved", [(u.line, f"{u.kind}: {u.detail}") for u in facts.unresolved])
    lines += _problems_section("errors", [(e.line, e.message) for e in facts.errors])
    if facts.complete:
        lines.append("analysis complete: nothing unresolved")
    return "\n".join(lines) + "\n"


def _statements_line(facts: SqlFacts) -> str:
    if not facts.statements:
        return "statements: none"
    parts = [s.kind + (f" → {s.target}" if s.target else "") + f" (line {s.line})" for s in facts.statements]
    return f"statements: {len(parts)}: " + "; ".join(parts)


def _columns_section(facts: SqlFacts) -> list[str]:
    if not facts.columns:
        return ["columns: none"]
    rows = [
        (
            c.qualified,
            ", ".join(c.uses) or "-",
            ", ".join(c.transforms) or "-",
            ", ".join(c.outputs) or "-",
            ", ".join(str(n) for n in c.lines) or "-",
            "only *" if c.from_star else "",
        )
        for c in facts.columns
    ]
    return ["columns:", *_table(_COLUMN_HEADINGS, rows)]


def _joins_section(facts: SqlFacts) -> list[str]:
    if not facts.joins:
        return ["joins: none"]
    rows = [(f"{j.left.qualified} = {j.right.qualified}", j.kind, f"line {j.line}") for j in facts.joins]
    return ["joins:", *_table(("keys", "kind", "where"), rows)]


def _aggregation_line(aggregation: Aggregation) -> str:
    if not (aggregation.grouped or aggregation.count or aggregation.magnitudes):
        return "aggregation: person-level output (not grouped)"
    parts = ["grouped" if aggregation.grouped else "not grouped"]
    if aggregation.count:
        parts.append("counts")
    if aggregation.magnitudes:
        parts.append("magnitudes: " + ", ".join(aggregation.magnitudes))
    size = aggregation.min_group_size
    parts.append(f"smallest group ≥ {size}" if size is not None else "no minimum group size")
    return "aggregation: " + "; ".join(parts)


def _problems_section(title: str, items: list[tuple[int | None, str]]) -> list[str]:
    if not items:
        return []
    return [f"{title}:", *(f"  line {line if line is not None else '?'}: {text}" for line, text in items)]


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in (headings, *rows)) for i in range(len(headings))]
    return [_row(headings, widths), _row(["-" * w for w in widths], widths), *(_row(r, widths) for r in rows)]


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell + " " * (width - _width(cell)) for cell, width in zip(cells, widths, strict=True)]
    return ("  " + "  ".join(padded)).rstrip()


def _width(text: str) -> int:
    """Terminal columns ``text`` takes (wide CJK characters count twice, combining marks none)."""
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1
