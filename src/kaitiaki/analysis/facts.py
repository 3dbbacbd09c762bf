"""Assemble per-statement findings into one file's SqlFacts, deterministically sorted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kaitiaki.analysis.aggregation import ScopeAggregation, combine
from kaitiaki.analysis.polarity import Paths, row_filters
from kaitiaki.analysis.transforms import ordered
from kaitiaki.analysis.uses import SELECT, Reference
from kaitiaki.model import (
    USES,
    AnalysisError,
    ColumnFact,
    JoinFact,
    LineageEdge,
    SqlFacts,
    Statement,
    Unresolved,
)


@dataclass
class StatementFindings:
    """What one statement contributed."""

    statement: Statement
    references: list[Reference] = field(default_factory=list)
    edges: list[LineageEdge] = field(default_factory=list)
    joins: list[JoinFact] = field(default_factory=list)
    aggregations: list[ScopeAggregation] = field(default_factory=list)  # the query's, its side queries'
    tables: list[str] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    errors: list[AnalysisError] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)  # settings it assigns (SET, set_config)
    paths: list[Paths] = field(default_factory=list)  # per query: conditions on every path (TC-01)


@dataclass
class _Column:
    uses: set[str] = field(default_factory=set)
    lines: set[int] = field(default_factory=set)
    explicit: bool = False
    transforms: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)


def assemble(
    path: str | None, dialect: str, findings: list[StatementFindings], errors: Iterable[AnalysisError] = ()
) -> SqlFacts:
    edges = sorted(
        {e for f in findings for e in f.edges},
        key=lambda e: (
            e.statement,
            e.target.table or "",
            e.target.column,
            e.source.table or "",
            e.source.column,
        ),
    )
    joins = sorted(
        {j for f in findings for j in f.joins},
        key=lambda j: (j.line, j.left.qualified, j.right.qualified, j.kind),
    )
    unresolved = sorted(
        {u for f in findings for u in f.unresolved}, key=lambda u: (u.line or 0, u.kind, u.detail)
    )
    all_errors = sorted(
        {*errors, *(e for f in findings for e in f.errors)}, key=lambda e: (e.line or 0, e.message)
    )
    parts = [a for f in findings for a in f.aggregations]
    return SqlFacts(
        path=path,
        dialect=dialect,
        statements=tuple(f.statement for f in findings),
        columns=column_facts([r for f in findings for r in f.references], edges),
        lineage=tuple(edges),
        joins=tuple(joins),
        aggregation=combine(parts),
        unresolved=tuple(unresolved),
        errors=tuple(all_errors),
        tables=tuple(dict.fromkeys(t for f in findings for t in f.tables)),
        row_filters=row_filters([p for f in findings for p in f.paths]),
        assigned_settings=tuple(sorted({s for f in findings for s in f.settings})),
    )


def column_facts(references: list[Reference], edges: list[LineageEdge]) -> tuple[ColumnFact, ...]:
    """One fact per base column: uses, lines and star-ness from references; flows from edges."""
    columns: dict[tuple[str, str], _Column] = {}
    for reference in references:
        entry = columns.setdefault((reference.table, reference.column), _Column())
        entry.uses.add(reference.use)
        if reference.line is not None:
            entry.lines.add(reference.line)
        entry.explicit = entry.explicit or reference.explicit
    for edge in edges:
        if edge.source.table is None:
            continue
        entry = columns.setdefault((edge.source.table, edge.source.column), _Column(uses={SELECT}))
        entry.transforms.update(edge.transforms)
        entry.outputs.add(edge.target.qualified)
    return tuple(
        ColumnFact(
            table=table,
            column=column,
            uses=tuple(u for u in USES if u in entry.uses),
            transforms=ordered(entry.transforms),
            outputs=tuple(sorted(entry.outputs)),
            lines=tuple(sorted(entry.lines)),
            from_star=not entry.explicit,
        )
        for (table, column), entry in sorted(columns.items())
    )
