"""One walk over a scope that records everything the later passes read.

Uses, joins, lineage and aggregation all need the same few things from a SELECT: where each
column reference sits (clause, inside OVER keys, under which projection and through which
transforms), the comparisons in WHERE and ON, the subqueries, the aggregate functions. Walking
the tree once per scope and keeping those lists keeps the analysis cheap next to parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from kaitiaki.analysis.transforms import (
    AGGREGATE,
    aggregate_name,
    is_value_aggregate,
    marks_of,
    picks_a_value,
    transform_of,
)

NO_PROJECTION = -1
NO_CONJUNCT = -1
_SKIPPED = frozenset({"with_", "into", "kind", "hint", "sample", "settings", "format", "locks", "options"})
_COMPARISONS = (exp.EQ, exp.NullSafeEQ)
_FUNCTIONS = (exp.Func, exp.WithinGroup, exp.Filter)


@dataclass
class Site:
    """One column reference in the scope and where it sits."""

    node: exp.Expr  # Column, TableColumn, or a row star (``hash(*)``, ``COLUMNS(…)``)
    clause: str  # the SELECT argument it is under: expressions, where, on, group, having, order …
    window: bool  # inside PARTITION BY / ORDER BY of an OVER (…)
    projection: int = NO_PROJECTION
    path: frozenset[str] = frozenset()  # transforms between the projection and the column
    conjunct: int = NO_CONJUNCT  # which AND-ed condition of WHERE / ON it belongs to


@dataclass
class Nested:
    """A subquery inside this scope (its own scope), and where it sits."""

    node: exp.Expr
    projection: int = NO_PROJECTION
    path: frozenset[str] = frozenset()
    conjunct: int = NO_CONJUNCT


@dataclass
class Comparison:
    """An equality or ``IN (SELECT …)`` in WHERE or ON: a candidate join key."""

    node: exp.Expr
    join: exp.Join | None  # the JOIN whose ON it is in; None for WHERE


@dataclass
class ScopeIndex:
    sites: list[Site] = field(default_factory=list)
    nested: list[Nested] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    conjunct_has_subquery: list[bool] = field(default_factory=list)
    aggregates: list[set[str]] = field(default_factory=list)  # per projection: count, sum, …
    projection_sites: list[list[Site]] = field(default_factory=list)  # per projection, outside OVER keys
    projection_nested: list[list[Nested]] = field(default_factory=list)
    groups: bool = False  # GROUP BY, or an aggregate outside OVER in the projections
    stars: list[exp.Expr] = field(default_factory=list)  # projections sqlglot could not expand
    patterns: list[exp.Expr] = field(default_factory=list)  # COLUMNS('regex') projections


def index_select(select: exp.Select) -> ScopeIndex:
    """Walk ``select`` once (not entering its subqueries)."""
    index = ScopeIndex(groups=bool(select.args.get("group")))
    for key, value in select.args.items():
        if key in _SKIPPED or value is None:
            continue
        if key == "expressions":
            for position, projection in enumerate(value):
                _projection(index, select, projection, position)
        elif key == "joins":
            for join in value:
                _walk(index, select, join.this, "from")
                if isinstance(join.args.get("on"), exp.Expr):
                    _conditions(index, select, join.args["on"], "on", join)
        elif key == "where" and isinstance(value, exp.Where):
            _conditions(index, select, value.this, "where", None)
        elif isinstance(value, exp.Expr):
            _walk(index, select, value, key)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, exp.Expr):
                    _walk(index, select, item, key)
    return index


def _projection(index: ScopeIndex, select: exp.Select, projection: exp.Expr, position: int) -> None:
    index.aggregates.append(set())
    index.projection_sites.append([])
    index.projection_nested.append([])
    if isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    ):
        index.stars.append(projection)
        return
    _walk(index, select, projection, "expressions", position=position)


def _conditions(
    index: ScopeIndex, select: exp.Select, condition: exp.Expr, clause: str, join: exp.Join | None
) -> None:
    conjuncts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
    for conjunct in conjuncts:
        number = len(index.conjunct_has_subquery)
        index.conjunct_has_subquery.append(False)
        _walk(index, select, conjunct, clause, conjunct=number, join=join)


def _walk(
    index: ScopeIndex,
    select: exp.Select,
    node: exp.Expr,
    clause: str,
    position: int = NO_PROJECTION,
    conjunct: int = NO_CONJUNCT,
    join: exp.Join | None = None,
) -> None:
    """Depth-first over one clause, tracking OVER keys and (for projections) transforms."""
    stack: list[tuple[exp.Expr, frozenset[str], bool]] = [(node, frozenset(), False)]
    conditions = clause in ("where", "on")
    while stack:
        current, path, window = stack.pop()
        if isinstance(current, (exp.Column, exp.TableColumn)) or is_row_star(current):
            site = Site(current, clause, window, position, path, conjunct)
            index.sites.append(site)
            if position != NO_PROJECTION and not window:
                index.projection_sites[position].append(site)
            if isinstance(current, exp.Columns) and not isinstance(current.this, exp.Star):
                index.patterns.append(current)
            continue
        if isinstance(current, (exp.Select, exp.SetOperation, exp.CTE)):
            nested = Nested(current, position, path, conjunct)
            index.nested.append(nested)
            if position != NO_PROJECTION:
                index.projection_nested[position].append(nested)
            if conjunct != NO_CONJUNCT:
                index.conjunct_has_subquery[conjunct] = True
            continue
        if conditions and (
            isinstance(current, _COMPARISONS)
            or (isinstance(current, exp.In) and isinstance(current.args.get("query"), exp.Expr))
        ):
            index.comparisons.append(Comparison(current, join))
        if isinstance(current, exp.Window):
            stack.append((current.this, path, window))
            for key in ("partition_by", "order"):
                value = current.args.get(key)
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, exp.Expr):
                        stack.append((child, path, True))
            continue
        if position != NO_PROJECTION and isinstance(current, _FUNCTIONS):
            if isinstance(current, exp.Filter):
                inner = transform_of(current.this)
                stack.append((current.this, path, window))
                stack.append((current.expression, path | {inner} if inner else path, window))
                continue
            transform = transform_of(current)
            _note_aggregate(index, current, position, transform)
            if transform:
                path = path | {transform}
            path = path | marks_of(current)
        stack.extend((child, path, window) for child in current.iter_expressions())


def is_row_star(node: exp.Expr) -> bool:
    """A star that stands for every column of the query's sources inside an expression.

    ``hash(*)``, ``object_construct(*)``, ``struct(*)``, ``COLUMNS(*)`` / ``COLUMNS('regex')``
    read whole rows; only ``count(*)`` reads no value. (A star that is a whole projection is
    expanded separately.)
    """
    if isinstance(node, exp.Columns):
        return True
    return isinstance(node, exp.Star) and not isinstance(node.parent, (exp.Count, exp.Columns, exp.Select))


def _note_aggregate(index: ScopeIndex, node: exp.Expr, position: int, transform: str | None) -> None:
    aggregate = (transform == AGGREGATE or picks_a_value(node)) and not isinstance(node, exp.WithinGroup)
    if aggregate:
        index.aggregates[position].add(aggregate_name(node))
    if (aggregate or is_value_aggregate(node)) and not _under_window(node):
        index.groups = True


def _under_window(node: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None and not isinstance(parent, (exp.Select, exp.SetOperation)):
        if isinstance(parent, exp.Window):
            return True
        parent = parent.parent
    return False
