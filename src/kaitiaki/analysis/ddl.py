"""Names whose meaning the job itself changes: renames, swaps and table alias column lists.

``ALTER TABLE health.patients RENAME COLUMN nhi TO region`` makes every later ``region`` of that
table the old ``nhi``; ``ALTER TABLE a SWAP WITH b`` makes ``a`` hold ``b``'s rows; ``FROM t AS
p(a, b)`` renames ``t``'s columns for that query. Each is modelled the same way: the table
reference becomes the stored table it now is, or a derived table that says where each visible
name comes from, so qualify, lineage and classification follow the real column. A redefinition
kaitiaki cannot build (the table's columns are unknown) makes the references unresolved: never
guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from kaitiaki.analysis.names import dialect_of, normalise_table_name
from kaitiaki.analysis.schema import SchemaLookup
from kaitiaki.model import Unresolved

REDEFINED = "redefined_table"
_SOURCE = "_kaitiaki_renamed"


@dataclass(frozen=True)
class Relation:
    """What a table name reads now: a stored table, with its columns renamed (visible → stored)."""

    table: exp.Table
    columns: tuple[tuple[str, str], ...] | None = None  # None: the stored table's own names


@dataclass
class Redefinitions:
    """What earlier statements of the job did to table and column names (display name → relation)."""

    tables: dict[str, Relation] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)  # display name → why it cannot be known

    @property
    def active(self) -> bool:
        return bool(self.tables or self.unknown)

    def follow(self, statement: exp.Expr, dialect: str, lookup: SchemaLookup) -> None:
        """Record the renames and swaps of an ALTER statement."""
        if not isinstance(statement, exp.Alter) or not isinstance(statement.this, exp.Table):
            return
        table = statement.this
        name = _name(table, dialect)
        for action in statement.args.get("actions") or []:
            if isinstance(action, exp.RenameColumn):
                self._rename_column(table, name, action, dialect, lookup)
            elif isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
                new = _name(_sibling(action.this, table), dialect)
                self._set(new, self._current(table, name, dialect))
                self._set(name, f"{name} was renamed earlier in this job")
            elif isinstance(action, exp.SwapTable) and isinstance(action.this, exp.Table):
                other = action.this
                mine = self._current(table, name, dialect)
                theirs = self._current(other, _name(other, dialect), dialect)
                self._set(_name(other, dialect), mine)
                self._set(name, theirs)

    def _current(self, table: exp.Table, name: str, dialect: str) -> Relation | str:
        """What ``name`` reads now: its redefinition, the reason it is unknown, or the table itself."""
        if name in self.unknown:
            return self.unknown[name]
        return self.tables.get(name) or Relation(_bare(table, dialect))

    def _set(self, name: str, value: Relation | str) -> None:
        self.tables.pop(name, None)
        self.unknown.pop(name, None)
        if isinstance(value, str):
            self.unknown[name] = value
        else:
            self.tables[name] = value

    def _rename_column(
        self, table: exp.Table, name: str, action: exp.RenameColumn, dialect: str, lookup: SchemaLookup
    ) -> None:
        old, new = action.this, action.args.get("to")
        current = self._current(table, name, dialect)
        if isinstance(current, str) or not isinstance(old, exp.Expr) or not isinstance(new, exp.Expr):
            return
        columns = _visible(current, lookup)
        if columns is None:
            self._set(name, f"a column of {name} was renamed earlier in this job and its columns are unknown")
            return
        before, after = _canonical(old, dialect), _canonical(new, dialect)
        renamed = tuple((after if seen == before else seen, group[0]) for seen, group in columns)
        self._set(name, Relation(current.table, renamed))

    def substitute(
        self, query: exp.Expr, dialect: str, lookup: SchemaLookup, ctes: set[str]
    ) -> list[Unresolved]:
        """Replace references to redefined tables and alias column lists; report what cannot be built."""
        problems: list[Unresolved] = []
        referenced: set[str] | None = None
        for table in list(query.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier) or (not table.db and table.name.lower() in ctes):
                continue
            alias = table.args.get("alias")
            listed = isinstance(alias, exp.TableAlias) and bool(alias.columns)
            if not (self.tables or self.unknown or listed):
                continue
            if referenced is None:
                referenced = _referenced(query, dialect)
            problem = self._replace(table, dialect, lookup, listed, referenced)
            if problem is not None:
                problems.append(Unresolved(REDEFINED, problem, _line(table)))
        return problems

    def _replace(
        self, table: exp.Table, dialect: str, lookup: SchemaLookup, listed: bool, referenced: set[str]
    ) -> str | None:
        name = _name(table, dialect)
        if name in self.unknown:
            return f"{self.unknown[name]}; what {name} now holds cannot be known"
        relation = self.tables.get(name)
        if relation is None and not listed:
            return None
        alias = table.args.get("alias")
        label = alias.copy() if isinstance(alias, exp.TableAlias) else exp.TableAlias(this=table.this.copy())
        label.set("columns", None)
        if relation is not None and relation.columns is None and not listed:
            for part in ("catalog", "db", "this"):  # a renamed or swapped table: the table it now is
                value = relation.table.args.get(part)
                table.set(part, value.copy() if isinstance(value, exp.Expr) else None)
            table.set("alias", label)
            return None
        relation = relation or Relation(_bare(table, dialect))
        columns = _visible(relation, lookup)
        if columns is None:
            assert isinstance(alias, exp.TableAlias)
            return (
                f"the alias {alias.name}({', '.join(c.name for c in alias.columns)}) renames columns of "
                f"{name} by position, and its columns are unknown"
            )
        if listed:
            assert isinstance(alias, exp.TableAlias)
            columns = _positional(columns, [_canonical(c, dialect) for c in alias.columns])
        if _ALL not in referenced:
            columns = [(seen, group) for seen, group in columns if seen in referenced]
        table.replace(exp.Subquery(this=_projection(relation.table, columns), alias=label))
        return None


_ALL = "*"


def _referenced(query: exp.Expr, dialect: str) -> set[str]:
    """Column names the query uses (``*`` when a star may read any): the derived tables built for
    renames list only those, so a column the query never names is not counted as read."""
    names: set[str] = set()
    for node in query.find_all(exp.Column, exp.Star, exp.Join):
        if isinstance(node, exp.Join):  # JOIN … USING (c) names c without a Column node
            names.update(_canonical(c, dialect) for c in node.args.get("using") or [])
            if node.args.get("method"):  # NATURAL (or ASOF …) joins on columns it does not name
                names.add(_ALL)
        elif isinstance(node, exp.Star) or isinstance(node.this, exp.Star):
            names.add(_ALL)
        else:
            names.add(_canonical(node, dialect))
    return names


def _visible(relation: Relation, lookup: SchemaLookup) -> list[tuple[str, tuple[str, ...]]] | None:
    """Each visible column name and the stored columns it may hold, or None when unknown."""
    if relation.columns is not None:
        return [(seen, (stored,)) for seen, stored in relation.columns]
    known = lookup.table_columns(relation.table)
    return [(column, (column,)) for column in known] if known is not None else None


def _positional(
    columns: list[tuple[str, tuple[str, ...]]], names: list[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """``t AS p(a, b)`` renames by position; the order of the columns is not something the catalog
    promises, so each listed name may hold any column. Unlisted names keep their columns."""
    anything = tuple(stored for _, group in columns for stored in group)
    return [(name, anything) for name in names] + [
        (seen, group) for seen, group in columns if seen not in names
    ]


def _projection(table: exp.Table, columns: list[tuple[str, tuple[str, ...]]]) -> exp.Select:
    """SELECT <stored> AS <visible>, … FROM table: one level, so only used columns are read."""
    source = table.copy()
    source.set("alias", exp.TableAlias(this=exp.to_identifier(_SOURCE)))

    def stored(column: str) -> exp.Column:
        return exp.Column(this=exp.to_identifier(column, quoted=True), table=exp.to_identifier(_SOURCE))

    values: list[exp.Expr] = [] if columns else [exp.alias_(exp.null(), "_kaitiaki_no_column")]
    for seen, group in columns:
        first, *rest = group
        value: exp.Expr = (
            exp.Coalesce(this=stored(first), expressions=[stored(c) for c in rest]) if rest else stored(first)
        )
        values.append(exp.Alias(this=value, alias=exp.to_identifier(seen, quoted=True)))
    return exp.Select(expressions=values, from_=exp.From(this=source))


def _canonical(node: exp.Expr, dialect: str) -> str:
    identifier = node.this if isinstance(node, exp.Column) else node
    if not isinstance(identifier, exp.Identifier):
        return node.name
    normalised = dialect_of(dialect).normalize_identifier(identifier.copy())
    return normalised.name


def _bare(table: exp.Table, dialect: str) -> exp.Table:
    parts = {k: v.copy() for k, v in table.args.items() if k in ("catalog", "db", "this") and v}
    normalised = normalize_identifiers(exp.Table(**parts), dialect=dialect_of(dialect))
    return normalised if isinstance(normalised, exp.Table) else exp.Table(**parts)


def _sibling(new: exp.Table, old: exp.Table) -> exp.Table:
    """``ALTER TABLE s.t RENAME TO u``: ``u`` is in ``s`` unless it names its own schema."""
    if new.db or not old.db:
        return new
    moved = new.copy()
    moved.set("db", old.args["db"].copy())
    if old.catalog:
        moved.set("catalog", old.args["catalog"].copy())
    return moved


def _name(table: exp.Table, dialect: str) -> str:
    engine = dialect_of(dialect)
    return normalise_table_name(".".join(part.sql(dialect=engine) for part in table.parts), dialect)


def _line(table: exp.Table) -> int | None:
    meta = table.this.meta if isinstance(table.this, exp.Identifier) else {}
    line = meta.get("line")
    return line if isinstance(line, int) else None
