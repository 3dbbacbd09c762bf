"""dbt ``meta`` and ``tags`` → categories (docs/classification.md), validated with file:line errors.

The dbt adapter hands over plain data per table (relation name): ``{"columns": {col: {"meta":
{...}, "tags": [...]}}, "meta": {...}, "tags": [...], "path": "models/schema.yml", "line": 12}``
(``path``, ``line`` and ``unique_id`` are optional and only used in error messages).

Conventions understood:
- ``meta: {kaitiaki: {categories: [...]}}`` on a column: exactly these categories (``[]`` says
  "not identifying"); on a model: added to every column of the model, like catalog table
  ``categories``. ``meta: {kaitiaki: {agency: ...}}`` on a model names its agency.
- ``meta: {pii: true}``, ``meta: {contains_pii: true}`` or tag ``pii`` on a column: the column is
  personal information of an unspecified kind. The rules' more specific answer is used when they
  find one (``dob`` → ``quasi_identifier:dob``); otherwise it counts as ``direct_identifier``, the
  strictest category, because an unspecified identifier must not pass as a harmless column.
- The same flags on a model mark the table as holding personal information (``direct_identifier``
  at table level); they say nothing about which column, so columns are left to the other sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kaitiaki.classify.categories import check_category
from kaitiaki.errors import KaitiakiError

PII_KEYS = ("pii", "contains_pii")
PII_TAG = "pii"
TRUE_WORDS = ("true", "yes", "y")


@dataclass(frozen=True)
class ColumnMeta:
    """What dbt says about one column: explicit categories and/or a bare PII flag."""

    categories: tuple[str, ...] | None = None
    pii: bool = False


@dataclass(frozen=True)
class ModelMeta:
    """What dbt says about one model (table) and its columns."""

    table: str
    categories: tuple[str, ...] = ()
    pii: bool = False
    agency: str | None = None
    columns: Mapping[str, ColumnMeta] = field(default_factory=dict)


class _Where:
    """Builds errors that name the dbt file, line, model and column."""

    def __init__(self, table: str, entry: Mapping[str, Any]) -> None:
        path, line, unique_id = entry.get("path"), entry.get("line"), entry.get("unique_id")
        self.table = table
        self.node = f" ({unique_id})" if unique_id else ""
        self.path = str(path) if path else None
        self.line = line if isinstance(line, int) and not isinstance(line, bool) else None

    def error(self, what: str, message: str) -> KaitiakiError:
        return KaitiakiError(
            f"dbt meta of {what}{self.node}: {message}",
            path=self.path,
            line=self.line,
            hint="write meta: {kaitiaki: {categories: [direct_identifier, ...]}} or meta: {pii: true}; "
            "see docs/classification.md.",
        )


def _mapping(value: Any, where: _Where, what: str, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise where.error(what, f"'{key}' must be a mapping, got {type(value).__name__}.")
    return value


def _strings(value: Any, where: _Where, what: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise where.error(what, f"'{key}' must be a list of strings, got {value!r}.")
    return tuple(value)


def _categories(value: Any, where: _Where, what: str) -> tuple[str, ...]:
    categories = _strings(value, where, what, "kaitiaki.categories")
    for category in categories:
        problem = check_category(category)
        if problem:
            raise where.error(what, problem)
    return categories


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in TRUE_WORDS


def _is_pii(meta: Mapping[str, Any], tags: tuple[str, ...], kaitiaki: Mapping[str, Any]) -> bool:
    flagged = any(_flag(meta.get(key)) for key in PII_KEYS) or _flag(kaitiaki.get("pii"))
    return flagged or any(tag.strip().lower() == PII_TAG for tag in tags)


def _column(name: str, entry: Any, where: _Where) -> ColumnMeta:
    what = f"{where.table}.{name}"
    column = _mapping(entry, where, what, "columns." + name)
    meta = _mapping(column.get("meta"), where, what, "meta")
    kaitiaki = _mapping(meta.get("kaitiaki"), where, what, "meta.kaitiaki")
    tags = _strings(column.get("tags"), where, what, "tags")
    categories = _categories(kaitiaki["categories"], where, what) if "categories" in kaitiaki else None
    return ColumnMeta(categories=categories, pii=_is_pii(meta, tags, kaitiaki))


def parse_model(table: str, entry: Any) -> ModelMeta:
    """One table's dbt meta; raises KaitiakiError naming the file, model and column."""
    where = _Where(table, entry if isinstance(entry, Mapping) else {})
    model = _mapping(entry, where, table, table)
    meta = _mapping(model.get("meta"), where, table, "meta")
    kaitiaki = _mapping(meta.get("kaitiaki"), where, table, "meta.kaitiaki")
    tags = _strings(model.get("tags"), where, table, "tags")
    agency = kaitiaki.get("agency")
    if agency is not None and not isinstance(agency, str):
        raise where.error(table, f"'meta.kaitiaki.agency' must be a string, got {agency!r}.")
    columns = _mapping(model.get("columns"), where, table, "columns")
    return ModelMeta(
        table=table,
        categories=_categories(kaitiaki.get("categories"), where, table),
        pii=_is_pii(meta, tags, kaitiaki),
        agency=agency,
        columns={str(name).lower(): _column(str(name), value, where) for name, value in columns.items()},
    )


def parse_dbt_meta(dbt_meta: Mapping[str, Any] | None) -> dict[str, ModelMeta]:
    """Every table's dbt meta, validated; keys are the table names as given."""
    return {table: parse_model(table, entry) for table, entry in (dbt_meta or {}).items()}
