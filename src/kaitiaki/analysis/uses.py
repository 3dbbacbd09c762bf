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
    Flow,
    Origin,
    is_boundary,
    is_explicit,
    is_star,
    lambda_variable,
    line_of,
    walk_scope,
)

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
_SKIPPED = frozenset({"with_", "into", "kind", "hint", "sample", "settings", "format", "locks", "options"})


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
        return list(_select_references(flow, scope, expression))
    if isinstance(expression, exp.SetOperation) and isinstance(expression.args.get("order"), exp.Order):
        return list(_clause_references(flow, scope, expression.args["order"], ORDER))
    return []


def _select_references(flow: Flow, scope: Scope, select: exp.Select) -> Iterator[Reference]:
    for key, value in select.args.items():
        if key in _SKIPPED or value is None:
            continue
        if key == "expressions":
            for projection in value:
                if projection.find(exp.Columns):
                    flow.report(
                        "star_without_schema",
                        "COLUMNS(…) picks columns by pattern: what it reads cannot be listed",
                        line_of(projection) or flow.statement_line,
                    )
                if is_star(projection):
                    yield from _star_references(flow, scope, projection)
                else:
                    yield from _clause_references(flow, scope, projection, SELECT)
        elif key == "joins":
            for join in value:
                yield from _clause_references(flow, scope, join.this, SELECT)
                if isinstance(join.args.get("on"), exp.Expr):
                    yield from _predicate_references(flow, scope, join.args["on"])
        elif key == "where":
            yield from _predicate_references(flow, scope, value.this)
        elif isinstance(value, exp.Expr):
            yield from _clause_references(flow, scope, value, _CLAUSE_USE.get(key, SELECT))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, exp.Expr):
                    yield from _clause_references(flow, scope, item, _CLAUSE_USE.get(key, SELECT))


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
        yield from _references(flow, scope, column, WINDOW if in_window else use)


def _predicate_references(flow: Flow, scope: Scope, condition: exp.Expr) -> Iterator[Reference]:
    """WHERE / ON: each AND-ed condition is a join when it links two sources, else a filter."""
    conjuncts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
    for conjunct in conjuncts:
        columns = list(clause_columns(conjunct, scope.expression))
        sources = {_source_key(flow, scope, c) for c, _ in columns} - {None}
        linking = len(sources) >= 2 or _tests_subquery(conjunct, scope.expression)
        for column, in_window in columns:
            use = WINDOW if in_window else JOIN if linking else FILTER
            yield from _references(flow, scope, column, use)


def _source_key(flow: Flow, scope: Scope, column: exp.Expr) -> tuple[int, str] | None:
    if not isinstance(column, exp.Column) or not column.table:
        return None
    found = flow.source_of(scope, column.table)
    return (id(found[0]), column.table) if found else None


def _tests_subquery(conjunct: exp.Expr, root: exp.Expr) -> bool:
    """``x IN (SELECT …)``, ``EXISTS (…)``, ``x = (SELECT …)``: membership in another relation."""
    return any(node is not conjunct and is_boundary(node, root) for node in walk_scope(conjunct, root))


def _references(flow: Flow, scope: Scope, column: exp.Expr, use: str) -> Iterator[Reference]:
    line = line_of(column)
    explicit = is_explicit(column)
    origins: tuple[Origin, ...]
    if isinstance(column, exp.TableColumn):
        origins = flow.whole_source_origins(scope, column.name)
    elif isinstance(column, exp.Column) and isinstance(column.this, exp.Star):
        origins = flow.whole_source_origins(scope, column.table) if column.table else ()
    elif isinstance(column, exp.Column) and column.table:
        origins = flow.column_origins(column, scope)
    elif isinstance(column, exp.Column):
        origins = unqualified_origins(flow, scope, column, use)
    else:
        origins = ()
    for origin in origins:
        yield Reference(origin.table, origin.column, use, line, explicit)


def unqualified_origins(flow: Flow, scope: Scope, column: exp.Column, use: str) -> tuple[Origin, ...]:
    """A column still unqualified after ``Flow.settle``: an output alias or a source used as a value."""
    name = column.name
    if lambda_variable(column):
        return ()
    names = flow.output_names(scope) or []
    if use in (ORDER, GROUP, FILTER) and name in names:
        return flow.origins_at(scope, names.index(name))
    if name in scope.sources:
        return flow.whole_source_origins(scope, name)
    return ()  # reported by Flow.settle
