"""Fuzzing ``kaitiaki dbt check --manifest`` with mutated real manifests.

The manifest is the one real dbt-core (dbt-duckdb) compiles for a tiny project (a model that is
allowed, one that reads an identifying column, one with ``select *`` over a table kaitiaki does
not know). Each example mutates it — a node's compiled SQL, language, resource type,
dependencies (cycles included), meta, columns, names; the metadata; whole nodes added or
dropped — or damages the file itself (truncated, bytes flipped, not UTF-8, nested thousands
deep). Whatever the input, the outcome is contained; when models are decided, every model in
the manifest is decided (none skipped), and a model without analysable SQL is never allowed.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.e2e.cli_runner import run_cli
from tests.fuzz.sql_strategies import noise
from tests.fuzz.support import assert_contained, decision_document, kaitiaki, profile
from tests.fuzz.workspace import fuzz_config, write_workspace
from tests.reliability.entry_points import dbt_database, write_dbt_project
from tests.reliability.faults import Failure

pytestmark = [pytest.mark.fuzz, pytest.mark.dbt]

MODELS = (
    Failure("control", "allowed", "", ()),
    Failure("identifying", "reads full_name", "", (), sql="select full_name\nfrom {clients}"),
    Failure("star_unknown", "star over an unknown table", "", (), sql="select *\nfrom {spine}"),
)
KEPT = ("metadata", "nodes", "sources", "parent_map", "child_map")  # what kaitiaki reads; no macros
NODE_FIELDS = (
    "compiled_code",
    "language",
    "resource_type",
    "depends_on",
    "config",
    "meta",
    "columns",
    "relation_name",
    "unique_id",
    "name",
    "original_file_path",
    "fqn",
    "tags",
    "patch_path",
    "package_name",
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=16)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@dataclass(frozen=True)
class ManifestCase:
    data: bytes
    manifest: dict[str, Any] | None  # the mutated document, when the file is still that JSON


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The manifest real dbt compiles for the tiny project (once per module)."""
    root = tmp_path_factory.mktemp("fuzz-manifest-project")
    project = write_dbt_project(root / "project", list(MODELS))
    args = ["dbt", "check", "--project-dir", str(project), "--profiles-dir", str(project), "--no-cache"]
    with dbt_database(root / "warehouse.duckdb"):
        result = run_cli(args, cwd=root)
    assert result.exit_code in (0, 1), result.stderr[-3000:]
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return {key: manifest[key] for key in KEPT}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("fuzz-manifest")
    write_workspace(folder, fuzz_config())
    (folder / "target").mkdir()
    before = os.environ.get("KAITIAKI_WORKERS")
    os.environ["KAITIAKI_WORKERS"] = "1"
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("KAITIAKI_WORKERS", None)
        else:
            os.environ["KAITIAKI_WORKERS"] = before


def model_ids(manifest: dict[str, Any]) -> list[str]:
    return sorted(uid for uid, node in manifest["nodes"].items() if node.get("resource_type") == "model")


@st.composite
def node_value(draw: st.DrawFn, field: str, ids: list[str]) -> Any:
    """A replacement for one field of a node: plausible values for the field, or any JSON."""
    plausible: dict[str, st.SearchStrategy[Any]] = {
        "compiled_code": st.one_of(noise(), st.none(), st.just("")),
        "language": st.sampled_from(("sql", "python", "SQL", None, 3)),
        "resource_type": st.sampled_from(("model", "seed", "snapshot", "test", None, 1)),
        "depends_on": st.one_of(
            st.builds(lambda nodes: {"nodes": nodes}, st.lists(st.sampled_from([*ids, "model.x.missing"]))),
            st.just({}),
            st.just({"nodes": None}),
        ),
        "meta": st.one_of(
            st.just({"kaitiaki": {"purpose": "unregistered"}}),
            st.just({"kaitiaki": {"destination": {"kind": "public", "region": "offshore"}}}),
            st.just({"kaitiaki": {"dialect": "klingon"}}),
            st.just({"kaitiaki": "not a mapping"}),
            st.just({"kaitiaki": {"categories": ["direct_identifier"]}}),
            st.just({"pii": True}),
        ),
        "columns": st.one_of(
            st.just({}),
            st.just(
                {
                    "full_name": {
                        "name": "full_name",
                        "meta": {"kaitiaki": {"categories": ["direct_identifier"]}},
                    }
                }
            ),
            st.just({"region": {"name": "region", "meta": {}, "tags": ["pii"]}}),
        ),
        "config": st.builds(
            lambda meta: {"materialized": "table", "meta": meta},
            st.dictionaries(st.text(max_size=6), JSON_SCALARS, max_size=2),
        ),
        "tags": st.lists(st.text(max_size=10), max_size=3),
        "fqn": st.lists(st.text(max_size=10), max_size=3),
        "relation_name": st.one_of(st.text(max_size=30), st.just('"warehouse"."msd"."clients"')),
    }
    if field in plausible and draw(st.integers(0, 3)) > 0:
        return draw(plausible[field])
    return draw(JSON_VALUES)


@st.composite
def mutated_document(draw: st.DrawFn, compiled: dict[str, Any]) -> dict[str, Any]:
    manifest = copy.deepcopy(compiled)
    ids = model_ids(manifest)
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(("node", "node", "node", "add", "drop", "metadata", "sources")))
        if target == "node" and manifest["nodes"]:
            uid = draw(st.sampled_from(sorted(manifest["nodes"])))
            field = draw(st.sampled_from(NODE_FIELDS))
            if draw(st.integers(0, 5)) == 0:
                manifest["nodes"][uid].pop(field, None)
            else:
                manifest["nodes"][uid][field] = draw(node_value(field, ids))
        elif target == "add" and manifest["nodes"]:
            uid = draw(st.sampled_from(sorted(manifest["nodes"])))
            manifest["nodes"][f"{uid}_copy{draw(st.integers(0, 9))}"] = copy.deepcopy(manifest["nodes"][uid])
        elif target == "drop" and manifest["nodes"]:
            manifest["nodes"].pop(draw(st.sampled_from(sorted(manifest["nodes"]))))
        elif target == "metadata":
            manifest["metadata"] = draw(
                st.one_of(JSON_VALUES, st.builds(lambda a: {"adapter_type": a}, JSON_SCALARS))
            )
        else:
            manifest["sources"] = draw(JSON_VALUES)
    return manifest


@st.composite
def manifest_cases(draw: st.DrawFn, compiled: dict[str, Any]) -> ManifestCase:
    damage = draw(st.sampled_from(("none",) * 8 + ("truncate", "flip", "latin1", "nest", "empty")))
    if damage == "nest":
        depth = draw(st.integers(100, 200_000))
        return ManifestCase(b'{"nodes": ' + b"[" * depth + b"]" * depth + b"}", None)
    if damage == "empty":
        return ManifestCase(b"", None)
    manifest = draw(mutated_document(compiled))
    data = json.dumps(manifest).encode()
    if damage == "truncate":
        return ManifestCase(data[: draw(st.integers(0, len(data) - 1))], None)
    if damage == "flip":
        at = draw(st.integers(0, len(data) - 1))
        return still_json(data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :])
    if damage == "latin1":
        return ManifestCase(json.dumps(manifest, ensure_ascii=False).encode() + "é".encode("latin-1"), None)
    return ManifestCase(data, manifest)


def still_json(data: bytes) -> ManifestCase:
    """Damaged bytes may still be a JSON object (a flipped letter in a key): then it is a manifest."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return ManifestCase(data, None)
    return ManifestCase(data, document if isinstance(document, dict) else None)


def error_kind(stderr: str) -> str:
    """The gist of an error, without file names, ids or numbers (for the campaign's statistics)."""
    message = stderr.split(": error: ", 1)[-1]
    message = re.sub(r"^\S+: ", "", message)
    return re.sub(r"'[^']*'|\d+", "…", message)[:60]


def unreadable(node: dict[str, Any]) -> bool:
    """A model kaitiaki cannot analyse: no compiled SQL text, or not a SQL model."""
    sql = node.get("compiled_code", node.get("compiled_sql"))
    return not isinstance(sql, str) or node.get("language", "sql") != "sql"


@profile()
@given(data=st.data())
def test_a_damaged_manifest_is_refused_or_every_model_is_decided(
    folder: Path, compiled: dict[str, Any], data: st.DataObject
) -> None:
    case = data.draw(manifest_cases(compiled))
    manifest_path = folder / "target" / "manifest.json"
    manifest_path.write_bytes(case.data)
    result = kaitiaki(
        ["dbt", "check", "--manifest", str(manifest_path), "--no-cache", "--format", "json"], folder
    )
    assert_contained(result)
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        event(f"refused: {error_kind(result.stderr)}")
        return
    assert case.manifest is not None, f"a damaged manifest file was used: {case.data[:300]!r}"
    document = decision_document(result)
    nodes = case.manifest["nodes"]
    models = [node for node in nodes.values() if node.get("resource_type") == "model"]
    decided = [job["job"]["id"].removeprefix("dbt:") for job in document["jobs"]]
    owners = {uid.partition("#")[0] for uid in decided}
    assert owners <= set(nodes), f"decided nodes the manifest does not hold: {sorted(owners - set(nodes))}"
    assert set(model_ids(case.manifest)) <= set(decided), f"models left undecided: {decided}"
    if any(unreadable(node) for node in models):
        assert result.exit_code == 1, "a model without analysable SQL was allowed"
