"""Is the output aggregated, does it count, and how small may a group be?

A query is *grouped* when it has GROUP BY or aggregates in its output, or when it only reads
grouped derived tables (``WITH a AS (… GROUP BY …) SELECT * FROM a``). ``count`` and
``magnitudes`` come from the aggregate functions that reach the outputs, through any CTEs.
``min_group_size`` comes from the suppression condition: ``HAVING COUNT(*) >= n``,
``COUNT(DISTINCT k) > n`` (→ n + 1), ``n <= COUNT(…)``, an outer ``WHERE n_people >= n`` on a
grouped CTE's count; AND-ed conditions take the largest threshold, OR-ed ones the smallest.
A set operation is only as safe as its weakest branch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from kaitiaki.analysis.flow import Flow
from kaitiaki.analysis.transforms import is_count
from kaitiaki.model import Aggregation

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


def query_aggregation(flow: Flow, scope: Scope) -> ScopeAggregation:
    """Aggregation facts of one query (the statement's output query)."""
    expression = scope.expression
    if isinstance(expression, exp.SetOperation) and len(scope.set_operation_scopes) == 2:
        left, right = (query_aggregation(flow, s) for s in scope.set_operation_scopes)
        grouped = left.grouped and right.grouped
        sizes = [left.min_group_size, right.min_group_size]
        smallest = None if None in sizes else min(s for s in sizes if s is not None)
        return ScopeAggregation(grouped, left.functions | right.functions, smallest if grouped else None)
    if not isinstance(expression, exp.Select):
        return ScopeAggregation(False, frozenset(), None)
    functions = frozenset(
        f for i in range(len(expression.expressions)) for f in output_functions(flow, scope, i)
    )
    if flow.index(scope).groups:
        return ScopeAggregation(True, functions, threshold(flow, scope, _having(expression)))
    sources = [source for _, source in scope.selected_sources.values()]
    derived = [query_aggregation(flow, s) for s in sources if isinstance(s, Scope)]
    if not sources or len(derived) != len(sources) or not all(d.grouped for d in derived):
        return ScopeAggregation(False, functions, None)
    sizes = [d.min_group_size for d in derived]
    inherited = None if None in sizes else min(s for s in sizes if s is not None)
    where = expression.args.get("where")
    outer = threshold(flow, scope, where.this) if isinstance(where, exp.Where) and len(derived) == 1 else None
    candidates = [s for s in (inherited, outer) if s is not None]
    return ScopeAggregation(True, functions, max(candidates) if candidates else None)


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
    )
