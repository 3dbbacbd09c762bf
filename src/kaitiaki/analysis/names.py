"""How kaitiaki spells table and column names in facts, per dialect.

sqlglot normalises identifiers to the form the database resolves them to (its *canonical* form:
``NHI`` in Snowflake, ``nhi`` in Postgres). Facts use a *display* form that the catalog can match
and a person can read: the canonical name, lower-cased where the dialect folds unquoted names to
upper case, and quoted only where an unquoted spelling would resolve to another name (a quoted
``"NHI"`` in Postgres stays ``"NHI"``, never ``nhi``). The two forms map one to one, so schema keys
written in display form find their tables again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.errors import SqlglotError

from kaitiaki.analysis.dialects import built_on
from kaitiaki.config import Identifiers

_SAFE = re.compile(r"^[A-Za-z_#@][A-Za-z0-9_$#@]*$")
_UPPER = (NormalizationStrategy.UPPERCASE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE)
_LOWER = (
    NormalizationStrategy.LOWERCASE,
    NormalizationStrategy.CASE_INSENSITIVE,
)
_DEFAULT_RULES = Identifiers()
_RULES: ContextVar[Identifiers | None] = ContextVar("kaitiaki_identifiers", default=None)
_CASE_SENSITIVE = {"redshift": NormalizationStrategy.LOWERCASE}  # quoted names keep their case there


@contextmanager
def identifier_rules(rules: Identifiers | None) -> Iterator[None]:
    """Names compare as the platform's settings say (kaitiaki.yaml ``identifiers:``) inside this block."""
    token = _RULES.set(None if rules is None or rules == _DEFAULT_RULES else rules)
    try:
        yield
    finally:
        _RULES.reset(token)


def _rules() -> Identifiers:
    return _RULES.get() or _DEFAULT_RULES


def _key() -> Identifiers | None:
    """The rules as a cache key: None (cheap to hash) for the platform defaults."""
    return _RULES.get()


def dialect_of(name: str) -> Dialect:
    """The sqlglot dialect object under the current identifier rules; ValueError for an unknown name."""
    return _dialect(name, _RULES.get())


@lru_cache(maxsize=64)
def _dialect(name: str, key: Identifiers | None) -> Dialect:
    rules = key or _DEFAULT_RULES
    try:
        engine = Dialect.get_or_raise(name)
    except (ValueError, SqlglotError) as exc:
        raise ValueError(f"unknown dialect {name!r}") from exc
    if built_on(engine, "mysql", "MySQL"):
        if rules.lower_case_table_names:
            engine.normalization_strategy = NormalizationStrategy.CASE_INSENSITIVE
            return engine
        return _columns_fold(type(engine))()
    if name == "snowflake" and rules.quoted_identifiers_ignore_case:
        engine.normalization_strategy = NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE
    elif rules.case_sensitive:
        engine.normalization_strategy = _CASE_SENSITIVE.get(name, NormalizationStrategy.CASE_SENSITIVE)
    return engine


@lru_cache(maxsize=8)
def _columns_fold(base: type[Dialect]) -> type[Dialect]:
    """MySQL: column names and column aliases never compare by case; table names and aliases do
    (``lower_case_table_names = 0``), so only a column's own name is folded."""

    def normalize_identifier(self: Dialect, expression: Any) -> Any:
        if isinstance(expression, exp.Identifier) and _names_a_column(expression):
            expression.set("this", expression.this.lower())
            return expression
        return base.normalize_identifier(self, expression)

    return type(
        f"Kaitiaki{base.__name__}ColumnsFold", (base,), {"normalize_identifier": normalize_identifier}
    )


def _names_a_column(identifier: exp.Identifier) -> bool:
    parent = identifier.parent
    if parent is None:
        return not identifier.meta.get("is_table")
    if isinstance(parent, exp.Column):
        return identifier.arg_key == "this"
    if isinstance(parent, exp.TableAlias):
        return identifier.arg_key == "columns"
    return isinstance(parent, exp.Alias)


def _tables_case_sensitive(dialect: str) -> bool:
    """BigQuery (and MySQL by default) fold column names but keep table names as written."""
    probe = exp.to_identifier("Ab")
    probe.meta["is_table"] = True
    return dialect_of(dialect).normalize_identifier(probe).name == "Ab"


def _unquoted_resolution(name: str, strategy: NormalizationStrategy, case_sensitive: bool) -> str:
    """What the dialect resolves ``name`` to when it is written without quotes."""
    if case_sensitive:
        return name
    if strategy in _UPPER:
        return name.upper()
    if strategy in _LOWER:
        return name.lower()
    return name


def _quoted(name: str, dialect: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def display_identifier(canonical: str, dialect: str, is_table: bool = False) -> str:
    """Canonical (sqlglot-normalised) identifier → the spelling facts use."""
    return _display_identifier(canonical, dialect, is_table, _key())


@lru_cache(maxsize=65536)
def _display_identifier(canonical: str, dialect: str, is_table: bool, key: Identifiers | None) -> str:
    strategy = dialect_of(dialect).normalization_strategy
    case_sensitive = is_table and _tables_case_sensitive(dialect)
    if _SAFE.match(canonical):
        if strategy in _UPPER and canonical == canonical.upper():
            return canonical.lower()
        if _unquoted_resolution(canonical, strategy, case_sensitive) == canonical:
            return canonical
    return _quoted(canonical, dialect)


def canonical_identifier(display: str, dialect: str) -> str:
    """Display spelling (or any spelling a user wrote) → the canonical form sqlglot resolves."""
    return _canonical_identifier(display, dialect, _key())


@lru_cache(maxsize=65536)
def _canonical_identifier(display: str, dialect: str, key: Identifiers | None) -> str:
    try:
        identifier = exp.parse_identifier(display, dialect=dialect)
    except (SqlglotError, ValueError):
        identifier = exp.to_identifier(display, quoted=True)
    return dialect_of(dialect).normalize_identifier(identifier).name


def display_table(table: exp.Table, dialect: str) -> str:
    """A normalised Table node → ``db.table`` as facts name it (T-SQL temp tables keep their ``#``)."""
    if dialect == "bigquery":
        return ".".join(display_identifier(part, dialect, True) for part in table_parts(table, dialect))
    return ".".join(
        _temporary_prefix(part) + display_identifier(part.name, dialect, True) for part in table.parts
    )


def table_parts(table: exp.Table, dialect: str) -> tuple[str, ...]:
    """A normalised Table node's canonical parts; in BigQuery, those of the base table it reads."""
    parts = tuple(part.name for part in table.parts)
    return bigquery_base(parts, _rules().table_shards) if dialect == "bigquery" else parts


_INFORMATION_SCHEMA = re.compile(r"^information_schema\.(.+)$", re.IGNORECASE)
_WILDCARD_TAIL = re.compile(r"_?[0-9]*$")


@lru_cache(maxsize=4096)
def bigquery_base(parts: tuple[str, ...], shards: tuple[str, ...]) -> tuple[str, ...]:
    """BigQuery names that read one base table, as that table's parts.

    ``INFORMATION_SCHEMA.COLUMNS`` (one part to sqlglot) is a schema and a view; a partition
    decorator (``tbl$20240101``, ``tbl$__UNPARTITIONED__``) reads ``tbl``; a date shard
    (``events_20240101``, or a configured ``identifiers.table_shards`` suffix) and a wildcard
    (``events_*``, ``events_2024*``) read the family ``events``.
    """
    if not parts:
        return parts
    *outer, last = parts
    view = _INFORMATION_SCHEMA.match(last)
    if view:
        return (*outer, "INFORMATION_SCHEMA", view.group(1).upper())
    name = last.split("$", 1)[0] or last
    if name.endswith("*"):
        name = _WILDCARD_TAIL.sub("", name[:-1]) or name
    else:
        for pattern in shards:
            base = re.sub(f"(?:{pattern})$", "", name)
            if base and base != name:
                name = base
                break
    return (*outer, name)


def _temporary_prefix(part: exp.Expr) -> str:
    if part.args.get("global_"):
        return "##"
    return "#" if part.args.get("temporary") else ""


def normalise_table_name(name: str, dialect: str) -> str:
    """Any written table name (``"DB"."Main".Clients``, ``health.patients``) → its display form.

    Other rooms (dbt relation names, catalog keys) use this so their keys match the facts.
    """
    return _normalise_table_name(name, dialect, _key())


@lru_cache(maxsize=65536)
def _normalise_table_name(name: str, dialect: str, key: Identifiers | None) -> str:
    parts = canonical_table_parts(name, dialect)
    return ".".join(display_identifier(part, dialect, True) for part in parts)


def canonical_table_parts(name: str, dialect: str) -> tuple[str, ...]:
    """A written table name → its canonical parts, outermost first (catalog, db, table)."""
    return _canonical_table_parts(name, dialect, _key())


@lru_cache(maxsize=65536)
def _canonical_table_parts(name: str, dialect: str, key: Identifiers | None) -> tuple[str, ...]:
    try:
        table = exp.to_table(name, dialect=dialect)
    except (SqlglotError, ValueError):
        table = None
    if table is None or not table.parts or not all(isinstance(p, exp.Identifier) for p in table.parts):
        return tuple(canonical_identifier(part, dialect) for part in name.split(".") if part)
    normaliser = dialect_of(dialect)
    parts = []
    for part in table.parts:
        part.meta["is_table"] = True
        parts.append(normaliser.normalize_identifier(part).name)
    return (
        bigquery_base(tuple(parts), (key or _DEFAULT_RULES).table_shards)
        if dialect == "bigquery"
        else tuple(parts)
    )
