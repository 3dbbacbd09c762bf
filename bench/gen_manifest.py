"""Generate a synthetic dbt manifest.json (v12) of a large project, for `bench/dbt_manifest.py`.

The shape follows a real layered project: sources per agency with documented, classified
columns; staging models that rename and hash; intermediate models with CTEs, joins and stars
over upstream models (expanded from the columns those models produce); marts that aggregate
(some with small-cell suppression, some without) or pass person-level rows on; exports to
partners. A fixed seed gives the same manifest every time. Some models break DPUP rules (stars
over identifiable models, raw names kept, counts without small-cell suppression, a model
without a purpose), so the benchmark decides a realistic mix of allowed and denied models.

Usage: python bench/gen_manifest.py OUT_DIR [--models 2000] [--seed 7]
writes OUT_DIR/target/manifest.json and OUT_DIR/kaitiaki.yaml.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = "bench"
DATABASE = "warehouse"
AGENCIES = ("msd", "moh", "moe", "ot", "corrections", "housing", "acc", "ird")
SOURCE_TABLES = ("people", "events", "payments", "contacts", "services")
IDENTIFIERS = {"msd": "client_number", "moh": "nhi", "moe": "nsn", "ird": "ird_number"}
ATTRIBUTES = (
    ("region", []),
    ("service_type", []),
    ("amount", []),
    ("event_date", []),
    ("status", []),
    ("date_of_birth", ["quasi_identifier"]),
    ("postcode", ["quasi_identifier"]),
    ("ethnicity", ["sensitive:ethnicity"]),
    ("full_name", ["direct_identifier"]),
    ("phone", ["direct_identifier"]),
)
MACROS = 500
CONFIG_DEFAULTS: dict[str, Any] = {
    "access": "protected", "alias": None, "batch_size": None, "begin": None, "column_types": {},
    "concurrent_batches": None, "contract": {"alias_types": True, "enforced": False}, "database": None,
    "docs": {"node_color": None, "show": True}, "event_time": None, "freshness": None, "full_refresh": None,
    "grants": {}, "group": None, "incremental_strategy": None, "lookback": 1,
    "on_configuration_change": "apply", "on_schema_change": "ignore", "packages": [], "persist_docs": {},
    "post-hook": [], "pre-hook": [], "quoting": {}, "schema": None, "static_analysis": None,
    "unique_key": None,
}  # fmt: skip


@dataclass(frozen=True)
class Relation:
    unique_id: str
    relation_name: str
    columns: tuple[str, ...]


def source_columns(agency: str, rng: random.Random) -> list[tuple[str, list[str]]]:
    key = IDENTIFIERS.get(agency, f"{agency}_id")
    scheme = {"client_number": "msd_client", "ird_number": "ird"}.get(key, key.removesuffix("_id"))
    picked = rng.sample(ATTRIBUTES, k=7)
    return [(key, [f"unique_identifier:{scheme}"]), ("region", []), *[a for a in picked if a[0] != "region"]]


def source_node(agency: str, table: str, rng: random.Random) -> tuple[dict[str, Any], Relation]:
    uid = f"source.{PROJECT}.raw_{agency}.{table}"
    columns = source_columns(agency, rng)
    relation = f'"{DATABASE}"."raw_{agency}"."{table}"'
    node = {
        "unique_id": uid,
        "resource_type": "source",
        "name": table,
        "source_name": f"raw_{agency}",
        "package_name": PROJECT,
        "fqn": [PROJECT, f"raw_{agency}", table],
        "relation_name": relation,
        "database": DATABASE,
        "schema": f"raw_{agency}",
        "identifier": table,
        "original_file_path": f"models/staging/{agency}/_sources.yml",
        "meta": {"kaitiaki": {"agency": agency}},
        "tags": [],
        "config": {"enabled": True, "meta": {}},
        "columns": {
            name: {"name": name, "data_type": None, "meta": {"kaitiaki": {"categories": cats}}, "tags": []}
            for name, cats in columns
        },
    }
    return node, Relation(uid, relation, tuple(name for name, _ in columns))


def staging_sql(source: Relation, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """Rename and hash the agency key; most end on an explicit list, some on ``select *``."""
    key = source.columns[0]
    keep = [c for c in source.columns[1:] if c not in ("full_name", "phone") or rng.random() < 0.05]
    select = [f"        md5(cast({key} as varchar)) as person_key", *[f"        {c}" for c in keep]]
    final = "*" if rng.random() < 0.3 else ",\n    ".join(["person_key", *keep])
    sql = (
        f"with source as (\n    select * from {source.relation_name}\n),\n\n"
        "renamed as (\n    select\n" + ",\n".join(select) + "\n    from source\n"
        f"    where region is not null\n)\n\nselect\n    {final}\nfrom renamed\n"
    )
    return sql, ("person_key", *keep)


def intermediate_sql(left: Relation, right: Relation, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """A join of two upstream models on the person key, through CTEs; a fifth use ``l.*``."""
    extra = [c for c in right.columns if c not in left.columns][:3]
    picked = ", ".join(["person_key", *extra]) if extra else "person_key"
    right_cols = "".join(f", r.{c}" for c in extra)
    left_cols = "l.*" if rng.random() < 0.2 else ", ".join(f"l.{c}" for c in left.columns)
    where = "where l.region is not null" if "region" in left.columns else "where true"
    sql = (
        f"with l as (\n    select * from {left.relation_name}\n),\n\n"
        f"r as (\n    select {picked}\n    from {right.relation_name}\n)\n\n"
        f"select {left_cols}{right_cols}\nfrom l\nleft join r\n    on l.person_key = r.person_key\n{where}\n"
    )
    return sql, (*left.columns, *extra)


def mart_sql(upstream: Relation, rng: random.Random) -> tuple[str, tuple[str, ...], str]:
    group = "region" if "region" in upstream.columns else upstream.columns[1]
    kind = rng.random()
    if kind < 0.6:
        sql = (
            f"select\n    {group},\n    count(distinct person_key) as people\n"
            f"from {upstream.relation_name}\ngroup by {group}\nhaving count(distinct person_key) >= 6\n"
        )
        return sql, (group, "people"), "internal"
    if kind < 0.8:
        measure = "amount" if "amount" in upstream.columns else "person_key"
        func = "avg" if measure == "amount" else "count"
        sql = (
            f"select\n    {group},\n    {func}({measure}) as value\n"
            f"from {upstream.relation_name}\ngroup by {group}\n"
        )
        return sql, (group, "value"), "external"
    sql = f"select *\nfrom {upstream.relation_name}\nwhere {group} is not null\n"
    return sql, upstream.columns, "internal"


def model_node(
    name: str, folder: str, sql: str, parents: list[str], purpose: str | None, destination: str
) -> dict[str, Any]:
    kaitiaki: dict[str, Any] = {"destination": destination}
    if purpose:
        kaitiaki["purpose"] = purpose
    meta = {"kaitiaki": kaitiaki, "owner": f"{folder}-team"}
    return {
        "unique_id": f"model.{PROJECT}.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": PROJECT,
        "language": "sql",
        "fqn": [PROJECT, folder, name],
        "path": f"{folder}/{name}.sql",
        "original_file_path": f"models/{folder}/{name}.sql",
        "patch_path": f"{PROJECT}://models/{folder}/_{folder}.yml",
        "database": DATABASE,
        "schema": folder,
        "alias": name,
        "relation_name": f'"{DATABASE}"."{folder}"."{name}"',
        "raw_code": sql,
        "compiled_code": sql,
        "compiled": True,
        "checksum": {"name": "sha256", "checksum": hashlib.sha256(sql.encode()).hexdigest()},
        "depends_on": {"macros": [], "nodes": parents},
        "config": {
            **CONFIG_DEFAULTS,
            "enabled": True,
            "materialized": "table",
            "meta": meta,
            "tags": ["retention:P2Y"],
        },
        "meta": meta,
        "tags": ["retention:P2Y"],
        "columns": {},
        "refs": [],
        "sources": [],
    }


def relation_of(node: dict[str, Any], columns: tuple[str, ...]) -> Relation:
    return Relation(node["unique_id"], node["relation_name"], columns)


def first_layer_models(layered: list[Relation], n_intermediate: int) -> list[Relation]:
    """Intermediate models of the first layer (those that read staging only)."""
    return layered[: n_intermediate * 6 // 10]


def generate(models: int, seed: int) -> dict[str, Any]:
    """The manifest dict: sources, ~15 % staging, ~35 % intermediate, the rest marts."""
    rng = random.Random(seed)
    sources: dict[str, Any] = {}
    source_relations: list[Relation] = []
    for agency in AGENCIES:
        for table in SOURCE_TABLES:
            node, relation = source_node(agency, table, rng)
            sources[node["unique_id"]] = node
            source_relations.append(relation)
    nodes: dict[str, Any] = {}
    staging: list[Relation] = []
    layered: list[Relation] = []
    n_staging, n_intermediate = models * 15 // 100, models * 35 // 100
    for index in range(models):
        if index < n_staging:
            source = source_relations[index % len(source_relations)]
            sql, columns = staging_sql(source, rng)
            node = model_node(
                f"stg_{index:04d}", "staging", sql, [source.unique_id], "bench-operations", "internal"
            )
            staging.append(relation_of(node, columns))
        elif index < n_staging + n_intermediate:
            first_layer = index < n_staging + n_intermediate * 6 // 10
            left = rng.choice(staging if first_layer else first_layer_models(layered, n_intermediate))
            right = rng.choice(staging)
            sql, columns = intermediate_sql(left, right, rng)
            purpose = None if rng.random() < 0.03 else "bench-analysis"
            node = model_node(
                f"int_{index:04d}",
                "intermediate",
                sql,
                sorted({left.unique_id, right.unique_id}),
                purpose,
                "internal",
            )
            layered.append(relation_of(node, columns))
        else:
            upstream = rng.choice(layered)
            sql, columns, destination = mart_sql(upstream, rng)
            node = model_node(
                f"mart_{index:04d}", "marts", sql, [upstream.unique_id], "bench-reporting", destination
            )
        nodes[node["unique_id"]] = node
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.11.16",
            "project_name": PROJECT,
            "adapter_type": "duckdb",
            "generated_at": "2026-01-01T00:00:00Z",
            "invocation_id": "00000000-0000-0000-0000-000000000000",
        },
        "nodes": nodes,
        "sources": sources,
        "macros": macros(),
        "parent_map": {uid: node["depends_on"]["nodes"] for uid, node in nodes.items()},
        "child_map": child_map(nodes),
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
    }


def child_map(nodes: dict[str, Any]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {uid: [] for uid in nodes}
    for uid, node in nodes.items():
        for parent in node["depends_on"]["nodes"]:
            children.setdefault(parent, []).append(uid)
    return children


def macros() -> dict[str, Any]:
    """Macro bodies of realistic size: a real manifest spends much of its bytes on them."""
    body = "{% macro m() %}\n" + "  {{ return(adapter.dispatch('m', 'dbt')()) }}\n" * 20 + "{% endmacro %}\n"
    return {
        f"macro.dbt.m_{i}": {"unique_id": f"macro.dbt.m_{i}", "name": f"m_{i}", "macro_sql": body}
        for i in range(MACROS)
    }


CONFIG = """# kaitiaki.yaml for the synthetic benchmark project.
agency: msd
mode: enforce
decision_log: {decision_log}
identifier_issuers: {{nhi: moh, ird: ird, nsn: moe, msd_client: msd}}
purposes:
  bench-operations:
    description: Operate agency services for current clients (staging of agency extracts).
    allowed_categories: [unique_identifier, person_key, direct_identifier, quasi_identifier, sensitive]
    sensitive_approved: [ethnicity]
    approved_by: Data Governance Board
    expires: 2099-12-31
  bench-analysis:
    description: Analyse service use across agencies under pseudonymous keys.
    allowed_categories: [person_key, quasi_identifier, sensitive]
    sensitive_approved: [ethnicity]
    linking_approved: true
    approved_by: Data Governance Board
    expires: 2099-12-31
  bench-reporting:
    description: Report service use by region, aggregate statistics only.
    allowed_categories: [person_key, quasi_identifier, sensitive]
    sensitive_approved: [ethnicity]
    approved_by: Data Governance Board
    expires: 2099-12-31
    sharing_agreement: {{id: DSA-1, identified: false}}
"""


def write(out: Path, models: int, seed: int, *, decision_log: bool = False) -> Path:
    """Write OUT/target/manifest.json and OUT/kaitiaki.yaml; returns the manifest path."""
    target = out / "target"
    target.mkdir(parents=True, exist_ok=True)
    manifest = target / "manifest.json"
    manifest.write_text(json.dumps(generate(models, seed)))
    log = ".kaitiaki/decisions.jsonl" if decision_log else "false"
    (out / "kaitiaki.yaml").write_text(CONFIG.format(decision_log=log))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    path = write(args.out, args.models, args.seed)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {args.models} models)")


if __name__ == "__main__":
    main()
