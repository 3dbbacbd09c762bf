"""Schema files (table → column → type) and the schema view sqlglot's optimizer reads.

A schema file is YAML or JSON, with flat dotted keys (``health.patients: {nhi: text}``) or nested
ones (``health: {patients: {nhi: text}}``); a table may also list its column names
(``health.patients: [nhi, dob]``). ``load_schema_file`` validates the shape and flattens it (errors
name the file and line); ``normalise_schema`` spells every key the way facts name tables and
columns in one dialect (see ``names``). A table with no columns listed is left out: a star over it
cannot be expanded, and pretending it has no columns would hide what the star reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlglot import exp
from sqlglot.schema import MappingSchema

from kaitiaki.analysis.names import (
    canonical_identifier,
    canonical_table_parts,
    dialect_of,
    display_identifier,
    identifier_rules,
    normalise_table_name,
    table_parts,
)
from kaitiaki.config import Identifiers, Located, compose_located
from kaitiaki.errors import ConfigError

Schema = dict[str, dict[str, str]]

_MAX_NESTING = 3  # catalog.db.table


def load_schema_file(path: str | Path) -> Schema:
    """Read and validate a schema file; keys are flattened to dotted names but not yet normalised."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read schema file: {exc}.", path=where) from None
    root = _json_located(text, where) if where.endswith(".json") else compose_located(text, where)
    if not isinstance(root.value, dict):
        raise ConfigError(
            "a schema file must be a mapping of table names to columns.",
            path=where,
            line=root.line,
            hint="write `health.patients: {nhi: text}` or `health: {patients: {nhi: text}}`.",
        )
    schema: Schema = {}
    _flatten(root, (), schema, where)
    return schema


def _json_located(text: str, where: str) -> Located:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"JSON syntax error: {exc.msg}.", path=where, line=exc.lineno) from None
    return compose_located(text, where)


def _flatten(node: Located, prefix: tuple[str, ...], out: Schema, where: str) -> None:
    assert isinstance(node.value, dict)
    for key, child in node.value.items():
        name = (*prefix, key)
        if isinstance(child.value, list) or _is_column_mapping(child):
            out[".".join(name)] = _columns(child, ".".join(name), where)
        elif isinstance(child.value, dict) and len(name) < _MAX_NESTING:
            _flatten(child, name, out, where)
        else:
            raise ConfigError(
                f"table {'.'.join(name)!r} must map column names to types, got {_kind(child.value)}.",
                path=where,
                line=child.line,
                hint="a table is `{column: type}` or a list of column names (at most catalog.db.table).",
            )


def _is_column_mapping(node: Located) -> bool:
    """A mapping whose values are all types (strings or null) describes one table's columns."""
    if not isinstance(node.value, dict) or not node.value:
        return False
    return all(v.value is None or isinstance(v.value, str) for v in node.value.values())


def _columns(node: Located, table: str, where: str) -> dict[str, str]:
    if isinstance(node.value, list):
        columns: dict[str, str] = {}
        for item in node.value:
            if not isinstance(item.value, str) or not item.value:
                raise ConfigError(
                    f"table {table!r}: a column name must be a string, got {_kind(item.value)}.",
                    path=where,
                    line=item.line,
                )
            columns[item.value] = ""
        return columns
    return {str(column): "" if v.value is None else str(v.value) for column, v in node.value.items()}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def normalise_schema(
    mapping: Mapping[str, Any], dialect: str, identifiers: Identifiers | None = None
) -> Schema:
    """Spell every table and column of ``mapping`` as facts do in ``dialect``; idempotent.

    Nested mappings are flattened first; tables without columns are left out (see module doc).
    ``identifiers`` are the platform's name settings (kaitiaki.yaml), as given to ``analyze_sql``.
    """
    with identifier_rules(identifiers):
        return _normalise_schema(mapping, dialect)


def _normalise_schema(mapping: Mapping[str, Any], dialect: str) -> Schema:
    out: Schema = {}
    for table, columns in _flat_items(mapping, ()):
        key = normalise_table_name(table, dialect)
        target = out.setdefault(key, {})
        for column, data_type in columns.items():
            name = display_identifier(canonical_identifier(str(column), dialect), dialect)
            target[name] = "" if data_type is None else str(data_type)
    return {table: columns for table, columns in out.items() if columns}


def _flat_items(mapping: Mapping[str, Any], prefix: tuple[str, ...]) -> list[tuple[str, Mapping[str, Any]]]:
    items: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in mapping.items():
        name = (*prefix, str(key))
        if isinstance(value, (list, tuple)):
            items.append((".".join(name), {str(c): "" for c in value}))
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, (Mapping, list, tuple)) for v in value.values())
        ):
            if len(name) < _MAX_NESTING:
                items.extend(_flat_items(value, name))
        elif isinstance(value, Mapping):
            items.append((".".join(name), value))
    return items


class SchemaLookup(MappingSchema):
    """sqlglot's view of a kaitiaki Schema: tables found by their display name.

    A table written with more qualifiers than the schema key (``dev.health.patients`` against
    ``health.patients``), or fewer (``patients``), matches when exactly one key ends with the
    same parts; anything else is unknown, never guessed. Types are not used by the analysis and
    are reported as unknown, so a type string sqlglot cannot parse never stops an analysis.
    """

    def __init__(self, schema: Schema | None, dialect: str) -> None:
        self.kaitiaki_schema: Schema = schema or {}
        self.kaitiaki_dialect = dialect
        super().__init__(None, dialect=dialect_of(dialect), normalize=False)
        self._unknown = exp.DataType(this=exp.DataType.Type.UNKNOWN)  # what build("unknown") makes, unparsed
        self._by_key: dict[tuple[str, ...], dict[str, exp.DataType] | None] = {}
        self._suffixes: dict[tuple[str, ...], list[str]] | None = None

    @property
    def empty(self) -> bool:
        return not self.kaitiaki_schema

    def add_columns(self, table: str, columns: list[str]) -> None:
        """Register a table created by an earlier statement, unless the schema already has it."""
        parts = canonical_table_parts(table, self.kaitiaki_dialect)
        if self.lookup(parts) is None:
            self._by_key[parts] = {column: self._unknown for column in columns}

    def lookup(self, parts: tuple[str, ...]) -> dict[str, exp.DataType] | None:
        """Canonical table parts → canonical column → type, or None when unknown."""
        if parts not in self._by_key:
            self._by_key[parts] = self._find_columns(parts)
        return self._by_key[parts]

    def _find_columns(self, parts: tuple[str, ...]) -> dict[str, exp.DataType] | None:
        key = self._matching_key(parts)
        if key is None:
            return None
        dialect = self.kaitiaki_dialect
        return {canonical_identifier(column, dialect): self._unknown for column in self.kaitiaki_schema[key]}

    def _matching_key(self, parts: tuple[str, ...]) -> str | None:
        """The schema key for a table: exact, else the one key sharing its trailing parts."""
        display = ".".join(display_identifier(p, self.kaitiaki_dialect, True) for p in parts)
        if display in self.kaitiaki_schema:
            return display
        index = self._suffix_index()
        exact = index.get(parts, [])
        full = [key for key in exact if len(canonical_table_parts(key, self.kaitiaki_dialect)) == len(parts)]
        if len(full) == 1:
            return full[0]
        candidates = set(exact)
        for start in range(1, len(parts)):
            candidates.update(
                key
                for key in index.get(parts[start:], [])
                if len(canonical_table_parts(key, self.kaitiaki_dialect)) == len(parts) - start
            )
        return candidates.pop() if len(candidates) == 1 else None

    def _suffix_index(self) -> dict[tuple[str, ...], list[str]]:
        """Every tail of every key's canonical parts → the keys ending that way."""
        if self._suffixes is None:
            index: dict[tuple[str, ...], list[str]] = {}
            for key in self.kaitiaki_schema:
                parts = canonical_table_parts(key, self.kaitiaki_dialect)
                for start in range(len(parts)):
                    index.setdefault(parts[start:], []).append(key)
            self._suffixes = index
        return self._suffixes

    def table_columns(self, table: exp.Table) -> dict[str, exp.DataType] | None:
        if not all(isinstance(part, exp.Identifier) for part in table.parts):
            return None
        return self.lookup(table_parts(table, self.kaitiaki_dialect))

    def find(
        self, table: exp.Table, raise_on_missing: bool = True, ensure_data_types: bool = False
    ) -> Any | None:
        return self.table_columns(table)

    def column_names(
        self,
        table: exp.Table | str,
        only_visible: bool = False,
        dialect: Any = None,
        normalize: bool | None = None,
    ) -> list[str]:
        if isinstance(table, str):
            columns = self.lookup(canonical_table_parts(table, self.kaitiaki_dialect))
        else:
            columns = self.table_columns(table)
        return list(columns or ())

    def get_column_type(
        self,
        table: exp.Table | str,
        column: exp.Column | str,
        dialect: Any = None,
        normalize: bool | None = None,
    ) -> exp.DataType:
        return self._unknown.copy()

    def has_column(
        self,
        table: exp.Table | str,
        column: exp.Column | str,
        dialect: Any = None,
        normalize: bool | None = None,
    ) -> bool:
        name = column if isinstance(column, str) else column.name
        return name in self.column_names(table)
