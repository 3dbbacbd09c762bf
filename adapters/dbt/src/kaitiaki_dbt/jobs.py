"""A compiled dbt model → a kaitiaki Job.

Purpose and destination come from ``meta.kaitiaki`` on the model, which dbt fills from the
model's own config or its folder's ``+meta`` in dbt_project.yml (dbt merges ``meta`` by top-level
key, so a model's ``kaitiaki`` mapping replaces its folder's as a whole); the project default
(``default_purpose``, ``default_destination`` in kaitiaki.yaml) applies where neither says.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlglot import exp

from kaitiaki.analysis.dialects import known_dialects, narrowed
from kaitiaki.analysis.names import normalise_table_name
from kaitiaki.classify.tables import TableIndex
from kaitiaki.config import Settings, TableEntry, destination_from
from kaitiaki.errors import ConfigError
from kaitiaki.model import Destination, Job, SourceLocation
from kaitiaki_dbt.dialects import adapter_dialect
from kaitiaki_dbt.manifest import DbtProject, Node, parents, properties_file
from kaitiaki_dbt.schema import seed_columns
from kaitiaki_dbt.unit_tests import tested_model, unit_test_sql

MODEL_META_KEYS = ("purpose", "destination", "owner", "agency", "dialect", "categories")
JOB_KINDS = {
    "model": "dbt_model",
    "snapshot": "dbt_snapshot",
    "seed": "dbt_seed",
    "test": "dbt_test",
    "unit_test": "dbt_test",
    "hook": "dbt_hook",
    "operation": "dbt_hook",
}


def job_id(unique_id: str) -> str:
    """``dbt:model.<project>.<name>``: stable across runs, what waivers name."""
    return f"dbt:{unique_id}"


def kaitiaki_meta(node: Node) -> dict[str, Any]:
    """``meta.kaitiaki`` of a model: config meta (folder and model) overlaid by the model's meta."""
    merged: dict[str, Any] = {}
    for meta in ((node.get("config") or {}).get("meta") or {}, node.get("meta") or {}):
        value = meta.get("kaitiaki") if isinstance(meta, Mapping) else None
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"model {node.get('name')!r}: meta.kaitiaki must be a mapping, got {type(value).__name__}.",
                path=properties_file(node),
                hint=f"keys: {', '.join(MODEL_META_KEYS)}.",
            )
        merged.update(value)
    for key in merged:
        if key not in MODEL_META_KEYS:
            close = difflib.get_close_matches(key, MODEL_META_KEYS, n=1)
            raise ConfigError(
                f"model {node.get('name')!r}: unknown key {key!r} in meta.kaitiaki.",
                path=properties_file(node),
                hint=f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(MODEL_META_KEYS)}.",
            )
    return merged


def model_dialect(node: Node, adapter_type: str | None) -> str | None:
    """The model's SQL dialect: ``meta.kaitiaki.dialect``, else mapped from the adapter type."""
    declared = kaitiaki_meta(node).get("dialect")
    platform = adapter_dialect(adapter_type)
    if declared is None:
        return platform
    value = str(declared).lower()
    if value not in known_dialects():
        raise ConfigError(
            f"model {node.get('name')!r}: unknown dialect {declared!r} in meta.kaitiaki.dialect.",
            path=properties_file(node),
            hint=f"valid dialects: {', '.join(known_dialects())}.",
        )
    try:
        return narrowed(value, platform)
    except ValueError as exc:
        raise ConfigError(
            f"model {node.get('name')!r}: meta.kaitiaki.dialect: {exc} (adapter {adapter_type!r}).",
            path=properties_file(node),
            hint=f"remove meta.kaitiaki.dialect, or name a dialect built on {platform!r}.",
        ) from None


def model_destination(node: Node, settings: Settings) -> Destination:
    value = kaitiaki_meta(node).get("destination")
    if value is None:
        return settings.default_destination
    return destination_from(
        value, where=f"{properties_file(node)}: model {node.get('name')!r}: meta.kaitiaki"
    )


def model_owner(node: Node) -> str | None:
    meta = node.get("meta") or {}
    owner = kaitiaki_meta(node).get("owner") or meta.get("owner")
    return str(owner) if owner else None


def purpose_node(node: Node, project: DbtProject | None) -> Node:
    """The node whose ``meta.kaitiaki`` decides this one: its own, else (a test or unit test
    without any) the node it tests. A hook carries its owner's meta already (hooks.py); a test's
    ``sql_header`` is decided as its test is."""
    kind = node.get("resource_type")
    owner = project.node(str(node.get("attached_node"))) if kind == "hook" and project else None
    if owner is not None and owner.get("resource_type") == "test":
        return purpose_node(owner, project)
    if kind not in ("test", "unit_test") or kaitiaki_meta(node) or project is None:
        return node
    attached = node.get("attached_node") if kind == "test" else tested_model(node)
    owner = project.node(str(attached)) if attached else None
    return owner if owner is not None else node


def compiled_sql(node: Node) -> str | None:
    """The compiled SQL, or None when the manifest has none (parsed but never compiled)."""
    sql = node.get("compiled_code", node.get("compiled_sql"))
    return sql if isinstance(sql, str) else None


def model_job(node: Node, *, adapter_type: str | None, settings: Settings) -> Job:
    """The Job for one model (see ``node_job``)."""
    return node_job(node, adapter_type=adapter_type, settings=settings, sql=compiled_sql(node) or "")


def node_job(
    node: Node,
    *,
    adapter_type: str | None,
    settings: Settings,
    sql: str,
    project: DbtProject | None = None,
) -> Job:
    """The Job for one node that moves data; ``dialect`` is None when it cannot be known (the
    node is blocked). ``sql`` is what the node runs, as the gate should read it (routes.py)."""
    decider = purpose_node(node, project)
    kmeta = kaitiaki_meta(decider)
    purpose = kmeta.get("purpose")
    kind = str(node.get("resource_type"))
    meta: dict[str, Any] = {
        "unique_id": node.get("unique_id"),
        "resource_type": kind,
        "package": node.get("package_name"),
        "relation": node.get("relation_name"),
        "materialized": (node.get("config") or {}).get("materialized"),
        "adapter_type": adapter_type,
    }
    if node.get("attached_node"):
        meta["attached_node"] = node.get("attached_node")
    if kmeta.get("agency"):
        meta["agency"] = str(kmeta["agency"])
    return Job(
        id=job_id(str(node["unique_id"])),
        kind=JOB_KINDS.get(kind, "dbt_model"),
        name=str(node.get("name")),
        sql=sql,
        dialect=model_dialect(decider, adapter_type),
        source=SourceLocation(path=node.get("original_file_path"), line_offset=0),
        owner=model_owner(decider),
        purpose=str(purpose) if purpose is not None else None,
        destination=model_destination(decider, settings),
        tags=tuple(str(t) for t in decider.get("tags") or ()),
        upstream=tuple(job_id(p) for p in parents(node)),
        meta=meta,
    )


SNAPSHOT_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


def route_sql(node: Node, *, settings: Settings, project_dir: Path | None, dialect: str | None) -> str | None:
    """The SQL the gate reads for a node: what it writes, and from where; None when it cannot be
    known (no compiled SQL, an undeclared Python model, an unreadable seed file: blocked).

    A model is its compiled SELECT (dbt writes it to the model's relation). A snapshot and a test
    that stores its failures write their SELECT to a table: ``create table <relation> as …`` on
    the SELECT's first line, so line numbers stay those of the compiled SQL. A seed loads its
    CSV's columns into its relation; a hook is the SQL dbt renders for it; a unit test is the
    SQL its fixtures and expectation run (unit_tests.py).
    """
    kind = node.get("resource_type")
    compiled = compiled_sql(node)
    if kind == "model" and node.get("language", "sql") != "sql":
        return declared_model_sql(node, settings, dialect)
    if kind in ("snapshot", "test"):
        if compiled is None:
            return None
        relation = node.get("relation_name") or quoted_name(
            ("dbt_test__audit", str(node.get("name"))), dialect
        )
        return f"create table {relation} as {compiled}"
    if kind == "seed":
        return seed_sql(node, settings, project_dir, dialect)
    if kind == "unit_test":
        return unit_test_sql(node)
    return compiled


def quoted_name(parts: Iterable[str], dialect: str | None) -> str:
    return ".".join(exp.to_identifier(part, quoted=True).sql(dialect=dialect) for part in parts)


def catalog_entries(relation: str | None, settings: Settings, dialect: str | None) -> list[TableEntry]:
    """The catalog entries of kaitiaki.yaml that describe ``relation`` (by dotted suffix)."""
    if not relation or not settings.catalog:
        return []
    name = normalise_table_name(relation, dialect or "postgres")
    return [settings.catalog[key] for key in TableIndex(settings.catalog).lookup(name)]


def declared_model_sql(node: Node, settings: Settings, dialect: str | None) -> str | None:
    """A Python model cannot be analysed; one whose relation governance declared in the catalog is
    read as writing exactly the declared columns (None when undeclared: blocked by SYS-01)."""
    relation = node.get("relation_name")
    entries = catalog_entries(relation, settings, dialect)
    if not entries:
        return None
    columns = sorted({column for entry in entries for column in entry.columns})
    projection = ", ".join(quoted_name((c,), dialect) for c in columns) or "null as no_declared_columns"
    return f"select {projection} from {relation}"


def seed_sql(node: Node, settings: Settings, project_dir: Path | None, dialect: str | None) -> str | None:
    """A seed as the write it is: its CSV's columns into its relation.

    Columns whose categories are already declared — in the governance catalog for that
    relation, or in the seed's own column ``meta.kaitiaki.categories`` — are the source they
    describe, loaded where it lives: they are left out when the seed stays internal in NZ.
    Every other column (an undeclared seed, a column nobody declared, a seed shared out or
    offshore) is decided as a write of it.
    """
    header = seed_columns(node, project_dir)
    if header is None:
        return None
    relation = str(node.get("relation_name"))
    destination = model_destination(node, settings)
    registered: set[str] = set()
    if destination.kind == "internal" and destination.region == "nz":
        registered = {c.lower() for e in catalog_entries(relation, settings, dialect) for c in e.columns}
        registered |= declared_categories(node)
    loaded = [name for name in header if name.lower() not in registered]
    if not loaded:
        return ""
    projection = ", ".join(quoted_name((c,), dialect) for c in loaded)
    return f"create table {relation} as select {projection} from {relation}"


def declared_categories(node: Node) -> set[str]:
    """Lower-cased names of a node's columns with ``meta.kaitiaki.categories`` declared."""
    out: set[str] = set()
    for name, column in (node.get("columns") or {}).items():
        metas = ((column.get("config") or {}).get("meta") or {}, column.get("meta") or {})
        if any(isinstance(m.get("kaitiaki"), Mapping) and "categories" in m["kaitiaki"] for m in metas):
            out.add(str(column.get("name") or name).lower())
    return out
