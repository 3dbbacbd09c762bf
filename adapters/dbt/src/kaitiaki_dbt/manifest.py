"""Reading dbt's manifest.json (v12) and catalog.json as plain data, and walking the model graph.

The manifest is kept as the plain dict dbt wrote: a 2,000-model project is read in well under a
second this way, and the same functions serve a manifest read from disk and one built in-process
by dbtRunner (``Manifest.writable_manifest().to_dict()``), so what is checked is the same either
way. Anything unreadable is an input error naming the file (exit 2), never a partial check.
"""

from __future__ import annotations

import gc
import heapq
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kaitiaki.errors import KaitiakiError

Node = Mapping[str, Any]
RELATION_TYPES = ("model", "seed", "snapshot")
# Nodes that can move data when dbt runs them: what the gate decides (and their graph).
GRAPH_TYPES = ("model", "seed", "snapshot", "test", "operation", "unit_test")


@dataclass(frozen=True)
class DbtProject:
    """One compiled dbt project: the manifest, catalog.json when there is one, and where they are."""

    manifest: Mapping[str, Any]
    path: Path | None
    catalog: Mapping[str, Any] | None = None
    extra: Mapping[str, Node] = field(default_factory=dict)  # hooks, as nodes of their own (hooks.py)

    @property
    def name(self) -> str:
        return str(self.manifest.get("metadata", {}).get("project_name") or "")

    @property
    def adapter_type(self) -> str | None:
        value = self.manifest.get("metadata", {}).get("adapter_type")
        return str(value) if value else None

    @property
    def nodes(self) -> Mapping[str, Node]:
        nodes: Mapping[str, Node] = self.manifest.get("nodes") or {}
        return nodes

    @property
    def sources(self) -> Mapping[str, Node]:
        sources: Mapping[str, Node] = self.manifest.get("sources") or {}
        return sources

    @property
    def unit_tests(self) -> Mapping[str, Node]:
        """dbt unit tests (dbt-core >= 1.8 keeps them beside ``nodes``, not in it)."""
        unit_tests: Mapping[str, Node] = self.manifest.get("unit_tests") or {}
        return unit_tests

    def models(self) -> dict[str, Node]:
        """Enabled models by unique id."""
        return {uid: node for uid, node in self.nodes.items() if node.get("resource_type") == "model"}

    def graph(self) -> dict[str, Node]:
        """Every enabled node that may move data when dbt runs it, hooks included, by unique id."""
        graph = {uid: node for uid, node in self.nodes.items() if node.get("resource_type") in GRAPH_TYPES}
        graph.update(self.unit_tests)
        graph.update(self.extra)
        return graph

    def node(self, unique_id: str) -> Node | None:
        return (
            self.extra.get(unique_id)
            or self.nodes.get(unique_id)
            or self.unit_tests.get(unique_id)
            or self.sources.get(unique_id)
        )


def load_static_json(raw: bytes) -> Any:
    """``json.loads`` for data kept for the whole run (a manifest, the verdict cache).

    A large manifest is millions of objects: the garbage collector is paused while they are
    built (JSON has no cycles to collect) and they are frozen out of later collections, which
    would otherwise scan them again and again while models are checked.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(raw)
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()


def read_json(path: Path, what: str) -> Any:
    """A JSON file's content; a missing or corrupt file is a KaitiakiError naming it."""
    if not path.is_file():
        raise KaitiakiError(
            f"{what} not found.",
            path=str(path),
            hint="run `dbt compile` (or `dbt parse`) first, or check the path.",
        )
    try:
        raw = path.read_bytes()
        return load_static_json(raw)
    except UnicodeDecodeError as exc:
        raise KaitiakiError(
            f"{what} is not UTF-8 (byte {raw[exc.start]:#04x}).",
            path=str(path),
            line=raw.count(b"\n", 0, exc.start) + 1,
            hint="regenerate it with `dbt compile`.",
        ) from None
    except json.JSONDecodeError as exc:
        raise KaitiakiError(
            f"{what} is not valid JSON ({exc.msg}, column {exc.colno}).",
            path=str(path),
            line=exc.lineno,
            hint="regenerate it with `dbt compile`.",
        ) from None
    except RecursionError:
        raise KaitiakiError(
            f"{what} nests its JSON too deeply to be a dbt artefact.",
            path=str(path),
            hint="regenerate it with `dbt compile`.",
        ) from None
    except OSError as exc:
        raise KaitiakiError(f"{what} cannot be read: {exc.strerror or exc}.", path=str(path)) from None


def load_manifest(path: Path) -> DbtProject:
    """manifest.json (and catalog.json beside it, when present) → DbtProject."""
    data = read_json(path, "dbt manifest")
    check_manifest_shape(data, str(path))
    catalog_path = path.with_name("catalog.json")
    catalog = read_json(catalog_path, "dbt catalog") if catalog_path.is_file() else None
    if catalog is not None and not isinstance(
        catalog.get("nodes") if isinstance(catalog, dict) else None, dict
    ):
        raise KaitiakiError(
            "catalog.json has no 'nodes' object.",
            path=str(catalog_path),
            hint="regenerate it with `dbt docs generate`.",
        )
    return DbtProject(manifest=data, path=path, catalog=catalog)


def check_manifest_shape(data: Any, where: str) -> None:
    """The parts of manifest v12 kaitiaki reads must be there with the right types: a corrupt
    manifest is refused as a whole (exit 2), never read in part."""
    if not isinstance(data, dict):
        raise KaitiakiError("not a dbt manifest: the top level is not an object.", path=where)
    for key in ("metadata", "nodes"):
        if not isinstance(data.get(key), dict):
            raise KaitiakiError(
                f"not a dbt manifest: no {key!r} object.",
                path=where,
                hint="pass target/manifest.json written by dbt-core (manifest v12).",
            )
    for key in ("sources", "unit_tests"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise KaitiakiError(f"not a dbt manifest: {key!r} is not an object.", path=where)
    sections = (data["nodes"], data.get("sources") or {}, data.get("unit_tests") or {})
    for uid, node in (item for section in sections for item in section.items()):
        problem = node_problem(uid, node)
        if problem is not None:
            raise KaitiakiError(
                f"malformed manifest node {uid!r}: {problem}.",
                path=where,
                hint="regenerate the manifest with `dbt compile`.",
            )


NODE_FIELD_TYPES: dict[str, type] = {
    "name": str,
    "relation_name": str,
    "original_file_path": str,
    "patch_path": str,
    "root_path": str,
    "language": str,
    "package_name": str,
    "config": dict,
    "meta": dict,
    "columns": dict,
    "depends_on": dict,
    "tags": list,
    "fqn": list,
    "given": list,  # a unit test's fixtures
    "expect": dict,  # a unit test's expected rows
}
TYPE_NAMES: dict[type, str] = {str: "text", dict: "an object", list: "a list"}


def node_problem(uid: str, node: Any) -> str | None:
    """What is wrong with one node for kaitiaki's reading of it, or None."""
    if not isinstance(node, dict) or not isinstance(node.get("resource_type"), str):
        return "it is not an object with a resource_type"
    if node.get("unique_id") != uid:
        return f"its unique_id is {node.get('unique_id')!r}"
    for name, expected in NODE_FIELD_TYPES.items():
        value = node.get(name)
        if value is not None and not isinstance(value, expected):
            return f"{name} is {type(value).__name__}, not {TYPE_NAMES[expected]}"
    depends = (node.get("depends_on") or {}).get("nodes")
    if depends is not None and not (isinstance(depends, list) and all(isinstance(d, str) for d in depends)):
        return "depends_on.nodes is not a list of ids"
    if not isinstance((node.get("config") or {}).get("meta") or {}, dict):
        return "config.meta is not an object"
    for name, column in (node.get("columns") or {}).items():
        if not isinstance(column, dict) or any(
            not isinstance(column.get(key) or {}, dict) for key in ("meta", "config")
        ):
            return f"column {name!r} is not an object with object meta and config"
    return None


def parents(node: Node) -> tuple[str, ...]:
    """The unique ids a node depends on (models, seeds, sources, snapshots)."""
    depends_on = node.get("depends_on") or {}
    return tuple(depends_on.get("nodes") or ())


def properties_file(node: Node) -> str:
    """The file a user edits to fix a model's meta: its properties YAML, else its SQL file."""
    patch = node.get("patch_path")
    if isinstance(patch, str) and "://" in patch:
        return patch.split("://", 1)[1]
    return str(patch or node.get("original_file_path") or node.get("unique_id"))


def reached_macros(
    macros: Mapping[str, Any],
    nodes: Iterable[Mapping[str, Any]],
    *,
    skip: Callable[[str, Mapping[str, Any]], bool] = lambda uid, macro: False,
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each macro the nodes call and the macros those call (dbt lists only a node's or a macro's
    direct calls in its ``depends_on``), once, by unique id; a macro ``skip`` names is neither
    given nor followed."""
    pending = [str(m) for node in nodes for m in (node.get("depends_on") or {}).get("macros") or ()]
    seen: set[str] = set()
    while pending:
        uid = pending.pop()
        macro = macros.get(uid)
        if uid in seen or not isinstance(macro, Mapping):
            continue
        seen.add(uid)
        if skip(uid, macro):
            continue
        yield uid, macro
        pending.extend(str(m) for m in (macro.get("depends_on") or {}).get("macros") or ())


def ancestors(project: DbtProject, unique_ids: Iterable[str]) -> set[str]:
    """Every graph node upstream of ``unique_ids`` (not including them)."""
    graph = project.graph()
    seen: set[str] = set()
    stack = [p for uid in unique_ids for p in parents(graph[uid])]
    while stack:
        uid = stack.pop()
        if uid in seen or uid not in graph:
            continue
        seen.add(uid)
        stack.extend(parents(graph[uid]))
    return seen


def descendants(project: DbtProject, unique_ids: Iterable[str]) -> set[str]:
    """Every graph node downstream of ``unique_ids`` (not including them), from depends_on."""
    children: dict[str, list[str]] = {}
    for uid, node in project.graph().items():
        for parent in parents(node):
            children.setdefault(parent, []).append(uid)
    seen: set[str] = set()
    stack = [c for uid in unique_ids for c in children.get(uid, ())]
    while stack:
        uid = stack.pop()
        if uid not in seen:
            seen.add(uid)
            stack.extend(children.get(uid, ()))
    return seen


def topological_order(project: DbtProject, unique_ids: Iterable[str]) -> list[str]:
    """``unique_ids`` with every node after the nodes it depends on; ties by id, so stable."""
    wanted = set(unique_ids)
    graph = project.graph()
    pending = {uid: {p for p in parents(graph[uid]) if p in wanted} for uid in wanted}
    dependants: dict[str, list[str]] = {}
    for uid, deps in pending.items():
        for dep in deps:
            dependants.setdefault(dep, []).append(uid)
    ready = [uid for uid, deps in pending.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        uid = heapq.heappop(ready)
        order.append(uid)
        for child in dependants.get(uid, ()):
            pending[child].discard(uid)
            if not pending[child]:
                heapq.heappush(ready, child)
    if len(order) != len(wanted):
        cycle = sorted(wanted - set(order))
        raise KaitiakiError(f"the nodes {', '.join(cycle[:5])} depend on each other in a cycle.")
    return order
