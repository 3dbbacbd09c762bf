"""Lineage edges of one statement: source-table column → target column, with transforms.

The target is the statement's table (``INSERT``, ``CREATE TABLE AS``, ``UPDATE``, ``MERGE`` …) or,
for a bare SELECT, the output itself (table null). Output columns land in target columns by
position when the statement lists them (``INSERT INTO t (a, b)``) or the schema knows the
target's columns, else by name. A star that could not be expanded flows to ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from kaitiaki.analysis.flow import STAR, Flow, Output
from kaitiaki.analysis.names import dialect_of, display_identifier
from kaitiaki.analysis.statements import POSITIONAL
from kaitiaki.analysis.transforms import CUT, MASK, NONE, is_mark, ordered
from kaitiaki.analysis.uses import WRITE, Reference
from kaitiaki.model import ColumnRef, LineageEdge

_SAFE = re.compile(r"^[A-Za-z_#@][A-Za-z0-9_$#@]*$")


@dataclass(frozen=True)
class Target:
    """Where a statement's outputs land."""

    table: str | None
    columns: list[str] | None = None  # canonical names, positional; None → by output name
    writes: bool = False
    known: list[str] | None = None  # the target table's columns from the schema, if listed


def output_column(name: str, dialect: str) -> str:
    """An output's name as facts show it; expression text (``md5(nhi)``) is shown as written."""
    if name == STAR:
        return STAR
    return display_identifier(name, dialect) if _SAFE.match(name) else name


def statement_lineage(
    flow: Flow, outputs: list[Output], target: Target, statement: int, line: int
) -> tuple[list[LineageEdge], list[Reference]]:
    """Edges from every output's origins to its target column, and the target's `write` uses."""
    names = _target_names(flow, outputs, target)
    rebuilt = _rebuilt(outputs)
    merged: dict[tuple[ColumnRef, ColumnRef], set[str]] = {}
    marks: dict[tuple[ColumnRef, ColumnRef], set[str]] = {}
    writes: list[Reference] = []
    for output, name in zip(outputs, names, strict=True):
        destination = ColumnRef(target.table, name)
        for origin in output.origins:
            key = (ColumnRef(origin.table, origin.column), destination)
            transforms = set(ordered(origin.transforms)) or {NONE}
            if (origin.table, origin.column) in rebuilt and MASK in transforms:
                transforms = (transforms - {MASK}) | {NONE}
            merged.setdefault(key, set()).update(transforms)
            found = {m for m in origin.transforms if is_mark(m) and not m.startswith(CUT)}
            marks[key] = marks[key] & found if key in marks else found  # marks hold on every path
        if target.writes and target.table is not None and name != STAR:
            writes.append(Reference(target.table, name, WRITE, output.line or line, True))
    edges = [
        LineageEdge(
            source=source,
            target=destination,
            transforms=ordered(transforms),
            statement=statement,
            marks=tuple(sorted(marks[(source, destination)])),
        )
        for (source, destination), transforms in merged.items()
    ]
    return edges, writes


def _rebuilt(outputs: list[Output]) -> set[tuple[str, str]]:
    """Columns the statement masks with two or more different cuts (left(k, 4) and
    substr(k, 5, 4), in one output or two): together they may be the whole value, so none of
    those cuts masks it."""
    windows: dict[tuple[str, str], set[str]] = {}
    for output in outputs:
        for origin in output.origins:
            if MASK in origin.transforms:
                cuts = {m for m in origin.transforms if m.startswith(CUT)}
                windows.setdefault((origin.table, origin.column), set()).update(cuts or {""})
    return {column for column, cuts in windows.items() if len(cuts) > 1}


def _target_names(flow: Flow, outputs: list[Output], target: Target) -> list[str]:
    dialect = flow.dialect
    by_name = [_positional(flow, o.name, target) or output_column(o.name, dialect) for o in outputs]
    if target.columns is None or any(o.name == STAR for o in outputs):
        return by_name
    if len(target.columns) != len(outputs):
        flow.report(
            "unknown_column",
            f"the statement writes {len(outputs)} values into {len(target.columns)} columns of "
            f"{target.table}; which value lands where cannot be known",
            None,
        )
        return by_name
    return [output_column(c, dialect) for c in target.columns]


def _positional(flow: Flow, name: str, target: Target) -> str | None:
    """MERGE … INSERT VALUES (…) without a column list: the n-th column of the target, if known."""
    if not name.startswith(POSITIONAL):
        return None
    position = int(name[len(POSITIONAL) :])
    if target.known is not None and position < len(target.known):
        return output_column(target.known[position], flow.dialect)
    flow.report(
        "unknown_column",
        f"values are inserted into {target.table} without naming its columns, and the schema does not "
        "list them; which value lands where cannot be known",
        None,
    )
    return STAR


def canonical_columns(identifiers: list[exp.Identifier], dialect: str) -> list[str]:
    """Target column identifiers written in the statement, normalised as the dialect resolves them."""
    normaliser = dialect_of(dialect)
    return [normaliser.normalize_identifier(identifier.copy()).name for identifier in identifiers]
