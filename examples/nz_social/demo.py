"""The dbt part of `make demo`: build the nz_social platform through kaitiaki, then look in DuckDB.

1. `kaitiaki dbt build` from a clean state: seeds load, every model is decided first, and the
   denied ones (with everything downstream of them) are excluded from dbt's run. Their
   explanations are printed on stderr as dbt would print a compiler error.
2. `kaitiaki dbt check --manifest` reads the manifest the build left behind (no dbt, cached).
3. DuckDB is opened afterwards: each allowed model exists, each blocked model and each model
   downstream of one does not. Any mismatch ends the demo with a non-zero status.

Everything runs locally: dbt-duckdb on an embedded DuckDB file, the embedded Rego engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATABASE = HERE / "nz_social.duckdb"
MANIFEST = HERE / "target" / "manifest.json"


def kaitiaki(*args: str, expect: tuple[int, ...], capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run one real `kaitiaki` command in the example folder, its output shown as it comes."""
    exe = shutil.which("kaitiaki", path=str(Path(sys.executable).parent)) or "kaitiaki"
    print(f"\n$ kaitiaki {' '.join(args)}", flush=True)
    env = {**os.environ, "NZ_SOCIAL_DUCKDB": str(DATABASE)}
    process = subprocess.run(
        [exe, *args], cwd=HERE, env=env, check=False, text=True, stdout=subprocess.PIPE if capture else None
    )
    print(f"[exit {process.returncode}]", flush=True)
    if process.returncode not in expect:
        sys.exit(f"demo: `kaitiaki {' '.join(args)}` exited {process.returncode}, expected one of {expect}")
    return process


def relations_in_database() -> set[str]:
    """``schema.name`` of every table and view in the DuckDB file (opened after dbt finished)."""
    import duckdb

    connection = duckdb.connect(str(DATABASE), read_only=True)
    try:
        rows = connection.execute("select table_schema, table_name from information_schema.tables").fetchall()
    finally:
        connection.close()
    return {f"{schema}.{name}" for schema, name in rows}


def downstream_of(blocked: set[str], nodes: dict[str, Any]) -> set[str]:
    """Every model that depends, directly or not, on a blocked model."""
    found: set[str] = set()
    frontier = set(blocked)
    while frontier:
        children = {uid for uid, n in nodes.items() if set(n["depends_on"]["nodes"]) & frontier} - found
        found |= children
        frontier = children
    return found - blocked


def compare(decisions: dict[str, Any], manifest: dict[str, Any], present: set[str]) -> list[str]:
    """One line per model (built or not, and why); problems are returned for the exit status."""
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    blocked = {job["job"]["meta"]["unique_id"] for job in decisions["jobs"] if not job["decision"]["allow"]}
    downstream = downstream_of(blocked, nodes)
    problems = []
    print(f"\n{'model':<36} {'in DuckDB':<10} why")
    for uid in sorted(nodes, key=lambda u: (nodes[u]["schema"], nodes[u]["name"])):
        node = nodes[uid]
        relation = f"{node['schema']}.{node['alias']}"
        exists = relation in present
        if uid in blocked:
            why, expected = "blocked by policy", False
        elif uid in downstream:
            why, expected = "downstream of a blocked model", False
        else:
            why, expected = "allowed", True
        print(f"{relation:<36} {'yes' if exists else 'no':<10} {why}")
        if exists != expected:
            problems.append(f"{relation}: {'exists' if exists else 'missing'} but it was {why}")
    return problems


def main() -> None:
    print("== dbt: the nz_social platform, built through kaitiaki ==")
    for stale in (DATABASE, DATABASE.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    kaitiaki("dbt", "build", "--project-dir", ".", "--profiles-dir", ".", expect=(1,))
    print("\n== The same decisions from the manifest alone (no dbt, no warehouse; cached) ==")
    checked = kaitiaki(
        "dbt", "check", "--manifest", "target/manifest.json", "--format", "json", expect=(1,), capture=True
    )
    decisions = json.loads(checked.stdout)
    allowed = sum(job["decision"]["allow"] for job in decisions["jobs"])
    print(f"{allowed} of {len(decisions['jobs'])} nodes allowed (models and the seeds they read)")
    print("\n== What DuckDB holds after the build ==")
    problems = compare(decisions, json.loads(MANIFEST.read_text()), relations_in_database())
    if problems:
        sys.exit("demo: the database does not match the decisions:\n  " + "\n  ".join(problems))
    print("\nEvery allowed model was built; no blocked model, and nothing downstream of one, exists.")


if __name__ == "__main__":
    main()
