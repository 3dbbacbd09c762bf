"""Shared helpers: real plugin managers and hand-built SqlFacts.

Each test builds its own PluginManager from the real plugin modules (the core name rules, the
built-in scan connector and kaitiaki-nz), so a plugin another room is still writing cannot change
these results. ``tests/nz/test_entry_point.py`` checks the process-wide manager separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import kaitiaki_nz.plugin
import pluggy

import kaitiaki.classify.name_rules
import kaitiaki.scan
from kaitiaki import hookspecs
from kaitiaki.config import TableEntry
from kaitiaki.model import ColumnFact, ColumnRef, LineageEdge, SqlFacts, Statement


def plugin_manager(*extra: ModuleType, nz: bool = True) -> pluggy.PluginManager:
    """The core's default classification plugins, kaitiaki-nz (unless ``nz=False``) and ``extra``."""
    pm = pluggy.PluginManager("kaitiaki")
    pm.add_hookspecs(hookspecs)
    modules: list[ModuleType] = [kaitiaki.classify.name_rules, kaitiaki.scan]
    if nz:
        modules.append(kaitiaki_nz.plugin)
    for module in (*modules, *extra):
        pm.register(module, name=module.__name__)
    return pm


def entry(
    name: str,
    columns: dict[str, Sequence[str]],
    *,
    agency: str | None = None,
    categories: Sequence[str] = (),
    line: int | None = None,
) -> TableEntry:
    """A catalog entry as kaitiaki.yaml's loader builds it."""
    return TableEntry(
        name=name,
        agency=agency,
        categories=tuple(categories),
        columns={c: tuple(v) for c, v in columns.items()},
        line=line,
    )


def edge(source: str, target: str, *transforms: str, statement: int = 0) -> LineageEdge:
    """``edge("raw.clients.nhi", "stg.clients.client_key", "hash")``; a target without a table is bare."""
    s_table, _, s_col = source.rpartition(".")
    t_table, _, t_col = target.rpartition(".")
    return LineageEdge(
        source=ColumnRef(s_table, s_col),
        target=ColumnRef(t_table or None, t_col),
        transforms=tuple(transforms) or ("none",),
        statement=statement,
    )


def facts(
    columns: Sequence[tuple[str, Sequence[str]]] = (),
    lineage: Sequence[LineageEdge] = (),
    *,
    targets: Sequence[str | None] = (None,),
    path: str | None = None,
) -> SqlFacts:
    """SqlFacts with ``columns`` as ``("table.column", uses)``; outputs come from the lineage edges."""
    column_facts = []
    for qualified, uses in columns:
        table, _, column = qualified.rpartition(".")
        outs = tuple(
            e.target.qualified for e in lineage if e.source.table == table and e.source.column == column
        )
        transforms = tuple(
            dict.fromkeys(t for e in lineage if e.source.qualified == qualified for t in e.transforms)
        )
        column_facts.append(ColumnFact(table, column, uses=tuple(uses), transforms=transforms, outputs=outs))
    statements = tuple(
        Statement(index=i, kind="insert" if t else "select", target=t, line=1) for i, t in enumerate(targets)
    )
    return SqlFacts(
        path=path,
        dialect="postgres",
        statements=statements,
        columns=tuple(column_facts),
        lineage=tuple(lineage),
    )


def by_column(classified_columns: Sequence[ColumnFact]) -> dict[str, ColumnFact]:
    return {c.qualified: c for c in classified_columns}
