"""A compiled dbt model → a kaitiaki Job.

Purpose and destination come from ``meta.kaitiaki`` on the model, which dbt fills from the
model's own config or its folder's ``+meta`` in dbt_project.yml (dbt merges ``meta`` by top-level
key, so a model's ``kaitiaki`` mapping replaces its folder's as a whole); the project default
(``default_purpose``, ``default_destination`` in kaitiaki.yaml) applies where neither says.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from kaitiaki.analysis.dialects import known_dialects, narrowed
from kaitiaki.config import Settings, destination_from
from kaitiaki.errors import ConfigError
from kaitiaki.model import Destination, Job, SourceLocation
from kaitiaki_dbt.dialects import adapter_dialect
from kaitiaki_dbt.manifest import Node, parents, properties_file

MODEL_META_KEYS = ("purpose", "destination", "owner", "agency", "dialect", "categories")


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


def compiled_sql(node: Node) -> str | None:
    """The compiled SQL, or None when the manifest has none (parsed but never compiled)."""
    sql = node.get("compiled_code", node.get("compiled_sql"))
    return sql if isinstance(sql, str) else None


def model_job(node: Node, *, adapter_type: str | None, settings: Settings) -> Job:
    """The Job for one model; ``dialect`` is None when it cannot be known (the model is blocked)."""
    kmeta = kaitiaki_meta(node)
    purpose = kmeta.get("purpose")
    meta: dict[str, Any] = {
        "unique_id": node.get("unique_id"),
        "package": node.get("package_name"),
        "relation": node.get("relation_name"),
        "materialized": (node.get("config") or {}).get("materialized"),
        "adapter_type": adapter_type,
    }
    if kmeta.get("agency"):
        meta["agency"] = str(kmeta["agency"])
    return Job(
        id=job_id(str(node["unique_id"])),
        kind="dbt_model",
        name=str(node.get("name")),
        sql=compiled_sql(node) or "",
        dialect=model_dialect(node, adapter_type),
        source=SourceLocation(path=node.get("original_file_path"), line_offset=0),
        owner=model_owner(node),
        purpose=str(purpose) if purpose is not None else None,
        destination=model_destination(node, settings),
        tags=tuple(str(t) for t in node.get("tags") or ()),
        upstream=tuple(job_id(p) for p in parents(node)),
        meta=meta,
    )
