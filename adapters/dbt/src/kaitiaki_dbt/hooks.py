"""Hooks as nodes of their own: the SQL a pre_hook, post_hook, sql_header, on-run-start or
on-run-end runs.

dbt keeps hooks as Jinja in the manifest and renders them only while it runs (a node's hooks in
that node's context: ``this``, ``ref``, ``var``, ``is_incremental()``…). So that the gate sees
the SQL that will run, kaitiaki renders them while dbt compiles, in the same context dbt's
compiler builds for the node (``render_hooks_while_compiling``): every ``Compiler.compile_node``
call is followed by rendering that node's hooks, and the project hooks once per compile.

With ``--manifest`` (no dbt run) a hook without Jinja is read as it is, and one whose only Jinja
is ``{{ this }}`` is rendered with the node's relation; any other Jinja cannot be rendered
faithfully, and the hook is blocked (SYS-01) with a message saying so.

A data test's ``sql_header`` is a node too: dbt runs it before the CREATE of the failing rows a
test stores (dbt's create-table/view macros read the test's own config), and before the test's
query when its ``REQUIRE_SQL_HEADER_IN_TEST_CONFIGS`` flag is on (routes.py says when it is gated).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kaitiaki_dbt.manifest import DbtProject, Node, parents
from kaitiaki_dbt.rendering import RENDER_WRITE, render_error

HOOK_KEYS = ("pre-hook", "post-hook")
# A node's ``sql_header`` config: SQL dbt's materializations put before the node's own statement
# (create table / view / merge), as it is (dbt does not render it again). It runs like a pre-hook.
SQL_HEADER = "sql-header"
# The nodes whose ``sql_header`` dbt runs: a data test's too (before the CREATE of the failing
# rows it stores, and before its query under the flag below). Not a unit test's: dbt-core 1.10
# and 1.11 build the node they run for a unit test without the unit test's config.
HEADER_OWNERS = ("model", "seed", "snapshot", "test")
# The name of the flag dbt's test materialization reads (``flags.<this>``) before it puts a test's
# ``sql_header`` before the test's query.
TEST_HEADER_FLAG = "REQUIRE_SQL_HEADER_IN_TEST_CONFIGS"
RUN_RESULTS_NAME = re.compile(r"\bresults\b")
ONLY_THIS = re.compile(r"\{\{-?\s*this\s*-?\}\}")
RESULTS_ERROR = (
    "the hook reads `results`, which exist only after the run, so its SQL cannot be known "
    "beforehand (if governance allows the macro it calls, name it in kaitiaki.yaml dbt.operations)"
)


@dataclass(frozen=True)
class Rendered:
    """One hook's SQL as dbt would run it, or why it could not be rendered."""

    sql: str | None
    error: str | None = None


@dataclass
class RenderedHooks:
    """What was rendered during one compile: node hooks by (owner, key, index), project hooks by id."""

    nodes: dict[tuple[str, str, int], Rendered] = field(default_factory=dict)
    project: dict[str, Rendered] = field(default_factory=dict)
    writes: dict[str, str] = field(default_factory=dict)  # node → SQL that writes, run while rendering


def hook_sqls(node: Node) -> list[tuple[str, int, str]]:
    """``(key, index, raw sql)`` of a manifest node's pre- and post-hooks."""
    config = node.get("config") or {}
    out: list[tuple[str, int, str]] = []
    for key in HOOK_KEYS:
        for index, hook in enumerate(config.get(key) or ()):
            sql = hook.get("sql") if isinstance(hook, Mapping) else hook
            out.append((key, index, str(sql or "")))
    return out


def hook_id(owner: str, key: str, index: int) -> str:
    """``model.pkg.name#post-hook.0``: the hook's unique id (job ``dbt:`` + this)."""
    return f"{owner}#{key}.{index}"


def static_render(raw: str, relation: str | None) -> Rendered:
    """A hook rendered without dbt: plain SQL, or SQL whose only Jinja is ``{{ this }}``."""
    if "{{" not in raw and "{%" not in raw and "{#" not in raw:
        return Rendered(raw)
    replaced = ONLY_THIS.sub(relation or "", raw) if relation else raw
    if "{{" not in replaced and "{%" not in replaced and "{#" not in replaced:
        return Rendered(replaced)
    return Rendered(
        None,
        "the hook is Jinja that only dbt can render: `kaitiaki dbt` renders it while dbt compiles, "
        "a manifest alone (--manifest, an Airflow cosmos task) cannot (drop --manifest; if the hook "
        "only calls a macro governance allows, name it in kaitiaki.yaml dbt.operations)",
    )


def hook_nodes(
    project: DbtProject, rendered: RenderedHooks | None, operations: tuple[str, ...] = ()
) -> dict[str, Node]:
    """Every node hook and project hook as a node of the graph, with the SQL it will run."""
    out: dict[str, Node] = {}
    for uid, node in project.nodes.items():
        kind = node.get("resource_type")
        if kind == "operation":
            sql = rendered.project.get(uid) if rendered is not None else None
            out[uid] = {**node, **rendered_fields(sql or project_hook_static(node, operations))}
        elif kind in ("model", "seed", "snapshot"):
            for key, index, raw in hook_sqls(node):
                sql = rendered.nodes.get((uid, key, index)) if rendered is not None else None
                render = sql or static_render(raw, node.get("relation_name"))
                out[hook_id(uid, key, index)] = node_hook(node, key, index, raw, render)
            if rendered is not None and uid in rendered.writes:
                written = rendered.writes[uid]
                refused = Rendered(None, render_error(written))
                out[hook_id(uid, RENDER_WRITE, 0)] = node_hook(node, RENDER_WRITE, 0, written, refused)
        if kind in HEADER_OWNERS:
            out.update(header_node(node))
    return out


def header_node(owner: Node) -> dict[str, Node]:
    """The owner's ``sql_header`` as a node of its own (none without one)."""
    header = (owner.get("config") or {}).get("sql_header")
    if not header:
        return {}
    uid = hook_id(str(owner["unique_id"]), SQL_HEADER, 0)
    return {uid: node_hook(owner, SQL_HEADER, 0, str(header), Rendered(str(header)))}


def dbt_runs_test_headers() -> bool:
    """Whether dbt's test materialization puts a test's ``sql_header`` before the test's query:
    the flag as its Jinja ``flags`` holds it (``dbt.flags.get_flag_obj``, set by the dbt that
    parsed the project in this process). dbt-core 1.10 and 1.11 do not carry it there (false); a
    dbt without that function cannot say, so true: the headers are decided."""
    try:
        from dbt.flags import get_flag_obj
    except ImportError:
        return True
    return bool(getattr(get_flag_obj(), TEST_HEADER_FLAG, None))  # type: ignore[no-untyped-call]


def project_hook_static(node: Node, operations: tuple[str, ...]) -> Rendered:
    """A project hook read from the manifest alone (no dbt run)."""
    raw = str(node.get("raw_code") or "")
    if allowlisted_call(raw, operations):
        return Rendered("")
    if RUN_RESULTS_NAME.search(raw):
        return Rendered(None, RESULTS_ERROR)
    return static_render(raw, None)


def rendered_fields(render: Rendered) -> dict[str, Any]:
    return {"compiled_code": render.sql, "render_error": render.error}


def node_hook(owner: Node, key: str, index: int, raw: str, render: Rendered) -> Node:
    """A pre/post hook as a node: read as its owner (purpose, destination, path), after it."""
    uid = str(owner["unique_id"])
    return {
        "unique_id": hook_id(uid, key, index),
        "resource_type": "hook",
        "name": f"{owner.get('name')} {key} {index}",
        "attached_node": uid,
        "package_name": owner.get("package_name"),
        "original_file_path": owner.get("original_file_path"),
        "patch_path": owner.get("patch_path"),
        "language": "sql",
        "raw_code": raw,
        "config": {"meta": (owner.get("config") or {}).get("meta") or {}},
        "meta": owner.get("meta") or {},
        "tags": list(owner.get("tags") or ()),
        "fqn": list(owner.get("fqn") or ()),
        "depends_on": {"nodes": [uid, *parents(owner)]},
        **rendered_fields(render),
    }


def schemas_of(manifest: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """``schemas`` and ``database_schemas`` for on-run-end: every relational node's (a superset of
    what dbt passes after a run, so a loop over them renders every statement it could run)."""
    pairs = sorted(
        {
            (str(n.database), str(n.schema))
            for n in manifest.nodes.values()
            if n.resource_type in ("model", "seed", "snapshot")
        }
    )
    return sorted({schema for _, schema in pairs}), pairs


@contextlib.contextmanager
def render_hooks_while_compiling(
    store: RenderedHooks,
    operations: tuple[str, ...] = (),
    on_compiled: Callable[[Any], None] | None = None,
) -> Iterator[None]:
    """Render each compiled node's hooks (and the project hooks, once) in dbt's own context;
    ``on_compiled`` is told of each node as soon as dbt has compiled it (overlap.py)."""
    from dbt.clients import jinja
    from dbt.compilation import Compiler

    original = Compiler.compile_node
    lock = threading.Lock()
    project_done: list[bool] = []

    def render(sql: str, context: dict[str, Any], node: Any) -> Rendered:
        try:
            return Rendered(str(jinja.get_rendered(sql, context, node)))
        except Exception as exc:  # dbt's Jinja errors name the problem; the hook is blocked
            return Rendered(None, f"dbt could not render the hook: {first_line(exc)}")

    def render_project_hooks(compiler: Any, manifest: Any) -> None:
        schemas, database_schemas = schemas_of(manifest)
        extra = {"schemas": schemas, "database_schemas": database_schemas, "results": []}
        for uid, node in manifest.nodes.items():
            if node.resource_type != "operation":
                continue
            if allowlisted_call(node.raw_code or "", operations):
                store.project[uid] = Rendered("")
                continue
            if RUN_RESULTS_NAME.search(node.raw_code or ""):
                store.project[uid] = Rendered(None, RESULTS_ERROR)
                continue
            context = compiler._create_node_context(node, manifest, extra)
            store.project[uid] = render(node.raw_code or "", context, node)

    def compile_node(self: Any, node: Any, manifest: Any, *args: Any, **kwargs: Any) -> Any:
        compiled = original(self, node, manifest, *args, **kwargs)
        if on_compiled is not None:
            on_compiled(compiled)
        hooks = [
            (key, index, hook.sql)
            for key, attribute in (("pre-hook", "pre_hook"), ("post-hook", "post_hook"))
            for index, hook in enumerate(getattr(compiled.config, attribute, None) or ())
        ]
        if hooks:
            context = self._create_node_context(compiled, manifest, {})
            results = {
                (compiled.unique_id, key, index): render(sql, context, compiled) for key, index, sql in hooks
            }
            with lock:
                store.nodes.update(results)
        with lock:
            first = not project_done
            project_done.append(True)
        if first:
            render_project_hooks(self, manifest)
        return compiled

    Compiler.compile_node = compile_node  # type: ignore[method-assign]
    try:
        yield
    finally:
        Compiler.compile_node = original  # type: ignore[method-assign]


def allowlisted_call(raw: str, names: tuple[str, ...]) -> bool:
    """The hook is exactly one call of an allowlisted macro: ``{{ pkg.name(...) }}``."""
    match = re.fullmatch(r"\s*\{\{-?\s*([\w.]+)\s*\(.*\)\s*-?\}\}\s*", raw, re.DOTALL)
    if match is None:
        return False
    called = match.group(1)
    return called in names or called.rsplit(".", 1)[-1] in names


def first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]
