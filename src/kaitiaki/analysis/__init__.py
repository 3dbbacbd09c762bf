"""SQL analysis (docs/analysis.md): which columns a job's SQL reads, how, and where they flow.

``analyze_sql`` is the one entry point; ``schema`` loads and normalises schema files. Built on
sqlglot's optimizer: one module per concern (parse, statements, resolve, flow, uses, joins,
aggregation, lineage, facts), each a small pass over the qualified scopes.

The names below load on first use: importing one light submodule (``analysis.dialects``) must
not import every pass, because an Airflow task process pays for each module it imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaitiaki.lazy import lazy_attributes

if TYPE_CHECKING:
    from kaitiaki.analysis.analyze import analyze_sql
    from kaitiaki.analysis.schema import Schema, load_schema_file, normalise_schema

__all__ = ["Schema", "analyze_sql", "load_schema_file", "normalise_schema"]

_HOMES = {
    "analyze_sql": "kaitiaki.analysis.analyze",
    "Schema": "kaitiaki.analysis.schema",
    "load_schema_file": "kaitiaki.analysis.schema",
    "normalise_schema": "kaitiaki.analysis.schema",
}

__getattr__ = lazy_attributes(__name__, _HOMES)
