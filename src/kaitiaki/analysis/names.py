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
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.errors import SqlglotError

_SAFE = re.compile(r"^[A-Za-z_#@][A-Za-z0-9_$#@]*$")
_UPPER = (NormalizationStrategy.UPPERCASE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE)
_LOWER = (
    NormalizationStrategy.LOWERCASE,
    NormalizationStrategy.CASE_INSENSITIVE,
)


@lru_cache(maxsize=64)
def dialect_of(name: str) -> Dialect:
    """The sqlglot dialect object; raises ValueError for a name sqlglot does not know."""
    try:
        return Dialect.get_or_raise(name)
    except (ValueError, SqlglotError) as exc:
        raise ValueError(f"unknown dialect {name!r}") from exc


@lru_cache(maxsize=64)
def _tables_case_sensitive(dialect: str) -> bool:
    """BigQuery folds column names but keeps table names as written."""
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


@lru_cache(maxsize=65536)
def display_identifier(canonical: str, dialect: str, is_table: bool = False) -> str:
    """Canonical (sqlglot-normalised) identifier → the spelling facts use."""
    strategy = dialect_of(dialect).normalization_strategy
    case_sensitive = is_table and _tables_case_sensitive(dialect)
    if _SAFE.match(canonical):
        if strategy in _UPPER and canonical == canonical.upper():
            return canonical.lower()
        if _unquoted_resolution(canonical, strategy, case_sensitive) == canonical:
            return canonical
    return _quoted(canonical, dialect)


@lru_cache(maxsize=65536)
def canonical_identifier(display: str, dialect: str) -> str:
    """Display spelling (or any spelling a user wrote) → the canonical form sqlglot resolves."""
    try:
        identifier = exp.parse_identifier(display, dialect=dialect)
    except (SqlglotError, ValueError):
        identifier = exp.to_identifier(display, quoted=True)
    return dialect_of(dialect).normalize_identifier(identifier).name


def display_table(table: exp.Table, dialect: str) -> str:
    """A normalised Table node → ``db.table`` as facts name it (T-SQL temp tables keep their ``#``)."""
    return ".".join(
        _temporary_prefix(part) + display_identifier(part.name, dialect, True) for part in table.parts
    )


def _temporary_prefix(part: exp.Expr) -> str:
    if part.args.get("global_"):
        return "##"
    return "#" if part.args.get("temporary") else ""


@lru_cache(maxsize=65536)
def normalise_table_name(name: str, dialect: str) -> str:
    """Any written table name (``"DB"."Main".Clients``, ``health.patients``) → its display form.

    Other rooms (dbt relation names, catalog keys) use this so their keys match the facts.
    """
    parts = canonical_table_parts(name, dialect)
    return ".".join(display_identifier(part, dialect, True) for part in parts)


@lru_cache(maxsize=65536)
def canonical_table_parts(name: str, dialect: str) -> tuple[str, ...]:
    """A written table name → its canonical parts, outermost first (catalog, db, table)."""
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
    return tuple(parts)
