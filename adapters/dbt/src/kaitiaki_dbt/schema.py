"""What the models read: relation names, their columns, and their dbt meta, as plain data.

A model's compiled SQL names its inputs by ``relation_name`` (``"db"."schema"."table"``); the
analysis names tables the same way, normalised per dialect, so every key goes through the
analysis's own ``normalise_table_name``. Columns of a relation come, best first, from:
catalog.json (what the warehouse has), a seed's CSV header, a model's own analysed output, and
the columns declared in YAML. Declared columns may be incomplete (a star over them would miss
columns), which is why ``dbt docs generate`` (catalog.json) is recommended for sources.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify

from kaitiaki.analysis.names import normalise_table_name
from kaitiaki.analysis.schema import Schema, SchemaLookup
from kaitiaki_dbt.manifest import RELATION_TYPES, DbtProject, Node, properties_file

Columns = dict[str, str]


def relations(project: DbtProject) -> dict[str, Node]:
    """Every node that is a table or view in the warehouse (sources, seeds, snapshots, models)."""
    out: dict[str, Node] = {}
    for uid, node in project.nodes.items():
        if node.get("resource_type") in RELATION_TYPES and node.get("relation_name"):
            out[uid] = node
    for uid, node in project.sources.items():
        if node.get("relation_name"):
            out[uid] = node
    return out


def catalog_columns(project: DbtProject, unique_id: str) -> Columns | None:
    """Columns and types from catalog.json, or None when it does not describe the node."""
    if project.catalog is None:
        return None
    section = "sources" if unique_id.startswith("source.") else "nodes"
    entry = (project.catalog.get(section) or {}).get(unique_id)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("columns"), Mapping):
        return None
    columns = sorted(entry["columns"].values(), key=lambda c: c.get("index", 0))
    return {
        str(c["name"]): str(c.get("type") or "") for c in columns if isinstance(c, Mapping) and "name" in c
    }


def seed_columns(node: Node, project_dir: Path | None) -> Columns | None:
    """A seed's columns from its CSV header (typed by ``column_types``), when the file is found."""
    if node.get("resource_type") != "seed":
        return None
    roots = [root for root in (project_dir, node.get("root_path")) if root]
    paths = [Path(root) / str(node.get("original_file_path") or "") for root in roots]
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        return None
    config = node.get("config") or {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, delimiter=str(config.get("delimiter") or ",")), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not header:
        return None
    types = config.get("column_types") or {}
    return {name.strip(): str(types.get(name.strip(), "")) for name in header}


def declared_columns(node: Node) -> Columns | None:
    """Columns declared in the properties YAML, or None when none are."""
    columns = node.get("columns") or {}
    if not columns:
        return None
    return {str(c.get("name") or name): str(c.get("data_type") or "") for name, c in columns.items()}


def known_columns(project: DbtProject, node: Node, project_dir: Path | None) -> Columns | None:
    """The best column list kaitiaki has for a relation without analysing any SQL."""
    uid = str(node.get("unique_id"))
    return catalog_columns(project, uid) or seed_columns(node, project_dir) or declared_columns(node)


def output_columns(sql: str, dialect: str, schema: Schema) -> list[str] | None:
    """The column names a model's final SELECT produces, stars expanded from ``schema``.

    None when they cannot be known (unparseable SQL, or a star over a relation whose columns are
    unknown); callers then fall back to catalog or declared columns. An unaliased expression is
    named by its SQL text, as the analysis names it. The usual dbt shapes (stars over CTEs, over
    subqueries and over the relations of ``schema``) are expanded directly; anything else goes
    through sqlglot's qualify.
    """
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    except SqlglotError:
        return None
    if not statements or not isinstance(statements[-1], exp.Query):
        return None
    query = statements[-1]
    names = StarExpander(schema, dialect).names(query, {})
    return names if names is not None else qualified_names(query, schema, dialect)


def qualified_names(query: exp.Query, schema: Schema, dialect: str) -> list[str] | None:
    try:
        qualified = qualify(
            query,
            dialect=dialect,
            schema=SchemaLookup(schema, dialect),
            validate_qualify_columns=False,
            quote_identifiers=False,
        )
    except SqlglotError:
        return None
    if not isinstance(qualified, exp.Query) or any(_is_star(e) for e in qualified.selects):
        return None
    return [projection_name(e, dialect) for e in qualified.selects]


def projection_name(projection: exp.Expr, dialect: str) -> str:
    """An output column's name: its alias, the column it is, else its SQL text."""
    if isinstance(projection, exp.Alias):
        return projection.alias
    if isinstance(projection, exp.Column):
        return projection.name
    return projection.sql(dialect=dialect)


def _is_star(expression: exp.Expr) -> bool:
    return isinstance(expression, exp.Star) or (
        isinstance(expression, exp.Column) and isinstance(expression.this, exp.Star)
    )


class StarExpander:
    """Output names of simple queries without sqlglot's optimizer; None whenever unsure."""

    def __init__(self, schema: Schema, dialect: str) -> None:
        self.schema = schema
        self.dialect = dialect

    def names(self, query: exp.Expr, ctes: Mapping[str, list[str]]) -> list[str] | None:
        if isinstance(query, exp.SetOperation):
            return self.names(query.left, ctes)
        if not isinstance(query, exp.Select):
            return None
        known = dict(ctes)
        for cte in query.ctes:
            cte_names = self.names(cte.this, known)
            if cte_names is None:
                return None
            known[cte.alias_or_name] = cte_names
        sources = self.sources(query, known)
        if sources is None:
            return None
        out: list[str] = []
        for projection in query.selects:
            expanded = self.projection(projection, sources)
            if expanded is None:
                return None
            out.extend(expanded)
        return out

    def projection(self, projection: exp.Expr, sources: Mapping[str, list[str]]) -> list[str] | None:
        """The names one projection yields; None for star modifiers and DuckDB's COLUMNS()."""
        if isinstance(projection, exp.Star):
            plain = not any(projection.args.values())
            return [name for names in sources.values() for name in names] if plain else None
        if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
            return sources.get(projection.table) if not any(projection.this.args.values()) else None
        if projection.find(exp.Columns) is not None:
            return None
        return [projection_name(projection, self.dialect)]

    def sources(self, query: exp.Select, ctes: Mapping[str, list[str]]) -> dict[str, list[str]] | None:
        """Alias → output names of every FROM and JOIN source, in order."""
        from_ = query.args.get("from_") or query.args.get("from")
        joins = query.args.get("joins") or []
        if from_ is None or any(j.args.get("using") or j.method or j.kind == "NATURAL" for j in joins):
            return None
        out: dict[str, list[str]] = {}
        for source in [from_.this, *(j.this for j in joins)]:
            names = self.source_names(source, ctes)
            if names is None or source.alias_or_name in out:
                return None
            out[source.alias_or_name] = names
        return out

    def source_names(self, source: exp.Expr, ctes: Mapping[str, list[str]]) -> list[str] | None:
        if isinstance(source, exp.Subquery):
            return self.names(source.this, ctes)
        if not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
            return None
        if not source.args.get("db") and source.name in ctes:
            return ctes[source.name]
        written = ".".join(part.sql(dialect=self.dialect) for part in source.parts)
        columns = self.schema.get(normalise_table_name(written, self.dialect))
        return list(columns) if columns else None


def meta_entry(node: Node) -> dict[str, Any]:
    """A relation's dbt meta as plain data for classification: model and column meta and tags."""
    columns: dict[str, Any] = {}
    for name, column in (node.get("columns") or {}).items():
        config = column.get("config") or {}
        columns[str(column.get("name") or name)] = {
            "meta": {**(config.get("meta") or {}), **(column.get("meta") or {})},
            "tags": sorted({*(config.get("tags") or ()), *(column.get("tags") or ())}),
        }
    config = node.get("config") or {}
    return {
        "path": properties_file(node),
        "meta": {**(config.get("meta") or {}), **(node.get("meta") or {})},
        "tags": list(node.get("tags") or ()),
        "columns": columns,
    }


def subset(mapping: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Only the entries of ``mapping`` named in ``keys`` (the relations one model reads)."""
    return {key: mapping[key] for key in keys if key in mapping}
