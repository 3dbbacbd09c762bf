"""Join keys: every equality that links two relations, resolved back to base-table columns.

Found in explicit ``JOIN … ON`` (and ``USING`` / ``NATURAL``, which ``qualify`` rewrites to ON
when the schema says which columns are shared), in implicit comma joins (``WHERE a.id = b.id``),
in semi- and anti-joins (``IN (SELECT …)``, ``EXISTS``, ``NOT IN``, ``NOT EXISTS``), in LATERAL
subqueries and correlated scalar subqueries. Each side may wrap its columns in functions
(``upper(a.email) = upper(b.email)``): the key is still the base column. The left side is the
relation that comes first (the outer query, for a correlated subquery).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from kaitiaki.analysis.flow import Flow, first_line, line_of
from kaitiaki.analysis.statements import JOIN_KIND_META
from kaitiaki.model import ColumnRef, JoinFact

SideKey = tuple[int, str]


def scope_joins(flow: Flow, scope: Scope) -> list[JoinFact]:
    """Join facts made directly in ``scope``; correlations with enclosing queries included."""
    select = scope.expression
    if not isinstance(select, exp.Select):
        return []
    context = subquery_context(scope)
    facts: list[JoinFact] = []
    for join in select.args.get("joins") or []:
        if join.method == "NATURAL" and not isinstance(join.args.get("on"), exp.Expr):
            _report_natural(flow, scope, join)
    for comparison in flow.index(scope).comparisons:
        node = comparison.node
        if isinstance(node, exp.In):
            facts.extend(_membership(flow, scope, node))
        elif isinstance(node, exp.Binary):
            kind = join_kind(comparison.join) if comparison.join is not None else "inner"
            facts.extend(_equality(flow, scope, node, kind, context))
    return facts


def join_kind(join: exp.Join) -> str:
    marked = join.meta.get(JOIN_KIND_META) if join.meta else None
    if isinstance(marked, str):
        return marked
    if isinstance(join.this, exp.Lateral):
        return "lateral"
    kind = (join.kind or "").lower()
    side = (join.side or "").lower()
    if kind in ("semi", "anti"):
        return kind
    if side:
        return side
    return "cross" if kind == "cross" else "inner"


def subquery_context(scope: Scope) -> str | None:
    """How a subquery relates to the query around it: semi, anti, lateral or a scalar lookup."""
    if not scope.can_be_correlated:
        return None
    node: exp.Expr = scope.expression
    parent = node.parent
    while isinstance(parent, (exp.Subquery, exp.Paren, exp.SetOperation)):
        node, parent = parent, parent.parent
    if isinstance(parent, (exp.Exists, exp.In, exp.Any, exp.All)):
        return "anti" if _negated(parent) or isinstance(parent, exp.All) else "semi"
    if isinstance(parent, exp.Lateral):
        return "lateral"
    return "left"


def _negated(node: exp.Expr) -> bool:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return isinstance(parent, exp.Not)


def _side_keys(flow: Flow, scope: Scope, side: exp.Expr) -> tuple[set[SideKey], bool]:
    """Which relations one side of an equality reads, and whether it reads a subquery."""
    keys: set[SideKey] = set()
    subquery = False
    stack = [side]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Column):
            found = flow.source_of(scope, node.table) if node.table else None
            if found is not None:
                keys.add((id(found[0]), node.table))
        elif isinstance(node, (exp.Select, exp.SetOperation)):
            subquery = True
        else:
            stack.extend(node.iter_expressions())
    return keys, subquery


def _equality(flow: Flow, scope: Scope, node: exp.Binary, kind: str, context: str | None) -> list[JoinFact]:
    left, right = node.this, node.expression
    left_keys, left_sub = _side_keys(flow, scope, left)
    right_keys, right_sub = _side_keys(flow, scope, right)
    if left_sub or right_sub:
        kind = "anti" if _negated(node) else "semi"
        if not (left_keys or left_sub) or not (right_keys or right_sub):
            return []
    elif not left_keys or not right_keys or left_keys & right_keys:
        return []
    else:
        local = id(scope)
        crosses = {k[0] == local for k in left_keys} != {k[0] == local for k in right_keys}
        if crosses and context is not None:
            kind = context
    if _order(scope, right_keys) < _order(scope, left_keys):
        left, right = right, left
    return _facts(flow, scope, node, left, right, kind)


def _membership(flow: Flow, scope: Scope, node: exp.In) -> list[JoinFact]:
    """``x IN (SELECT y …)``: a semi-join (anti under NOT) between x and the subquery's output."""
    kind = "anti" if _negated(node) else "semi"
    return _facts(flow, scope, node, node.this, node.args["query"], kind)


def _order(scope: Scope, keys: set[SideKey]) -> int:
    """Position of the first relation a side reads; enclosing queries come first."""
    positions = list(scope.selected_sources)
    local = id(scope)
    best = len(positions)
    for owner, name in keys:
        if owner != local:
            return -1
        if name in positions:
            best = min(best, positions.index(name))
    return best


def _facts(
    flow: Flow, scope: Scope, node: exp.Expr, left: exp.Expr, right: exp.Expr, kind: str
) -> list[JoinFact]:
    left_origins = flow.expression_origins(left, scope)
    right_origins = flow.expression_origins(right, scope)
    line = _line(node) or flow.statement_line
    lefts = list(dict.fromkeys((o.table, o.column) for o in left_origins))
    rights = list(dict.fromkeys((o.table, o.column) for o in right_origins))
    return [JoinFact(ColumnRef(*a), ColumnRef(*b), kind, line) for a in lefts for b in rights if a != b]


def _line(node: exp.Expr) -> int | None:
    for column in node.find_all(exp.Column):
        line = line_of(column)
        if line is not None:
            return line
    return None


def _report_natural(flow: Flow, scope: Scope, join: exp.Join) -> None:
    """NATURAL JOIN that qualify could not rewrite: its keys are unknown unless the schema says."""
    sources = [source for _, source in scope.selected_sources.values()]
    if all(flow.known_columns(source) is not None for source in sources):
        return  # every column known and none shared: a cross join with no keys
    flow.report(
        "natural_join_without_schema",
        f"NATURAL JOIN {join.this.sql(dialect=flow.dialect)}: its join keys depend on columns "
        "the schema does not list",
        first_line(join.this) or _line(join),
    )
