"""Which conditions keep a table's rows on *every* path to the output, and with which polarity.

TC-01 asks whether opted-out people are excluded, not whether an opt-out flag is mentioned:
``WHERE opted_out = true`` mentions it and keeps exactly the people who opted out. So for every
base table a query reads, this module finds the conditions that hold for all of that table's rows
reaching the output:

- ``false`` on a column: ``NOT flag``, ``flag = false``, ``flag IS NOT TRUE``, ``flag IS FALSE``,
  ``coalesce(flag, false) = false``, ``flag <> true``;
- ``true`` on a column: ``flag``, ``flag = true``, ``flag IS TRUE`` (a consent table joined on
  ``consent = true``), also inside ``EXISTS`` / ``IN (SELECT …)`` semi-joins;
- ``anti`` on a table: ``NOT EXISTS (SELECT … FROM list)``, ``NOT IN (SELECT … FROM list)``,
  ``LEFT JOIN list … WHERE list.col IS NULL`` (the rows matched in ``list`` are removed).

A condition counts only as a top-level AND of a WHERE, or of an inner join's ON; inside an OR,
in an outer join's ON, or under NOT of anything but the flag it counts for nothing. A table read
on several paths (a UNION, two CTEs) keeps only the conditions every path has; conditions on a
derived table's path compose with the outer query's. Which column is an opt-out flag, a consent
flag or an opt-out list is the catalog's knowledge: the policy joins the two.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from kaitiaki.analysis.flow import Flow
from kaitiaki.model import RowFilter

Fact = tuple[str, str]  # (kind, qualified column or table)
Paths = dict[str, frozenset[Fact]]  # base table → facts holding on every path from it

FALSE, TRUE, ANTI = "false", "true", "anti"
_OUTER = frozenset({"left", "right", "full"})


def row_filters(paths: list[Paths]) -> tuple[RowFilter, ...]:
    """RowFilters from the paths of several queries: a table keeps what every query has for it."""
    merged: dict[str, frozenset[Fact]] = {}
    for found in paths:
        for table, facts in found.items():
            merged[table] = merged[table] & facts if table in merged else facts
    return tuple(
        RowFilter(table, kind, ref) for table in sorted(merged) for kind, ref in sorted(merged[table])
    )


def query_paths(flow: Flow, scope: Scope) -> Paths:
    """For each base table ``scope`` reads, the facts that hold on every path to its output."""
    found: dict[str, frozenset[Fact]] = {}

    def add(table: str, facts: frozenset[Fact]) -> None:
        found[table] = found[table] & facts if table in found else facts

    expression = scope.expression
    if isinstance(expression, exp.SetOperation):
        for branch in scope.set_operation_scopes:
            for table, facts in query_paths(flow, branch).items():
                add(table, facts)
        return found
    if not isinstance(expression, exp.Select):
        return found
    own = _own_facts(flow, scope, expression)
    for alias, (_, source) in scope.selected_sources.items():
        mine = own.get(None, frozenset()) | own.get(alias, frozenset())
        if isinstance(source, exp.Table) and not isinstance(source.this, exp.Func):
            add(flow.table_name(source), mine)
        elif isinstance(source, Scope):
            for table, facts in query_paths(flow, source).items():
                add(table, facts | mine)
    for sub in scope.subquery_scopes:
        for table, facts in query_paths(flow, sub).items():
            add(table, facts)
    return found


def _own_facts(flow: Flow, scope: Scope, select: exp.Select) -> dict[str | None, frozenset[Fact]]:
    """Facts of a SELECT's own WHERE and inner-join ON conjuncts (and its LEFT JOIN … IS NULL),
    by the source they hold for: a flag's false holds for the rows of the source its column is
    read from (``NOT o2.opted_out`` says nothing of ``o``'s rows, the same table read again);
    a required consent (true) and an anti-join (None) for every source joined."""
    conjuncts: list[exp.Expr] = []
    where = select.args.get("where")
    if isinstance(where, exp.Where):
        conjuncts += _conjuncts(where.this)
    outer_tables: dict[str, str] = {}
    for join in select.args.get("joins") or []:
        side = str(join.args.get("side") or "").lower()
        if side in _OUTER:
            table = join.this
            if isinstance(table, exp.Table) and not isinstance(table.this, exp.Func):
                outer_tables[table.alias_or_name] = flow.table_name(table)
            continue
        on = join.args.get("on")
        if isinstance(on, exp.Expr):
            conjuncts += _conjuncts(on)
    facts: dict[str | None, frozenset[Fact]] = {}
    for conjunct in conjuncts:
        for fact in _facts(flow, scope, conjunct, outer_tables):
            source = _source_of(conjunct) if fact[0] == FALSE else None
            facts[source] = facts.get(source, frozenset()) | {fact}
    return facts


def _source_of(conjunct: exp.Expr) -> str | None:
    """The source a flag's false is about: its column's qualifier."""
    columns = list(conjunct.find_all(exp.Column))
    tables = {column.table for column in columns}
    return tables.pop() if len(tables) == 1 else None


def _conjuncts(condition: exp.Expr) -> list[exp.Expr]:
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return [c for part in condition.flatten() for c in _conjuncts(part)]
    return [condition]


def _facts(flow: Flow, scope: Scope, node: exp.Expr, outer_tables: dict[str, str]) -> set[Fact]:
    """What one top-level conjunct guarantees about the rows it keeps."""
    negated = isinstance(node, exp.Not)
    inner = _unparen(node.this) if negated else node
    if isinstance(inner, exp.Exists) or (isinstance(inner, exp.In) and inner.args.get("query") is not None):
        return _semi(flow, scope, inner, anti=negated)
    if negated and isinstance(inner, exp.Is) and _is_true(inner.expression):
        return _column_fact(flow, scope, inner.this, FALSE)  # flag IS NOT TRUE
    if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null) and not negated:
        column = inner.this
        if isinstance(column, exp.Column) and column.table in outer_tables:
            return {(ANTI, outer_tables[column.table])}  # LEFT JOIN list … WHERE list.key IS NULL
        return set()
    if negated:
        return _column_fact(flow, scope, inner, FALSE)
    if isinstance(inner, exp.Is):
        polarity = _polarity(inner.expression)
        return _column_fact(flow, scope, inner.this, polarity) if polarity else set()
    if isinstance(inner, (exp.EQ, exp.NEQ)):
        return _comparison(flow, scope, inner)
    return _column_fact(flow, scope, inner, TRUE)


def _comparison(flow: Flow, scope: Scope, node: exp.EQ | exp.NEQ) -> set[Fact]:
    for value, other in ((node.this, node.expression), (node.expression, node.this)):
        polarity = _polarity(other)
        if polarity is None:
            continue
        if isinstance(node, exp.NEQ):
            polarity = FALSE if polarity == TRUE else TRUE
        return _column_fact(flow, scope, _without_false_default(value, polarity), polarity)
    return set()


def _without_false_default(value: exp.Expr, polarity: str) -> exp.Expr:
    """``coalesce(flag, false) = false`` keeps the rows where the flag is false or null: still
    excludes everyone who opted out. (``coalesce(flag, true) = false`` does too.)"""
    value = _unparen(value)
    if (
        isinstance(value, exp.Coalesce)
        and polarity == FALSE
        and all(_polarity(e) is not None for e in value.expressions)
    ):
        return _unparen(value.this)
    return value


def _semi(flow: Flow, scope: Scope, node: exp.Exists | exp.In, *, anti: bool) -> set[Fact]:
    """EXISTS / IN (SELECT …): its tables' rows are required (semi) or excluded (anti)."""
    query = node.this if isinstance(node, exp.Exists) else node.args["query"]
    query = query.this if isinstance(query, exp.Subquery) else query
    sub = next((s for s in scope.subquery_scopes if s.expression is query), None)
    if sub is None:
        return set()
    paths = query_paths(flow, sub)
    if anti:
        return {(ANTI, table) for table in paths}
    # A consent flag required of the joined rows (EXISTS … k.consented) counts; a flag's false
    # inside the subquery is about its own rows, not the outer query's.
    return {fact for facts in paths.values() for fact in facts if fact[0] == TRUE}


def _column_fact(flow: Flow, scope: Scope, node: exp.Expr, polarity: str | None) -> set[Fact]:
    """The fact for a bare column (raw, from one base column) or nothing."""
    node = _unparen(node)
    if polarity is None or not isinstance(node, exp.Column):
        return set()
    origins = flow.expression_origins(node, scope)
    if len(origins) != 1 or origins[0].transforms:
        return set()
    return {(polarity, f"{origins[0].table}.{origins[0].column}")}


def _polarity(node: exp.Expr | None) -> str | None:
    node = _unparen(node) if node is not None else None
    if isinstance(node, exp.Boolean):
        return TRUE if node.this else FALSE
    if isinstance(node, exp.Literal) and not node.is_string and str(node.this) in ("0", "1"):
        return TRUE if str(node.this) == "1" else FALSE
    return None


def _is_true(node: exp.Expr | None) -> bool:
    return _polarity(node) == TRUE


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node
