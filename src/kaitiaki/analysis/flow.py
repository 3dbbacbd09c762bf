"""Where every value comes from: base-table columns, through CTEs, subqueries and set operations.

After ``qualify`` every column names its source in its scope. ``Flow`` follows a column to that
source: a table gives a base column; a derived source (CTE, subquery, set operation, LATERAL,
UNNEST) gives the *origins* of its output of that name, computed once per output and remembered.
An origin carries the set of transforms on the way (see ``transforms``), so a CTE that hashes a
column and an outer query that counts it yield ``{aggregate, hash}``.

Columns that cannot be followed (ambiguous, unknown qualifier, not in a known schema, a star
that cannot be expanded) are collected as ``Unresolved`` with their line: never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from kaitiaki.analysis.index import ScopeIndex, index_select, is_row_star
from kaitiaki.analysis.names import display_identifier, display_table
from kaitiaki.analysis.nested import field_column
from kaitiaki.analysis.resolve import STAR_LINE, Qualified
from kaitiaki.analysis.schema import SchemaLookup
from kaitiaki.analysis.transforms import AGGREGATE, function_name, is_row_generator, marks_of, transform_of
from kaitiaki.model import FIELD_SEPARATOR, Unresolved, field_path

Source = exp.Table | Scope | exp.Pivot
STAR = "*"
ALIAS_CLAUSES = frozenset({"order", "group", "having", "qualify"})


@dataclass(frozen=True)
class Origin:
    """A base-table column reaching a value, with the transforms applied on the way."""

    table: str
    column: str
    transforms: frozenset[str] = frozenset()

    def through(self, transforms: frozenset[str]) -> Origin:
        if not transforms:
            return self
        return Origin(self.table, self.column, self.transforms | transforms)


@dataclass(frozen=True)
class Output:
    """One output column of a query: its name (``*`` for an unexpandable star) and origins."""

    name: str
    origins: tuple[Origin, ...]
    from_star: bool = False
    line: int | None = None


def is_star(node: exp.Expr) -> bool:
    return isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star))


def line_of(node: exp.Expr) -> int | None:
    """1-based line of a column (its name's position), a star's line, or None."""
    star = node.meta.get(STAR_LINE) if node.meta else None
    if isinstance(star, int) and star > 0:
        return star
    for part in (node.this, node.args.get("table")) if isinstance(node, exp.Column) else (node,):
        if isinstance(part, exp.Expr) and part.meta:
            line = part.meta.get("line")
            if isinstance(line, int):
                return line
    return None


def is_explicit(column: exp.Expr) -> bool:
    """Written in the SQL, as opposed to produced by expanding a star."""
    return not (column.meta and STAR_LINE in column.meta)


def is_boundary(node: exp.Expr, root: exp.Expr) -> bool:
    """A node that starts another scope (subquery, CTE): its inside is not part of this scope."""
    return node is not root and isinstance(node, (exp.Select, exp.SetOperation, exp.CTE))


def walk_scope(node: exp.Expr, root: exp.Expr) -> Iterator[exp.Expr]:
    """Every node under ``node`` that belongs to ``root``'s scope (subqueries are not entered)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if is_boundary(current, root):
            continue
        stack.extend(current.iter_expressions(reverse=True))


BIGQUERY_PSEUDO_COLUMNS = frozenset({"_TABLE_SUFFIX", "_PARTITIONTIME", "_PARTITIONDATE", "_FILE_NAME"})


class Flow:
    """Origins of columns and outputs within one qualified statement."""

    def __init__(self, qualified: Qualified, dialect: str, lookup: SchemaLookup, statement_line: int) -> None:
        self.qualified = qualified
        self.dialect = dialect
        self.lookup = lookup
        self.statement_line = statement_line
        self.unresolved: dict[tuple[str, str, int | None], Unresolved] = {}
        self._outputs: dict[tuple[int, int], tuple[Origin, ...]] = {}
        self._busy: set[tuple[int, int]] = set()
        self._indexes: dict[int, ScopeIndex] = {}
        self._tables: dict[int, tuple[str, dict[str, exp.DataType] | None]] = {}

    def index(self, scope: Scope) -> ScopeIndex:
        """The one-walk index of a SELECT scope (empty for other scopes)."""
        key = id(scope.expression)
        found = self._indexes.get(key)
        if found is None:
            select = scope.expression
            found = index_select(select) if isinstance(select, exp.Select) else ScopeIndex()
            self._indexes[key] = found
        return found

    def table_info(self, table: exp.Table) -> tuple[str, dict[str, exp.DataType] | None]:
        """A table's display name and known columns, looked up once per node."""
        key = id(table)
        found = self._tables.get(key)
        if found is None:
            found = (display_table(table, self.dialect), self.lookup.table_columns(table))
            self._tables[key] = found
            if self.dialect == "duckdb" and is_file_name(table):
                self.report(
                    "unknown_table",
                    f"{table.name} is read as a file (a DuckDB replacement scan), whose columns kaitiaki "
                    "cannot see",
                    line_of(table),
                    table=found[0],
                )
        return found

    # --- naming ----------------------------------------------------------------------------

    def column_name(self, name: str) -> str:
        """The facts' spelling; a field inside a column keeps its keys as the SQL wrote them."""
        base, keys = field_path(name)
        return FIELD_SEPARATOR.join((display_identifier(base, self.dialect), *keys))

    def table_name(self, table: exp.Table) -> str:
        return self.table_info(table)[0]

    def base_tables(self, scope: Scope) -> list[str]:
        """The stored tables a scope reads, whether or not it names a column of theirs."""
        return [
            self.table_name(source)
            for source in scope.sources.values()
            if isinstance(source, exp.Table) and not isinstance(source.this, exp.Func)
        ]

    def report(self, kind: str, detail: str, line: int | None, table: str | None = None) -> None:
        key = (kind, detail, line)
        if key not in self.unresolved:
            self.unresolved[key] = Unresolved(
                kind=kind, detail=detail, line=line or self.statement_line, table=table
            )

    # --- sources ---------------------------------------------------------------------------

    def source_of(self, scope: Scope, name: str) -> tuple[Scope, Source] | None:
        """The source ``name`` refers to from ``scope``: its own, else an enclosing one if correlated.

        A PIVOT / UNPIVOT alias names the operator's output, which is a source of its own.
        """
        current: Scope | None = scope
        while current is not None:
            pivot = next((p for p in current.pivots if p.alias == name), None) if current.pivots else None
            if pivot is not None:
                return current, pivot
            source = current.sources.get(name)
            if source is not None:
                return current, source
            if not current.can_be_correlated:
                return None
            current = current.parent
        return None

    def known_columns(self, source: Source) -> list[str] | None:
        """Canonical column names a source provides, or None when they cannot be known."""
        if isinstance(source, exp.Pivot):
            before = self._pivot_input_columns(source)
            return list(source.output_columns(before)) if before is not None else None
        if isinstance(source, exp.Table):
            if isinstance(source.this, exp.Func):
                alias = source.args.get("alias")
                listed = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
                return listed or None
            columns = self.table_info(source)[1]
            return list(columns) if columns is not None else None
        names = self.output_names(source)
        return None if names is None or STAR in names else names

    def output_names(self, scope: Scope) -> list[str] | None:
        expression = scope.expression
        if isinstance(expression, exp.Subquery):
            expression = expression.unnest()
        if isinstance(expression, exp.Select):
            return [STAR if is_star(p) else p.alias_or_name for p in expression.expressions]
        if isinstance(expression, exp.SetOperation):
            left: exp.Expr = expression
            while isinstance(left, exp.SetOperation):
                left = left.this.unnest() if isinstance(left.this, exp.Subquery) else left.this
            if isinstance(left, exp.Select):
                return [STAR if is_star(p) else p.alias_or_name for p in left.expressions]
            return None
        if isinstance(expression, (exp.Unnest, exp.Lateral, exp.UDTF)):
            return list(expression.named_selects) or None
        return None

    # --- unqualified columns ---------------------------------------------------------------

    def settle(self, scope: Scope) -> None:
        """Give each unqualified column the one source that can have it, or report it.

        sqlglot leaves a column unqualified when no schema says which source has it. The rule
        (docs/analysis.md): the query's own sources first — one candidate is the answer, two or more
        is ``ambiguous_column`` — then, for a correlated subquery, the enclosing query's.
        Output aliases in ORDER BY / GROUP BY / HAVING / QUALIFY and lambda variables are not
        columns of a source.
        """
        if not isinstance(scope.expression, exp.Select):
            return
        outputs: set[str] | None = None
        for site in self.index(scope).sites:
            node = site.node
            if not isinstance(node, exp.Column) or node.table or isinstance(node.this, exp.Star):
                continue
            name = node.name
            if lambda_variable(node) or name in scope.sources:
                continue
            if site.clause in ALIAS_CLAUSES:
                outputs = outputs if outputs is not None else set(self.output_names(scope) or ())
                if name in outputs:
                    continue
            source = self._only_candidate(scope, node)
            if source is not None:
                node.set("table", exp.to_identifier(source))

    def _only_candidate(self, scope: Scope, column: exp.Column) -> str | None:
        name = column.name
        current: Scope | None = scope
        searched: list[str] = []
        while current is not None:
            names = list(current.selected_sources)
            searched.extend(names)
            candidates = [n for n in names if self._may_have(current.sources[n], name)]
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                self.report(
                    "ambiguous_column",
                    f"column {self.column_name(name)} could belong to any of {', '.join(candidates)}; "
                    "qualify it or give kaitiaki a schema",
                    line_of(column),
                )
                return None
            if not current.can_be_correlated:
                break
            current = current.parent
        own = list(scope.selected_sources)
        if len(own) == 1 and isinstance(scope.sources[own[0]], exp.Table):
            # the one table a query reads: named like ``t.col`` would be (reported by table_origins)
            return own[0]
        if searched:
            self.report(
                "unknown_column",
                f"column {self.column_name(name)} is in none of the tables this query reads "
                f"({', '.join(searched)})",
                line_of(column),
            )
        return None

    def _may_have(self, source: Source, name: str) -> bool:
        columns = self.known_columns(source)
        return columns is None or name in columns or (isinstance(source, exp.Table) and self._pseudo(name))

    def _pseudo(self, name: str) -> bool:
        """BigQuery pseudo-columns every table may have: no schema lists them, none is missing."""
        return self.dialect == "bigquery" and name.upper() in BIGQUERY_PSEUDO_COLUMNS

    # --- origins ---------------------------------------------------------------------------

    def column_origins(self, column: exp.Column, scope: Scope) -> tuple[Origin, ...]:
        """Origins of one qualified column reference; problems are reported, not guessed."""
        qualifier = column.table
        if not qualifier:
            return ()
        found = self.source_of(scope, qualifier)
        if found is None:
            return self._struct_origins(column, scope)
        owner, source = found
        name = column.name
        if isinstance(source, exp.Pivot):
            return self.pivot_origins(source, name, owner)
        if isinstance(source, exp.Table):
            return self.table_origins(source, name, owner, column)
        return self.derived_origins(source, name, column)

    # --- PIVOT / UNPIVOT -------------------------------------------------------------------

    def _pivot_input(self, pivot: exp.Pivot, owner: Scope) -> exp.Table | Scope | None:
        """The relation a (UN)PIVOT reads: the table or subquery it is attached to."""
        relation = pivot.parent
        for source in owner.sources.values():
            node = source.expression if isinstance(source, Scope) else source
            if node is relation or (isinstance(relation, exp.Subquery) and node is relation.unnest()):
                return source
        return None

    def _pivot_input_columns(self, pivot: exp.Pivot) -> list[str] | None:
        relation = pivot.parent
        if isinstance(relation, exp.Table) and not isinstance(relation.this, exp.Func):
            columns = self.table_info(relation)[1]
            return list(columns) if columns is not None else None
        if isinstance(relation, exp.Subquery):
            scope = self.qualified.by_expression.get(id(relation.unnest()))
            if scope is not None:
                names = self.output_names(scope)
                return None if names is None or STAR in names else names
        return None

    def pivot_origins(self, pivot: exp.Pivot, name: str, owner: Scope) -> tuple[Origin, ...]:
        """An output of PIVOT (aggregated values) or UNPIVOT (the unpivoted columns), or a passthrough."""
        source = self._pivot_input(pivot, owner)
        if source is None:
            return ()

        def column(column_name: str) -> tuple[Origin, ...]:
            if isinstance(source, exp.Table):
                return self.table_origins(source, column_name, owner, None)
            return self.derived_origins(source, column_name, None)

        if pivot.args.get("unpivot"):
            values = {e.name for e in pivot.expressions if isinstance(e, exp.Identifier)}
            values |= {i.name for e in pivot.expressions if isinstance(e, exp.Tuple) for i in e.expressions}
            if name in values:
                return tuple(o for c in _pivot_field_columns(pivot) for o in column(c))
            if name in {f.this.name for f in pivot.args.get("fields") or [] if isinstance(f, exp.In)}:
                return ()
            return column(name)
        read = {c.name for e in pivot.expressions for c in e.find_all(exp.Column)}
        keys = set(_pivot_field_columns(pivot))
        before = self._pivot_input_columns(pivot)
        produced = {c.name for c in pivot.args.get("columns") or []}
        passthrough = name not in read | keys and (
            name in before if before is not None else name not in produced
        )
        if passthrough:
            return column(name)
        # the FOR column chooses which output a value lands in, as the condition of its CASE spelling does
        return tuple(o.through(frozenset({AGGREGATE})) for c in sorted(read | keys) for o in column(c))

    def _struct_origins(self, column: exp.Column, scope: Scope) -> tuple[Origin, ...]:
        """``t.s.f``: a field of struct column ``s`` of source ``t`` (sqlglot keeps it as db.table.col)."""
        db = column.args.get("db")
        found = self.source_of(scope, db.name) if isinstance(db, exp.Identifier) else None
        if found is None:
            self.report(
                "unknown_column",
                f"{column.sql(dialect=self.dialect)}: no table or alias {column.table!r} in this query",
                line_of(column),
            )
            return ()
        owner, source = found
        if isinstance(source, exp.Pivot):
            return self.pivot_origins(source, column.table, owner)
        if isinstance(source, exp.Table):
            return self.table_origins(source, column.table, owner, column)
        return self.derived_origins(source, column.table, column)

    def table_origins(
        self, table: exp.Table, name: str, owner: Scope, column: exp.Expr | None
    ) -> tuple[Origin, ...]:
        if isinstance(table.this, exp.Func):
            return self.function_table_origins(table, owner)
        table_name, known = self.table_info(table)
        listed = known is None or name in known or field_path(name)[0] in known
        if not listed and column is not None and not self._pseudo(name):
            self.report(
                "unknown_column",
                f"column {self.column_name(name)} is not in the schema of {table_name}",
                line_of(column),
            )
        return (Origin(table_name, self.column_name(name)),)

    def function_table_origins(self, table: exp.Table, owner: Scope) -> tuple[Origin, ...]:
        """A table function: generators yield what their arguments read; others are unknown."""
        function = table.this
        if not is_row_generator(function):
            self.report(
                "unknown_table",
                f"table function {function_name(function)}(…) reads data whose columns kaitiaki cannot see",
                line_of(table) or first_line(function),
            )
        return tuple(self.expression_origins(function, owner))

    def traversed(self, scope: Scope) -> Scope:
        """The fully built scope for a source: a recursive CTE's self-reference points at a stub."""
        return self.qualified.by_expression.get(id(scope.expression), scope)

    def derived_origins(self, scope: Scope, name: str, column: exp.Expr | None) -> tuple[Origin, ...]:
        """Origins of output ``name`` of a derived source (CTE, subquery, set operation, UDTF)."""
        scope = self.traversed(scope)
        expression = scope.expression
        lateral = self._lateral_query(expression)
        if lateral is not None:
            return self._lateral_origins(expression, lateral, name, column)
        if isinstance(expression, (exp.Unnest, exp.Lateral)) or (
            isinstance(expression, exp.UDTF) and not isinstance(expression, exp.Subquery)
        ):
            return () if _position_column(expression, name) else self.udtf_origins(scope)
        names = self.output_names(scope)
        if names is None:
            return ()
        if name in names:
            return self.origins_at(scope, names.index(name))
        base, keys = field_path(name)
        if keys and base in names:
            return self.field_origins(scope, names.index(base), keys)
        if STAR in names:
            return self.through_star(scope, name, column)
        if column is not None:
            self.report(
                "unknown_column",
                f"column {self.column_name(name)} is not an output of the subquery or CTE it names",
                line_of(column),
            )
        return ()

    def field_origins(self, scope: Scope, index: int, keys: tuple[str, ...]) -> tuple[Origin, ...]:
        """The field ``keys`` of a derived scope's ``index``-th output: the same field of the column
        the output passes through; of a value built there (a struct, a JSON object, a function of
        columns), what the value is built from."""
        scope = self.traversed(scope)
        expression = scope.expression
        if isinstance(expression, exp.Subquery):
            expression = expression.unnest()
        if isinstance(expression, exp.Select) and index < len(expression.expressions):
            projection = expression.expressions[index]
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner, exp.Column) and inner.table:
                return self.column_origins(field_column(inner, keys), scope)
        return self.origins_at(scope, index)

    def _lateral_query(self, expression: exp.Expr) -> Scope | None:
        """The scope of ``LATERAL (SELECT …)`` / ``CROSS APPLY (SELECT …)``, if that is what it is."""
        if isinstance(expression, exp.Lateral) and isinstance(expression.this, exp.Query):
            return self.qualified.by_expression.get(id(expression.this.unnest()))
        return None

    def _lateral_origins(
        self, lateral: exp.Expr, sub: Scope, name: str, column: exp.Expr | None
    ) -> tuple[Origin, ...]:
        """Output ``name`` of a lateral subquery: its own projection (by position when renamed)."""
        alias = lateral.args.get("alias")
        renamed = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
        if name in renamed:
            return self.origins_at(sub, renamed.index(name))
        return self.derived_origins(sub, name, column)

    def udtf_origins(self, scope: Scope) -> tuple[Origin, ...]:
        """UNNEST(t.arr) / LATERAL FLATTEN(…) / LATERAL (SELECT …): what the expression reads."""
        expression = scope.expression
        if isinstance(expression, exp.Lateral) and isinstance(expression.this, exp.Query):
            sub = self.qualified.by_expression.get(id(expression.this.unnest()))
            if sub is not None:
                names = self.output_names(sub) or []
                return tuple(o for i in range(len(names)) for o in self.origins_at(sub, i))
        owner = scope.parent or scope
        return tuple(self.expression_origins(expression, scope if scope.sources else owner))

    def origins_at(self, scope: Scope, index: int) -> tuple[Origin, ...]:
        """Origins of the ``index``-th output of a derived scope; computed once."""
        scope = self.traversed(scope)
        key = (id(scope), index)
        cached = self._outputs.get(key)
        if cached is not None:
            return cached
        if key in self._busy:  # a recursive CTE refers to itself: its base case already counts
            return ()
        self._busy.add(key)
        try:
            origins = _unique(self._compute_origins_at(scope, index))
        finally:
            self._busy.discard(key)
        self._outputs[key] = origins
        return origins

    def _compute_origins_at(self, scope: Scope, index: int) -> Iterable[Origin]:
        expression = scope.expression
        if isinstance(expression, exp.Subquery):
            expression = expression.unnest()
        if isinstance(expression, exp.Select):
            projections = expression.expressions
            if index >= len(projections) or is_star(projections[index]):
                return ()
            return self._projection_origins(scope, index)
        if isinstance(expression, exp.SetOperation) and len(scope.set_operation_scopes) == 2:
            left, right = scope.set_operation_scopes
            return (*self.origins_at(left, index), *self.origins_at(right, index))
        return ()

    def _projection_origins(self, scope: Scope, position: int) -> list[Origin]:
        """Origins of one projection from the scope index: its columns and subqueries, with paths."""
        found = self.index(scope)
        origins: list[Origin] = []
        for site in found.projection_sites[position]:
            origins.extend(o.through(site.path) for o in self.site_origins(site.node, scope))
        for nested in found.projection_nested[position]:
            origins.extend(o.through(nested.path) for o in self.subquery_origins(nested.node))
        return origins

    def site_origins(self, node: exp.Expr, scope: Scope) -> tuple[Origin, ...]:
        if is_row_star(node):
            return self.row_star_origins(scope)
        if isinstance(node, exp.TableColumn):
            return self.whole_source_origins(scope, node.name)
        if isinstance(node, exp.Column):
            return self._reference_origins(node, scope)
        return ()

    def through_star(self, scope: Scope, name: str, column: exp.Expr | None) -> tuple[Origin, ...]:
        """A name an outer query reads from a derived scope that only has ``*``: which source has it."""
        select = scope.expression
        if not isinstance(select, exp.Select):
            return ()
        candidates: list[str] = []
        for projection in select.expressions:
            if not is_star(projection):
                continue
            for source_name in self.star_source_names(scope, projection):
                source = scope.sources.get(source_name)
                if source is None:
                    continue
                columns = self.known_columns(source)
                if columns is None or name in columns:
                    candidates.append(source_name)
        if len(candidates) == 1:
            source = scope.sources[candidates[0]]
            if isinstance(source, exp.Table):
                return self.table_origins(source, name, scope, None)
            return self.derived_origins(source, name, None)
        if len(candidates) > 1 and column is not None:
            self.report(
                "ambiguous_column",
                f"column {self.column_name(name)} could come from any of "
                f"{', '.join(sorted(candidates))} through *",
                line_of(column),
            )
        return ()

    def star_source_names(self, scope: Scope, star: exp.Expr) -> list[str]:
        if isinstance(star, exp.Column) and star.table:
            return [star.table]
        return list(scope.selected_sources)

    def expression_origins(self, node: exp.Expr, scope: Scope) -> list[Origin]:
        """Every base column a value expression reads, with the transforms on its path."""
        origins: list[Origin] = []
        root = scope.expression
        stack: list[tuple[exp.Expr, frozenset[str]]] = [(node, frozenset())]
        while stack:
            current, path = stack.pop()
            if isinstance(current, exp.Column):
                origins.extend(o.through(path) for o in self._reference_origins(current, scope))
                continue
            if isinstance(current, exp.TableColumn):
                origins.extend(o.through(path) for o in self.whole_source_origins(scope, current.name))
                continue
            if is_row_star(current):
                origins.extend(o.through(path) for o in self.row_star_origins(scope))
                continue
            if current is not node and is_boundary(current, root):
                origins.extend(o.through(path) for o in self.subquery_origins(current))
                continue
            if isinstance(current, exp.Window):
                stack.append((current.this, path))  # PARTITION BY / ORDER BY keys do not flow
                continue
            if isinstance(current, exp.Filter):
                stack.append((current.this, path))
                inner = transform_of(current.this)
                stack.append((current.expression, path | {inner} if inner else path))
                continue
            transform = transform_of(current)
            if transform:
                path = path | {transform}
            path = path | marks_of(current)
            stack.extend((child, path) for child in current.iter_expressions())
        return origins

    def _reference_origins(self, column: exp.Column, scope: Scope) -> tuple[Origin, ...]:
        if isinstance(column.this, exp.Star):
            return self.whole_source_origins(scope, column.table) if column.table else ()
        if column.table:
            return self.column_origins(column, scope)
        if column.name in scope.sources and not column.find_ancestor(exp.Lambda):
            return self.whole_source_origins(scope, column.name)  # BigQuery: a table used as a value
        return ()

    def subquery_origins(self, query: exp.Expr) -> tuple[Origin, ...]:
        sub = self.qualified.by_expression.get(id(query))
        if sub is None:
            return ()
        names = self.output_names(sub) or []
        return tuple(o for i in range(len(names)) for o in self.origins_at(sub, i))

    def row_star_origins(self, scope: Scope) -> tuple[Origin, ...]:
        """Every column of every source the scope selects from (``hash(*)``, ``COLUMNS(…)``)."""
        return _unique(o for name in scope.selected_sources for o in self.whole_source_origins(scope, name))

    def whole_source_origins(self, scope: Scope, name: str) -> tuple[Origin, ...]:
        """Every column of a source (``t.*`` inside an expression, a row value)."""
        found = self.source_of(scope, name)
        if found is None:
            return ()
        owner, source = found
        if isinstance(source, exp.Pivot):
            return tuple(o for out in self._pivot_star_outputs(source, owner, None) for o in out.origins)
        if isinstance(source, exp.Table):
            if isinstance(source.this, exp.Func):
                return self.function_table_origins(source, owner)
            table_name, columns = self.table_info(source)
            if columns is None:
                self.report(
                    "star_without_schema",
                    f"a whole row of {table_name} (t.*, a row value, a star in a function) is read, "
                    "but its columns are not in the schema",
                    line_of(source),
                    table=table_name,
                )
                return (Origin(table_name, STAR),)
            return tuple(Origin(table_name, self.column_name(c)) for c in columns)
        names = self.output_names(source) or []
        if isinstance(source.expression, (exp.Unnest, exp.Lateral, exp.UDTF)):
            return self.udtf_origins(source)
        return tuple(o for i in range(len(names)) for o in self.origins_at(source, i))

    # --- outputs of the statement's query --------------------------------------------------

    def outputs(self, scope: Scope) -> list[Output]:
        """The query's output columns in order; an unexpandable star yields ``*`` outputs."""
        expression = scope.expression
        if isinstance(expression, exp.SetOperation) and len(scope.set_operation_scopes) == 2:
            return self._set_outputs(scope)
        if not isinstance(expression, exp.Select):
            return []
        outputs: list[Output] = []
        for index, projection in enumerate(expression.expressions):
            if is_star(projection):
                outputs.extend(self.star_outputs(scope, projection))
                continue
            columns = [s.node for s in self.index(scope).projection_sites[index]]
            from_star = bool(columns) and not any(is_explicit(c) for c in columns)
            alias = projection.args.get("alias") if isinstance(projection, exp.Alias) else None
            line = alias.meta.get("line") if isinstance(alias, exp.Identifier) and alias.meta else None
            origins = self.origins_at(scope, index)
            outputs.append(Output(projection.alias_or_name, origins, from_star, line))
        return outputs

    def _set_outputs(self, scope: Scope) -> list[Output]:
        left, right = scope.set_operation_scopes
        left_outputs, right_outputs = self.outputs(left), self.outputs(right)
        if len(left_outputs) == len(right_outputs) and all(
            o.name != STAR for o in left_outputs + right_outputs
        ):
            return [
                Output(a.name, _unique((*a.origins, *b.origins)), a.from_star and b.from_star)
                for a, b in zip(left_outputs, right_outputs, strict=True)
            ]
        return left_outputs + right_outputs  # stars on either side: positions are unknown

    def star_outputs(self, scope: Scope, star: exp.Expr) -> list[Output]:
        """A star sqlglot could not expand: expand what is known, report and pass on the rest."""
        outputs: list[Output] = []
        line = line_of(star)
        for source_name in self.star_source_names(scope, star):
            found = self.source_of(scope, source_name)
            if found is None:
                continue
            owner, source = found
            if isinstance(source, exp.Pivot):
                outputs.extend(self._pivot_star_outputs(source, owner, line))
            elif isinstance(source, exp.Table):
                outputs.extend(self._table_star_outputs(source, owner, line))
            elif isinstance(source.expression, (exp.Unnest, exp.Lateral, exp.UDTF)):
                outputs.append(Output(STAR, self.udtf_origins(source), True))
            else:
                outputs.extend(Output(o.name, o.origins, True) for o in self.outputs(source))
        return outputs

    def _pivot_star_outputs(self, pivot: exp.Pivot, owner: Scope, line: int | None) -> list[Output]:
        before = self._pivot_input_columns(pivot)
        if before is not None:
            return [
                Output(n, self.pivot_origins(pivot, n, owner), True) for n in pivot.output_columns(before)
            ]
        self.report(
            "star_without_schema",
            "* over a PIVOT / UNPIVOT of a relation whose columns are not in the schema",
            line,
        )
        source = self._pivot_input(pivot, owner)
        origins: tuple[Origin, ...] = ()
        if isinstance(source, exp.Table):
            origins = (Origin(self.table_name(source), STAR),)
        return [Output(STAR, origins, True)]

    def _table_star_outputs(self, table: exp.Table, owner: Scope, line: int | None) -> list[Output]:
        if isinstance(table.this, exp.Func):
            origins = self.function_table_origins(table, owner)
            self.report(
                "star_without_schema",
                "* over a table function: its columns cannot be listed",
                line,
            )
            return [Output(STAR, origins, True)]
        name, columns = self.table_info(table)
        if columns is None:
            self.report(
                "star_without_schema",
                f"* over {name}: its columns are not in the schema, so what it reads cannot be listed",
                line,
                table=name,
            )
            return [Output(STAR, (Origin(name, STAR),), True)]
        return [Output(c, (Origin(name, self.column_name(c)),), True) for c in columns]


_FILE = re.compile(
    r"(/|\\|://|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|xlsx|arrow|avro)(\.(gz|zst))?$)", re.I
)


def is_file_name(table: exp.Table) -> bool:
    """DuckDB reads ``FROM 'x.parquet'`` (or ``"s3://…"``) as a file, not a table."""
    return not table.db and isinstance(table.this, exp.Identifier) and bool(_FILE.search(table.name))


def _position_column(udtf: exp.Expr, name: str) -> bool:
    """The element position of ``posexplode`` / ``UNNEST … WITH OFFSET``: a number, not a value."""
    offset = udtf.args.get("offset")
    if isinstance(offset, exp.Identifier) and offset.name == name:
        return True
    if isinstance(udtf, exp.Lateral) and isinstance(udtf.this, exp.Posexplode):
        alias = udtf.args.get("alias")
        columns = alias.columns if isinstance(alias, exp.TableAlias) else []
        return bool(columns) and columns[0].name == name
    return False


def _pivot_field_columns(pivot: exp.Pivot) -> list[str]:
    """PIVOT: the FOR column; UNPIVOT: the columns listed in IN (…)."""
    names: list[str] = []
    for field in pivot.args.get("fields") or []:
        if not isinstance(field, exp.In):
            continue
        if pivot.args.get("unpivot"):
            names.extend(c.name for e in field.expressions for c in e.find_all(exp.Column))
        elif isinstance(field.this, exp.Column):
            names.append(field.this.name)
    return names


def lambda_variable(column: exp.Column) -> bool:
    """A lambda's parameter (``x -> x + 1``), not a column of any table."""
    node: exp.Expr | None = column
    while node is not None:
        if isinstance(node, exp.Lambda) and any(p.name == column.name for p in node.expressions):
            return True
        node = node.parent
    return False


def first_line(node: exp.Expr) -> int | None:
    """Line of the first named part of ``node`` (a table, a function call)."""
    for child in node.walk():
        if isinstance(child, exp.Identifier) and child.meta and isinstance(child.meta.get("line"), int):
            line: int = child.meta["line"]
            return line
    return None


def _unique(origins: Iterable[Origin]) -> tuple[Origin, ...]:
    return tuple(dict.fromkeys(origins))
