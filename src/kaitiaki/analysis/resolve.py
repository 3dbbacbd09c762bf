"""Qualify a statement's query once with sqlglot's optimizer, keeping what the facts need.

Before ``qualify`` runs, two facts would be lost, so they are recorded on the AST:
- which projections a ``*`` produced (``from_star``) and the star's line;
- the name the database gives an unaliased expression (Postgres: ``count``, ``md5``,
  ``?column?``; elsewhere the expression's text), instead of sqlglot's ``_col_0``.

Without a schema, sqlglot refuses to resolve an unqualified column inside a subquery that could
be correlated (``x IN (SELECT y FROM u)``) and an alias used in GROUP BY or HAVING. kaitiaki
follows the rule the design states — an unqualified column of a single-table (sub)query belongs
to that table — and reads an alias in GROUP BY/HAVING/QUALIFY/ORDER BY as the alias. Anything
still ambiguous is reported as ``ambiguous_column``, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import NormalizationStrategy
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, find_all_in_scope, traverse_scope

from kaitiaki.analysis.names import dialect_of
from kaitiaki.analysis.nested import name_fields
from kaitiaki.analysis.schema import SchemaLookup

STAR_LINE = "kaitiaki_star_line"
SHADOWED = "kaitiaki_shadowed"  # on a SELECT: {name: clause} for output aliases that shadow a column
_ALIAS_CLAUSES = ("group", "having", "order", "qualify")
_POSTGRES_NAMING = frozenset({"postgres", "redshift", "materialize", "risingwave"})
_CANNOT_RESOLVE = re.compile(r"Cannot resolve '([^']*)'")


@dataclass
class Qualified:
    """A qualified query and its scopes (children before parents; the root is last)."""

    query: exp.Query
    scopes: list[Scope]
    by_expression: dict[int, Scope] = field(default_factory=dict)

    @property
    def root(self) -> Scope:
        return self.scopes[-1]


class Unresolvable(Exception):
    """qualify could not resolve a column even after kaitiaki's own rules; carries the column."""

    def __init__(self, message: str, column: str | None) -> None:
        super().__init__(message)
        self.column = column


StarMarks = list[tuple[exp.Select, set[int], int | None]]


def mark_query(selects: list[exp.Select], dialect: str) -> StarMarks:
    """Name unaliased outputs and note, per SELECT with a star, its own projections and star line."""
    stars: StarMarks = []
    for select in selects:
        _mark_shadowing(select, dialect)
        star_line: int | None = None
        has_star = False
        for projection in list(select.expressions):
            if _is_star(projection):
                has_star = True
                star_line = star_line or _line_of(projection)
            elif _needs_name(projection):
                named = exp.Alias(alias=exp.to_identifier(output_name(projection, dialect), quoted=True))
                projection.replace(named)
                named.set("this", projection)
        if has_star:
            own = {id(p) for p in select.expressions if not _is_star(p)}
            own |= {id(p.unalias()) for p in select.expressions if not _is_star(p)}
            stars.append((select, own, star_line))
    return stars


def _mark_shadowing(select: exp.Select, dialect: str) -> None:
    """Note output aliases named in GROUP BY / HAVING / ORDER BY / QUALIFY that may be a column too.

    ``SELECT clinic_id AS nhi … ORDER BY nhi || ''``: Postgres reads ``nhi`` inside an expression
    (and GROUP BY names) as the input column, other engines as the alias. kaitiaki counts both.
    """
    renamed = {
        p.alias: p
        for p in select.expressions
        if isinstance(p, exp.Alias) and not (isinstance(p.this, exp.Column) and p.this.name == p.alias)
    }
    if not renamed:
        return
    shadowed: dict[str, str] = {}
    for key in _ALIAS_CLAUSES:
        clause = select.args.get(key)
        if not isinstance(clause, exp.Expr):
            continue
        for column in _own_columns(clause):
            if not column.table and column.name in renamed:
                name = normalize_identifiers(column.this.copy(), dialect=dialect_of(dialect)).name
                shadowed.setdefault(name, key)
    if shadowed:
        select.meta[SHADOWED] = shadowed


def _own_columns(node: exp.Expr) -> list[exp.Column]:
    found: list[exp.Column] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.Column):
            found.append(current)
        elif not isinstance(current, (exp.Select, exp.SetOperation)):
            stack.extend(current.iter_expressions())
    return found


def _is_star(node: exp.Expr) -> bool:
    return isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star))


def _needs_name(node: exp.Expr) -> bool:
    return not isinstance(node, (exp.Alias, exp.Column, exp.Dot, exp.Star)) and not node.alias


def _line_of(node: exp.Expr) -> int | None:
    for candidate in (node, node.args.get("table"), node.this if isinstance(node.this, exp.Expr) else None):
        if isinstance(candidate, exp.Expr):
            line = candidate.meta.get("line") if candidate.meta else None
            if isinstance(line, int):
                return line
    return None


def output_name(node: exp.Expr, dialect: str) -> str:
    """The column name the database gives an unaliased expression, where that is determinable.

    Postgres names it after the function (``count``, ``md5``) or ``?column?``; Snowflake and other
    upper-casing dialects by the upper-cased text; the rest by the expression's SQL text.
    """
    if dialect in _POSTGRES_NAMING:
        return _postgres_name(node)
    if dialect_of(dialect).normalization_strategy is NormalizationStrategy.UPPERCASE:
        return normalize_identifiers(node.copy(), dialect=dialect_of(dialect)).sql(
            dialect=dialect_of(dialect)
        )
    return node.sql(dialect=dialect_of(dialect))


def _postgres_name(node: exp.Expr) -> str:
    """Postgres' FigureColname: function name, CASE → ``case``, a cast keeps its operand's name."""
    while isinstance(node, (exp.Paren, exp.Cast, exp.TryCast)):
        inner = node.this
        if isinstance(inner, exp.Column):
            return inner.name
        node = inner
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, (exp.Func, exp.WithinGroup)):
        head = node.sql(dialect="postgres").split("(", 1)[0].strip()
        if head and " " not in head:
            return head.lower()
    return "?column?"


def mark_star_outputs(stars: StarMarks) -> None:
    """After qualify (which edits the SELECTs in place): tag the columns star expansion produced."""
    for select, own, line in stars:
        for projection in select.expressions:
            inner = projection.unalias()
            if id(projection) in own or id(inner) in own:
                continue
            columns = [inner] if isinstance(inner, exp.Column) else list(projection.find_all(exp.Column))
            for column in columns:
                column.meta[STAR_LINE] = line or 0


def qualify_query(
    query: exp.Query, dialect: str, lookup: SchemaLookup, expand_alias_refs: bool = True
) -> Qualified:
    """Qualify tables and columns once (stars expanded from the schema), name the fields read
    inside columns (nested.py); build the scopes."""
    try:
        qualified = qualify(
            query,
            dialect=dialect_of(dialect),
            schema=lookup,
            expand_alias_refs=expand_alias_refs,
            validate_qualify_columns=False,
            quote_identifiers=False,
            allow_partial_qualification=True,
        )
    except OptimizeError as exc:
        match = _CANNOT_RESOLVE.search(str(exc))
        raise Unresolvable(str(exc), match.group(1) if match else None) from None
    if not isinstance(qualified, exp.Query):
        raise Unresolvable("the statement's query could not be qualified", None)
    name_fields(qualified)
    scopes = traverse_scope(qualified)
    if not scopes:
        raise Unresolvable("the statement's query has no scope kaitiaki can read", None)
    by_expression = {id(scope.expression): scope for scope in scopes}
    return Qualified(qualified, scopes, by_expression)


def apply_single_source_rule(query: exp.Query, dialect: str, lookup: SchemaLookup) -> None:
    """kaitiaki's rules for what sqlglot leaves open without a schema (see module doc).

    Runs on the unqualified AST, only after ``qualify`` gave up on it.
    """
    try:
        scopes = traverse_scope(query)
    except SqlglotError:
        return
    for scope in scopes:
        if isinstance(scope.expression, exp.Select):
            _expand_alias_references(scope.expression, lookup, scope)
            _qualify_single_source(scope, lookup)


def _unknown_columns(scope: Scope, lookup: SchemaLookup) -> bool:
    for _, source in scope.selected_sources.values():
        if isinstance(source, exp.Table) and lookup.table_columns(source) is None:
            return True
    return False


def _expand_alias_references(select: exp.Select, lookup: SchemaLookup, scope: Scope) -> None:
    """GROUP BY / HAVING / QUALIFY / ORDER BY name → the aliased expression, when sources are unknown."""
    if not _unknown_columns(scope, lookup):
        return
    aliases = {p.alias: p.this for p in select.expressions if isinstance(p, exp.Alias)}
    if not aliases:
        return
    for key in ("group", "having", "qualify", "order"):
        clause = select.args.get(key)
        if not isinstance(clause, exp.Expr):
            continue
        for column in list(find_all_in_scope(clause, exp.Column)):
            if not column.table and column.name in aliases and not column.find_ancestor(exp.Window):
                target = aliases[column.name]
                if key == "order" or isinstance(target, exp.Column):
                    column.replace(target.copy())
                else:
                    column.replace(exp.paren(target.copy(), copy=False))


def _qualify_single_source(scope: Scope, lookup: SchemaLookup) -> None:
    """An unqualified column of a correlated single-source subquery belongs to that source."""
    if not scope.can_be_correlated or len(scope.selected_sources) != 1:
        return
    if not _unknown_columns(scope, lookup):
        return
    (name,) = scope.selected_sources
    select = scope.expression
    aliases = {p.alias for p in select.expressions if isinstance(p, exp.Alias)}
    for column in list(find_all_in_scope(select, exp.Column)):
        if column.table or isinstance(column.this, exp.Star) or column.find_ancestor(exp.Lambda):
            continue
        if column.name in aliases and not _inside_own_alias(column, select):
            continue
        column.set("table", exp.to_identifier(name))


def _inside_own_alias(column: exp.Column, select: exp.Expr) -> bool:
    """``max(a) AS a``: an alias never names a column of the projection it defines."""
    node: exp.Expr | None = column
    while node is not None and node.parent is not select:
        node = node.parent
    return isinstance(node, exp.Alias) and node.alias == column.name and node.arg_key == "expressions"


def blank_columns(query: exp.Query, name: str, dialect: str) -> list[tuple[str, int | None]]:
    """Replace every unqualified column called ``name`` by NULL, so the rest can still be qualified.

    Used only after the name was reported as unresolved: the statement is blocked either way,
    and every other column keeps its facts (partial facts, never a whole statement dropped).
    Returns where each replaced column was (the expression around it, its line), for the report.
    """
    engine = dialect_of(dialect)
    found = [
        column
        for column in query.find_all(exp.Column)
        if not column.table
        and isinstance(column.this, exp.Identifier)
        and engine.normalize_identifier(column.this.copy()).name == name
    ]
    places = [(describe_place(column), _line_of(column)) for column in found]
    for column in found:
        if isinstance(column.parent, exp.Select) and column.arg_key == "expressions":
            column.replace(exp.alias_(exp.Null(), column.this.copy()))
        else:
            column.replace(exp.Null())
    return places


_CLAUSES = {
    "where": "WHERE",
    "having": "HAVING",
    "group": "GROUP BY",
    "order": "ORDER BY",
    "qualify": "QUALIFY",
    "joins": "a JOIN condition",
    "expressions": "the SELECT list",
}


def describe_place(column: exp.Column) -> str:
    """Where a column sits, as a person finds it: the expression around it, or its clause."""
    node: exp.Expr = column
    while node.parent is not None and not isinstance(node.parent, exp.Query):
        if isinstance(node.parent, (exp.Where, exp.Having, exp.Group, exp.Order, exp.Join, exp.Qualify)):
            break
        node = node.parent
    clause = (
        node.parent.arg_key
        if node.parent is not None and not isinstance(node.parent, exp.Query)
        else node.arg_key
    ) or ""
    query = column.find_ancestor(exp.Select)
    within = " of a subquery" if query is not None and query.parent_select is not None else ""
    words = f"{_CLAUSES.get(clause, clause.upper())}{within}"
    if node is column:
        return words
    text = node.unalias().sql() if isinstance(node, exp.Alias) else node.sql()
    return f"`{text if len(text) <= 60 else text[:57] + '…'}` ({words})"
