"""Which dbt nodes move data, for each dbt command, and so which ones the gate decides.

A dbt invocation writes to the warehouse through more than models: snapshots, seeds, tests that
store their failing rows, the pre/post hooks and ``sql_header`` of models, seeds and snapshots, a
data test's ``sql_header``, the project's ``on-run-start``/``on-run-end`` hooks, ``run-operation``
macros and ``clone``. Each command
runs its own subset; this module names it, so the check of a command covers exactly what that
command can write. (docs/dbt.md has the table of routes.)
"""

from __future__ import annotations

from collections.abc import Mapping

from kaitiaki_dbt.manifest import DbtProject, Node

# dbt commands kaitiaki gates → the resource types that command runs.
COMMAND_TYPES: dict[str, tuple[str, ...]] = {
    "check": ("model", "seed", "snapshot", "test", "unit_test"),
    "build": ("model", "seed", "snapshot", "test", "unit_test"),
    "run": ("model",),
    "seed": ("seed",),
    "snapshot": ("snapshot",),
    "test": ("test", "unit_test"),
    "clone": ("model", "seed", "snapshot"),
    "source": (),
}
# Commands whose dbt task runs the project's on-run-start / on-run-end hooks (RunTask and its
# subclasses, ``source freshness`` included). ``clone`` and ``run-operation`` do not run them.
PROJECT_HOOK_COMMANDS = frozenset({"check", "build", "run", "seed", "snapshot", "test", "source"})
# Commands that run node hooks (pre_hook / post_hook) of what they run.
NODE_HOOK_COMMANDS = frozenset({"check", "build", "run", "seed", "snapshot"})
STORE_FAILURES_FLAG = "--store-failures"
# dbt reads ``--store-failures`` from this environment variable too; click's words for false.
STORE_FAILURES_ENV = "DBT_STORE_FAILURES"
FALSE_WORDS = frozenset({"", "0", "false", "f", "no", "n", "off"})


def env_stores_failures(value: object) -> bool:
    """``DBT_STORE_FAILURES`` set to anything dbt may read as true (unset or a false word: no)."""
    return value is not None and str(value).strip().lower() not in FALSE_WORDS


def stores_failures(node: Node, flag: bool) -> bool:
    """Whether dbt writes a test's failing rows to a table or view when it runs.

    ``store_failures_as`` wins (``table``/``view`` store, ``ephemeral`` does not); else the
    test's ``store_failures`` config, else the ``--store-failures`` flag of the command.
    """
    config = node.get("config") or {}
    store_as = config.get("store_failures_as")
    if store_as in ("table", "view"):
        return True
    if store_as == "ephemeral":
        return False
    configured = config.get("store_failures")
    return bool(configured) if configured is not None else flag


def moves_data(node: Node, *, store_failures_flag: bool) -> bool:
    """A node of the graph that writes when it runs (a test only when it stores its failures),
    or a unit test, whose rows reach dbt's output (unit_tests.py)."""
    kind = node.get("resource_type")
    if kind == "test":
        return stores_failures(node, store_failures_flag)
    return kind in ("model", "seed", "snapshot", "hook", "operation", "unit_test")


def runs_test_header(test: Node, *, store_failures_flag: bool, test_header_flag: bool) -> bool:
    """Whether dbt runs a data test's ``sql_header``. A test that stores its failing rows runs it
    whatever the flag: dbt's create-table/view macros put the test's own ``sql_header`` before the
    CREATE. Any test runs it before its query when dbt's REQUIRE_SQL_HEADER_IN_TEST_CONFIGS is on."""
    return test_header_flag or stores_failures(test, store_failures_flag)


def gated_ids(
    project: DbtProject,
    command: str,
    selected: set[str],
    *,
    store_failures_flag: bool,
    test_header_flag: bool = True,
) -> set[str]:
    """The unique ids ``command`` would run that move data: the selected nodes of its types, the
    hooks of those nodes (a test's ``sql_header`` when dbt runs it), and the project hooks when
    the command runs them. ``test_header_flag`` is dbt's REQUIRE_SQL_HEADER_IN_TEST_CONFIGS as
    the run will read it; true when that cannot be known (a manifest alone)."""
    types = COMMAND_TYPES.get(command, ())
    graph = project.graph()
    chosen = {
        uid
        for uid in selected
        if uid in graph
        and graph[uid].get("resource_type") in types
        and moves_data(graph[uid], store_failures_flag=store_failures_flag)
    }
    tests = {
        uid for uid in selected if "test" in types and (graph.get(uid) or {}).get("resource_type") == "test"
    }
    hooks: set[str] = set()
    for uid, node in graph.items():
        owner = hook_owner(node)
        if owner in tests:
            runs = runs_test_header(
                graph[owner], store_failures_flag=store_failures_flag, test_header_flag=test_header_flag
            )
        else:
            runs = owner in chosen and command in NODE_HOOK_COMMANDS
        if runs or (node.get("resource_type") == "operation" and command in PROJECT_HOOK_COMMANDS):
            hooks.add(uid)
    return chosen | hooks


def hook_owner(node: Node) -> str | None:
    """The node a hook belongs to (None for the project's on-run-start/end hooks)."""
    owner = node.get("attached_node")
    return str(owner) if owner and node.get("resource_type") == "hook" else None


def runnable(nodes: Mapping[str, Node], blocked: set[str]) -> tuple[set[str], set[str]]:
    """Split blocked ids into nodes dbt can leave out (hooks count as their owner) and project
    hooks, which no selector can leave out (a blocked one stops the whole command)."""
    excluded: set[str] = set()
    project_hooks: set[str] = set()
    for uid in blocked:
        node = nodes.get(uid) or {}
        if node.get("resource_type") == "operation":
            project_hooks.add(uid)
        else:
            excluded.add(hook_owner(node) or uid)
    return excluded, project_hooks
