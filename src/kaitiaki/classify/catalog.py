"""Checks of the governance catalog against the schema, run once per configuration.

A catalog entry whose table or column does not exist is usually a typo, and a typo in the catalog
silently classifies nothing: these warnings name kaitiaki.yaml and the entry's line so it can be
fixed. Compare against the schema *file* (or dbt's catalog), not against a schema that already
includes the catalog's own columns.
"""

from __future__ import annotations

from collections.abc import Mapping

from kaitiaki.classify.tables import TableIndex
from kaitiaki.config import TableEntry
from kaitiaki.model import field_path


def _where(path: str | None, line: int | None) -> str:
    if path and line:
        return f"{path}:{line}: "
    return f"{path}: " if path else ""


def catalog_schema_warnings(
    catalog: Mapping[str, TableEntry], schema: Mapping[str, Mapping[str, str]], *, path: str | None = None
) -> tuple[str, ...]:
    """A warning per catalog table missing from ``schema``, and per catalog column missing from its table."""
    tables = TableIndex(schema)
    warnings: list[str] = []
    for name, entry in catalog.items():
        where = _where(path, entry.line)
        matches = tables.lookup(name)
        if not matches:
            warnings.append(
                f"{where}catalog table '{name}' is not in the schema; check the name, or its columns "
                "will never be classified from the catalog."
            )
            continue
        known = {str(c).lower() for key in matches for c in schema[key]}
        warnings += [
            f"{where}catalog column '{name}.{column}' is not a column of '{matches[0]}' in the schema."
            for column in entry.columns
            if field_path(column)[0] not in known  # a field (payload->nhi) of a known column is known
        ]
    return tuple(warnings)
