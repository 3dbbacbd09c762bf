"""SQL analysis (docs/analysis.md): which columns a job's SQL reads, how, and where they flow.

``analyze_sql`` is the one entry point; ``schema`` loads and normalises schema files. Built on
sqlglot's optimizer: one module per concern (parse, statements, resolve, flow, uses, joins,
aggregation, lineage, facts), each a small pass over the qualified scopes.
"""

from kaitiaki.analysis.analyze import analyze_sql
from kaitiaki.analysis.schema import Schema, load_schema_file, normalise_schema

__all__ = ["Schema", "analyze_sql", "load_schema_file", "normalise_schema"]
