"""Is the output aggregated, does it count, and how small may a group be?

A query is *grouped* when it has GROUP BY or aggregates in its output, or when it only reads
grouped derived tables (``WITH a AS (… GROUP BY …) SELECT * FROM a``). ``count`` and
``magnitudes`` come from the aggregate functions that reach the outputs, through any CTEs.
``min_group_size`` comes from the suppression condition: ``HAVING COUNT(*) >= n``,
``COUNT(DISTINCT k) > n`` (→ n + 1), ``n <= COUNT(…)``, an outer ``WHERE n_people >= n`` on a
grouped CTE's count; AND-ed conditions take the largest threshold, OR-ed ones the smallest.
A set operation is only as safe as its weakest branch.

For SV-06 the unit matters as much as the number (a HAVING on rows or dates suppresses nothing),
so each grouped query is also a *cell*: the populations its published aggregates cover (``all``,
or the condition of a FILTER / CASE that narrows one aggregate) and the thresholds that are a
top-level AND of its HAVING, each saying what it counts — the distinct values of which base
columns, or the rows of which tables and whether a join or grouped source may multiply them.
Whether a unit is people is the policy's question (it knows the categories and the catalog's
``grain``). ``single_value`` names published aggregates that return one person's value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from kaitiaki.analysis.flow import Flow, walk_scope
from kaitiaki.analysis.transforms import aggregate_name, is_aggregate, is_count, is_single_value
from kaitiaki.model import Aggregation, Cell, Threshold

_FLIPPED: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.LTE: exp.GTE,
    exp.LT: exp.GT,
    exp.GTE: exp.LTE,
    exp.GT: exp.LT,
}


@dataclass(frozen=True)
class ScopeAggregation:
    grouped: bool
    functions: frozenset[str]
    min_group_size: int | None
    cells: tuple[Cell, ...] = ()
    single: frozenset[str] = frozenset()


def query_aggregation(flow: Flow, scope: Scope) -> ScopeAggregation:
    """Aggregation facts of one query (the statement's output query)."""
    expression = scope.expression
    if isinstance(expression, exp.SetOperation) and len(scope.set_operation_scopes) == 2:
        left, right = (query_aggregation(flow, s) for s in scope.set_operation_scopes)
        grouped = left.grouped and right.grouped
        sizes = [left.min_group_size, right.min_group_size]
        smallest = None if None in sizes else min(s for s in sizes if s is not None)
        return ScopeAggregation(
            grouped,
            left.functions | right.functions,
            smallest if grouped else None,
            left.cells + right.cells,
            left.single | right.single,
        )
    if not isinstance(expression, exp.Select):
        return ScopeAggregation(False, frozenset(), None)
    functions = frozenset(
        f for i in range(len(expression.expressions)) for f in output_functions(flow, scope, i)
    )
    single = _single_values(expression)
    if flow.index(scope).groups:
        having = _having(expression)
        cell = Cell(_populations(expression), tuple(thresholds(flow, scope, having)))
        return ScopeAggregation(True, functions, threshold(flow, scope, having), (cell,), single)
    sources = [source for _, source in scope.selected_sources.values()]
    derived = [query_aggregation(flow, s) for s in sources if isinstance(s, Scope)]
    if not sources or len(derived) != len(sources) or not all(d.grouped for d in derived):
        return ScopeAggregation(False, functions, None, single=single)
    sizes = [d.min_group_size for d in derived]
    inherited = None if None in sizes else min(s for s in sizes if s is not None)
    where = expression.args.get("where")
    condition = where.this if isinstance(where, exp.Where) and len(derived) == 1 else None
    outer = threshold(flow, scope, condition)
    candidates = [s for s in (inherited, outer) if s is not None]
    extra = tuple(thresholds(flow, scope, condition))
    cells = tuple(Cell(c.populations, c.thresholds + extra) for d in derived for c in d.cells)
    return ScopeAggregation(
        True,
        functions,
        max(candidates) if candidates else None,
        cells,
        single.union(*(d.single for d in derived)),
    )


def _single_values(select: exp.Select) -> frozenset[str]:
    """Published aggregates that return one row's value: MIN, MAX, ANY_VALUE, FIRST, ARG_MAX …"""
    found = set()
    for projection in select.expressions:
        for node in walk_scope(projection, select):
            if isinstance(node, exp.Func) and is_single_value(node) and not node.find_ancestor(exp.Window):
                found.add(aggregate_name(node))
    return frozenset(found)


def _populations(select: exp.Select) -> tuple[str, ...]:
    """The populations the published aggregates cover: ``all``, or a FILTER / CASE condition."""
    found: set[str] = set()
    for projection in select.expressions:
        for node in walk_scope(projection, select):
            if isinstance(node, exp.Func) and is_aggregate(node) and not node.find_ancestor(exp.Window):
                found.add(population(node))
    return tuple(sorted(found))


def population(aggregate: exp.Expr) -> str:
    """``all``, or the text of the condition a FILTER or a CASE / IF inside narrows ``aggregate`` to."""
    parent = aggregate.parent
    if isinstance(parent, exp.Filter):
        where = parent.expression
        condition = where.this if isinstance(where, exp.Where) else where
        return condition.sql() if isinstance(condition, exp.Expr) else "all"
    conditions = [
        when.this.sql()
        for case in aggregate.find_all(exp.Case, exp.If)
        for when in ([case] if isinstance(case, exp.If) else case.args.get("ifs") or [])
        if isinstance(when.this, exp.Expr)
    ]
    return " AND ".join(sorted(set(conditions))) if conditions else "all"


def thresholds(flow: Flow, scope: Scope, condition: exp.Expr | None) -> list[Threshold]:
    """The suppression thresholds that are a top-level AND of ``condition`` (OR-ed ones are not)."""
    if condition is None:
        return []
    found = []
    for conjunct in condition.flatten() if isinstance(condition, exp.And) else [condition]:
        while isinstance(conjunct, exp.Paren):
            conjunct = conjunct.this
        if isinstance(conjunct, (exp.GTE, exp.GT, exp.EQ, exp.LTE, exp.LT, exp.Between)):
            found.extend(_conjunct_threshold(flow, scope, conjunct))
    return found


def _conjunct_threshold(flow: Flow, scope: Scope, comparison: exp.Expr) -> list[Threshold]:
    """A COUNT (perhaps with FILTER, perhaps through an output alias) bounded from below."""
    if isinstance(comparison, exp.Between):
        counted = _count_node(flow, scope, comparison.this)
        bound = _at_least(comparison.args.get("low"), inclusive=True)
    else:
        kind: type[exp.Expr] = type(comparison)
        counted, other = _count_node(flow, scope, comparison.this), comparison.expression
        if counted is None:
            kind = _FLIPPED.get(kind, kind)
            counted, other = _count_node(flow, scope, comparison.expression), comparison.this
        inclusive = kind in (exp.GTE, exp.EQ)
        bound = _at_least(other, inclusive=inclusive) if inclusive or kind is exp.GT else None
    if counted is None or bound is None:
        return []
    return [_threshold(flow, counted[1], counted[0], bound)]


def _count_node(flow: Flow, scope: Scope, node: exp.Expr) -> tuple[Scope, exp.Expr] | None:
    """The COUNT ``node`` is (in parentheses, a cast, a FILTER, an output alias), and its scope."""
    while isinstance(node, (exp.Paren, exp.Cast, exp.TryCast, exp.Filter)):
        node = node.this
    if is_count(node) and not isinstance(node, exp.CountIf):
        return scope, node
    if not isinstance(node, exp.Column) or not isinstance(scope.expression, exp.Select):
        return None
    if not node.table:
        projections = scope.expression.expressions
        aliased = [p.this for p in projections if isinstance(p, exp.Alias) and p.alias == node.name]
        return _count_node(flow, scope, aliased[0]) if len(aliased) == 1 else None
    located = flow.source_of(scope, node.table)
    if located is None or not isinstance(located[1], Scope):
        return None
    if not isinstance(located[1].expression, exp.Select):
        return None
    for projection in located[1].expression.expressions:
        if projection.alias_or_name == node.name:
            return _count_node(flow, located[1], projection.unalias())
    return None


def _threshold(flow: Flow, count: exp.Expr, scope: Scope, bound: int) -> Threshold:
    """What a COUNT counts: distinct base columns, or rows of the tables below it."""
    narrowed = population(count)
    argument = count.this if isinstance(count, exp.Func) else None
    if isinstance(argument, exp.Distinct):
        values = argument.expressions
        origins = {o for value in values for o in flow.expression_origins(value, scope)}
        columns = tuple(sorted(f"{o.table}.{o.column}" for o in origins))
        people = len(values) == 1 and not _mixes_other_values(values[0])
        return Threshold(bound, True, columns=columns if people else (), population=narrowed)
    if (
        argument is None
        or isinstance(argument, exp.Star)
        or (isinstance(argument, exp.Literal) and not argument.is_string)
    ):
        tables, joined = _row_tables(flow, scope)
        return Threshold(bound, False, tables=tables, joined=joined, population=narrowed)
    return Threshold(bound, False, joined=True, population=narrowed)  # COUNT(col): non-null rows of some kind


def _mixes_other_values(value: exp.Expr) -> bool:
    """A value that joins the counted column with one from no column (random(), a sequence, a
    row number): count(distinct k || random()) counts rows, whatever k is."""
    return any(
        node.find(exp.Column) is None for node in value.find_all(exp.Func) if not isinstance(node, exp.Cast)
    )


def _row_tables(flow: Flow, scope: Scope) -> tuple[tuple[str, ...], bool]:
    """The base tables whose rows a COUNT(*) in ``scope`` counts, and whether they may be multiplied
    or merged on the way (a join, a lateral source, a grouped or set-operation derived table)."""
    select = scope.expression
    sources = list(scope.selected_sources.values())
    joined = not isinstance(select, exp.Select) or len(sources) != 1 or bool(select.args.get("joins"))
    tables: list[str] = []
    for _, source in sources:
        if isinstance(source, exp.Table):
            tables.append(flow.table_name(source))
        elif isinstance(source, Scope) and isinstance(source.expression, exp.Select):
            inner, inner_joined = _row_tables(flow, source)
            tables.extend(inner)
            joined = joined or inner_joined or flow.index(source).groups
        else:
            joined = True
    return tuple(sorted(set(tables))), joined


def _having(select: exp.Select) -> exp.Expr | None:
    having = select.args.get("having")
    return having.this if isinstance(having, exp.Having) else None


def output_functions(flow: Flow, scope: Scope, index: int) -> frozenset[str]:
    """Aggregate names (``count``, ``sum`` …) applied to output ``index``, through derived tables."""
    select = scope.expression
    found_index = flow.index(scope)
    if not isinstance(select, exp.Select) or index >= len(found_index.aggregates):
        return frozenset()
    found = set(found_index.aggregates[index])
    for site in found_index.projection_sites[index]:
        if isinstance(site.node, exp.Column) and site.node.table:
            found |= _column_functions(flow, scope, site.node)
    return frozenset(found)


def _column_functions(flow: Flow, scope: Scope, column: exp.Column) -> frozenset[str]:
    located = flow.source_of(scope, column.table)
    if located is None or not isinstance(located[1], Scope):
        return frozenset()
    source = located[1]
    names = flow.output_names(source) or []
    if column.name not in names or not isinstance(source.expression, exp.Select):
        return frozenset()
    return output_functions(flow, source, names.index(column.name))


def threshold(flow: Flow, scope: Scope, condition: exp.Expr | None) -> int | None:
    """The smallest group size a suppression condition guarantees, or None."""
    if condition is None:
        return None
    if isinstance(condition, exp.Paren):
        return threshold(flow, scope, condition.this)
    if isinstance(condition, exp.And):
        found = [threshold(flow, scope, c) for c in condition.flatten()]
        known = [f for f in found if f is not None]
        return max(known) if known else None
    if isinstance(condition, exp.Or):
        found = [threshold(flow, scope, c) for c in condition.flatten()]
        return None if None in found else min(f for f in found if f is not None)
    if isinstance(condition, exp.Between) and _counts(flow, scope, condition.this):
        return _at_least(condition.args.get("low"), inclusive=True)
    if isinstance(condition, (exp.GTE, exp.GT, exp.EQ, exp.LTE, exp.LT)):
        return _comparison(flow, scope, condition)
    return None


def _comparison(flow: Flow, scope: Scope, node: exp.Binary) -> int | None:
    kind: type[exp.Expr] = type(node)
    count, bound = node.this, node.expression
    if not _counts(flow, scope, count):
        kind = _FLIPPED.get(kind, kind)
        count, bound = bound, count
        if not _counts(flow, scope, count):
            return None
    if kind in (exp.GTE, exp.EQ):
        return _at_least(bound, inclusive=True)
    if kind is exp.GT:
        return _at_least(bound, inclusive=False)
    return None


def _counts(flow: Flow, scope: Scope, node: exp.Expr) -> bool:
    """A COUNT(…) — directly, in parentheses or a cast, or an output column that is one."""
    while isinstance(node, (exp.Paren, exp.Cast, exp.TryCast)):
        node = node.this
    if is_count(node) and not isinstance(node, exp.CountIf):
        return True
    if isinstance(node, exp.Column) and not node.table and isinstance(scope.expression, exp.Select):
        aliased = [
            p.this for p in scope.expression.expressions if isinstance(p, exp.Alias) and p.alias == node.name
        ]
        return len(aliased) == 1 and _counts(flow, scope, aliased[0])
    if isinstance(node, exp.Column) and node.table:
        located = flow.source_of(scope, node.table)
        if located is not None and isinstance(located[1], Scope):
            source = located[1].expression
            if isinstance(source, exp.Select):
                for projection in source.expressions:
                    if projection.alias_or_name == node.name:
                        return _counts(flow, located[1], projection.unalias())
    return False


def _at_least(bound: exp.Expr | None, inclusive: bool) -> int | None:
    while isinstance(bound, (exp.Paren, exp.Cast)):
        bound = bound.this
    if not isinstance(bound, exp.Literal) or bound.is_string:
        return None
    try:
        value = float(str(bound.this))
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return math.ceil(value) if inclusive else math.floor(value) + 1


def combine(parts: list[ScopeAggregation]) -> Aggregation:
    """The job's aggregation over every statement with outputs: as safe as its least safe part."""
    if not parts:
        return Aggregation()
    grouped = all(p.grouped for p in parts)
    functions = frozenset().union(*(p.functions for p in parts))
    sizes = [p.min_group_size for p in parts if p.grouped]
    smallest = None if not sizes or None in sizes else min(s for s in sizes if s is not None)
    return Aggregation(
        grouped=grouped,
        count="count" in functions,
        magnitudes=tuple(sorted(functions - {"count"})),
        min_group_size=smallest if grouped else None,
        single_value=tuple(sorted(frozenset().union(*(p.single for p in parts)))),
        cells=tuple(c for p in parts if p.grouped for c in p.cells),
    )
