"""How each base column is used: select, join, filter, group, order, window.

Every column reference in every scope is classified by the clause it sits in, then followed to
its base-table origins (``Flow``), so a filter on a CTE's column is a filter on the table column
behind it. In WHERE and ON, a condition comparing two different sources (``a.id = b.id``,
``a.x > b.y``) or testing membership in a subquery (``IN (SELECT …)``, ``EXISTS``) is a *join*;
any other condition is a *filter*. Keys of PARTITION BY / ORDER BY inside OVER are *window*.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from kaitiaki.analysis.flow import (
    ALIAS_CLAUSES,
    Flow,
    Origin,
    is_boundary,
    is_explicit,
    lambda_variable,
    line_of,
)
from kaitiaki.analysis.index import NO_CONJUNCT, ScopeIndex, is_row_star
from kaitiaki.analysis.resolve import SHADOWED

SELECT, JOIN, FILTER, GROUP, ORDER, WINDOW, WRITE = (
    "select",
    "join",
    "filter",
    "group",
    "order",
    "window",
    "write",
)

_CLAUSE_USE = {
    "expressions": SELECT,
    "group": GROUP,
    "having": FILTER,
    "qualify": FILTER,
    "order": ORDER,
    "windows": WINDOW,
    "connect": FILTER,
    "prewhere": FILTER,
    "limit": FILTER,
    "offset": FILTER,
    "distinct": SELECT,
    "laterals": SELECT,
    "from_": SELECT,
}


@dataclass(frozen=True)
class Reference:
    """One use of a base column, at a line; ``explicit`` is False when only a star produced it."""

    table: str
    column: str
    use: str
    line: int | None
    explicit: bool


def scope_references(flow: Flow, scope: Scope) -> list[Reference]:
    """Every use of a base column made directly in ``scope`` (not in its subqueries)."""
    expression = scope.expression
    if isinstance(expression, exp.Select):
        return list(_select_references(flow, scope))
    if isinstance(expression, exp.SetOperation) and isinstance(expression.args.get("order"), exp.Order):
        return list(_clause_references(flow, scope, expression.args["order"], ORDER))
    return []


def _select_references(flow: Flow, scope: Scope) -> Iterator[Reference]:
    index = flow.index(scope)
    for pattern in index.patterns:
        flow.report(
            "star_without_schema",
            "COLUMNS(…) picks columns by pattern: what it reads cannot be listed",
            line_of(pattern) or flow.statement_line,
        )
    for star in index.stars:
        yield from _star_references(flow, scope, star)
    yield from _shadowed_references(flow, scope)
    linking = _linking_conjuncts(flow, scope, index)
    for site in index.sites:
        if site.window:
            use = WINDOW
        elif site.conjunct != NO_CONJUNCT:
            use = JOIN if site.conjunct in linking else FILTER
        else:
            use = _CLAUSE_USE.get(site.clause, SELECT)
        yield from _references(flow, scope, site.node, use, site.clause)


def _shadowed_references(flow: Flow, scope: Scope) -> Iterator[Reference]:
    """A source column an output alias shadows in GROUP BY / ORDER BY …: it may be what is read."""
    select = scope.expression
    shadowed = select.meta.get(SHADOWED) if select.meta else None
    for name, clause in (shadowed or {}).items():
        use = _CLAUSE_USE.get(clause, FILTER)
        for source_name in scope.selected_sources:
            source = scope.sources[source_name]
            columns = flow.known_columns(source)
            if columns is not None and name not in columns:
                continue
            if isinstance(source, exp.Table):
                origins = flow.table_origins(source, name, scope, None)
            else:
                origins = flow.derived_origins(source, name, None)
            for origin in origins:
                yield Reference(origin.table, origin.column, use, flow.statement_line, True)


def _linking_conjuncts(flow: Flow, scope: Scope, index: ScopeIndex) -> set[int]:
    """AND-ed WHERE / ON conditions that relate two sources, or test membership in a subquery."""
    sources: dict[int, set[tuple[int, str]]] = {}
    for site in index.sites:
        if site.conjunct != NO_CONJUNCT:
            key = _source_key(flow, scope, site.node)
            if key is not None:
                sources.setdefault(site.conjunct, set()).add(key)
    linking = {number for number, keys in sources.items() if len(keys) >= 2}
    linking.update(n for n, has in enumerate(index.conjunct_has_subquery) if has)
    return linking


def _star_references(flow: Flow, scope: Scope, star: exp.Expr) -> Iterator[Reference]:
    line = line_of(star)
    for output in flow.star_outputs(scope, star):
        for origin in output.origins:
            yield Reference(origin.table, origin.column, SELECT, line, False)


def clause_columns(
    node: exp.Expr, root: exp.Expr, in_window: bool = False
) -> Iterator[tuple[exp.Expr, bool]]:
    """Column references under ``node`` in ``root``'s scope, flagged when inside OVER (…) keys."""
    stack: list[tuple[exp.Expr, bool]] = [(node, in_window)]
    while stack:
        current, window = stack.pop()
        if isinstance(current, (exp.Column, exp.TableColumn)):
            yield current, window
            continue
        if is_boundary(current, root):
            continue
        if isinstance(current, exp.Window):
            stack.append((current.this, window))
            for key in ("partition_by", "order"):
                value = current.args.get(key)
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, exp.Expr):
                        stack.append((child, True))
            continue
        stack.extend((child, window) for child in current.iter_expressions())


def _clause_references(flow: Flow, scope: Scope, node: exp.Expr, use: str) -> Iterator[Reference]:
    for column, in_window in clause_columns(node, scope.expression):
        yield from _references(flow, scope, column, WINDOW if in_window else use, "order")


def _source_key(flow: Flow, scope: Scope, column: exp.Expr) -> tuple[int, str] | None:
    if not isinstance(column, exp.Column) or not column.table:
        return None
    found = flow.source_of(scope, column.table)
    return (id(found[0]), column.table) if found else None


def _references(flow: Flow, scope: Scope, column: exp.Expr, use: str, clause: str) -> Iterator[Reference]:
    line = line_of(column)
    explicit = is_explicit(column)
    origins: tuple[Origin, ...]
    if is_row_star(column):
        origins = flow.row_star_origins(scope)
    elif isinstance(column, exp.TableColumn):
        origins = flow.whole_source_origins(scope, column.name)
    elif isinstance(column, exp.Column) and isinstance(column.this, exp.Star):
        origins = flow.whole_source_origins(scope, column.table) if column.table else ()
    elif isinstance(column, exp.Column) and column.table:
        origins = flow.column_origins(column, scope)
    elif isinstance(column, exp.Column):
        origins = unqualified_origins(flow, scope, column, clause)
    else:
        origins = ()
    for origin in origins:
        yield Reference(origin.table, origin.column, use, line, explicit)


def unqualified_origins(flow: Flow, scope: Scope, column: exp.Column, clause: str) -> tuple[Origin, ...]:
    """A column still unqualified after ``Flow.settle``: an output alias or a source used as a value."""
    name = column.name
    if lambda_variable(column):
        return ()
    names = flow.output_names(scope) or []
    if clause in ALIAS_CLAUSES and name in names:
        return flow.origins_at(scope, names.index(name))
    if name in scope.sources:
        return flow.whole_source_origins(scope, name)
    return ()  # reported by Flow.settle
