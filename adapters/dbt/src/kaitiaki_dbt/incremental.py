"""Both branches of an incremental model, when it is decided from a manifest alone.

dbt renders ``{% if is_incremental() %}`` against the warehouse as it is at compile time: a
manifest compiled where the model's table did not exist yet (in CI, say) holds the full-refresh
branch, while the run on a warehouse that has the table takes the incremental one, and the other
way round. ``kaitiaki dbt check`` compiles right before it runs, so the branch it decides is the
one that runs; a decision from a manifest alone (``--manifest``, ``decide_node``, an Airflow
cosmos task) cannot know which will, so it decides both.

The other branch is rendered here with a small renderer that knows only ``ref``, ``source``,
``this``, ``config`` and ``is_incremental``, and is trusted only when it renders the manifest's
own branch exactly (whitespace aside); anything else (a macro, ``var``, ``target``, an
ephemeral parent, a branch inside a macro) cannot be rendered faithfully, and the model is
blocked (SYS-01) saying so. The model is then read as its compiled branch and the other one
combined by ``union all``, so what it writes, and what flows to its children, covers both.

The same holds for any model whose SQL a Jinja statement chooses by asking the warehouse or the
run (``load_relation``, ``adapter``, ``flags``, ``should_full_refresh``, ``run_query`` …): what
the compile chose need not be what a later run chooses, and there is nothing to render it from,
so from a manifest alone such a model is blocked (SYS-01) saying so.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from kaitiaki_dbt.hooks import hook_nodes
from kaitiaki_dbt.manifest import DbtProject, Node, reached_macros

BUILT_IN_PACKAGES = frozenset({"dbt"})
WRAPPED = (  # the compiled branch keeps its line numbers
    "select * from ({first}\n) as kaitiaki_compiled_branch\nunion all\n"
    "select * from (\n{second}\n) as kaitiaki_other_branch"
)
CANNOT = (
    "model {name} is incremental and decided from a manifest alone, which holds only the "
    "is_incremental() branch dbt compiled; the other branch, which a run may take, {why}. Decide "
    "it where dbt compiles it against the warehouse it runs on (`kaitiaki dbt run`/`build`), or "
    "keep the branch to ref, source, this and config"
)


def from_manifest_alone(project: DbtProject, operations: tuple[str, ...]) -> DbtProject:
    """The project as it is decided without running dbt: its hooks rendered from the manifest
    (hooks.static_render) and its incremental models read as both branches."""
    return replace(project, extra={**hook_nodes(project, None, operations), **incremental_nodes(project)})


class CannotRender(Exception):
    """The other branch cannot be rendered faithfully without dbt."""


# Jinja statements whose outcome depends on the warehouse or the run, not on the project: what
# they chose at compile time need not be what a later run chooses.
RUN_STATE = re.compile(
    r"\{%-?\s*(?:if|elif|for|set|do|call)\b(?:(?!%\}).)*?\b(load_relation|adapter|flags|should_full_refresh|"
    r"run_started_at|invocation_id|load_result|run_query|statement)\b",
    re.DOTALL,
)
RUN_STATE_ERROR = (
    "model {name} is decided from a manifest alone, and its SQL is chosen by Jinja that asks the "
    "warehouse or the run ({what} in a {{% … %}} statement): what dbt chose at compile time need "
    "not be what a later run chooses. Decide it where dbt compiles it against the warehouse it "
    "runs on (`kaitiaki dbt run`/`build`)"
)


def incremental_nodes(project: DbtProject) -> dict[str, Node]:
    """Each incremental model whose SQL depends on ``is_incremental()``, read as both branches
    (or blocked with why they cannot be rendered), and each model whose SQL a Jinja statement
    chooses from the warehouse or the run (blocked), by unique id."""
    out: dict[str, Node] = {}
    for uid, node in project.nodes.items():
        if node.get("resource_type") != "model":
            continue
        found = RUN_STATE.search(str(node.get("raw_code") or ""))
        if found is not None:
            error = RUN_STATE_ERROR.format(name=node.get("name"), what=found.group(1))
            out[uid] = {**node, "render_error": error}
            continue
        if (node.get("config") or {}).get("materialized") == "incremental":
            both = both_branches(node, project)
            if both is not None:
                out[uid] = {**node, **both}
    return out


def both_branches(node: Node, project: DbtProject) -> dict[str, Any] | None:
    """The node's fields read as both branches; None when ``is_incremental()`` changes nothing."""
    raw = str(node.get("raw_code") or "")
    compiled = node.get("compiled_code")
    inside = branching_macro(node, project)
    if "is_incremental" not in raw and inside is None:
        return None
    if not isinstance(compiled, str):
        return None  # never compiled: the evaluator blocks it for that already
    name = str(node.get("name"))
    if inside is not None:
        return {"render_error": CANNOT.format(name=name, why=f"is decided inside the macro {inside}")}
    try:
        renders = {flag: render(raw, node, project, incremental=flag) for flag in (True, False)}
    except CannotRender as error:
        return {"render_error": CANNOT.format(name=name, why=f"cannot be rendered without dbt ({error})")}
    if squeezed(renders[True]) == squeezed(renders[False]):
        return None
    matching = [flag for flag, sql in renders.items() if squeezed(sql) == squeezed(compiled)]
    if len(matching) != 1:
        why = "could not be rendered to match the compiled one (it uses Jinja this renderer does not know)"
        return {"render_error": CANNOT.format(name=name, why=why)}
    other = renders[not matching[0]]
    return {"compiled_code": WRAPPED.format(first=bare(compiled), second=bare(other))}


def branching_macro(node: Node, project: DbtProject) -> str | None:
    """A macro of the project or a package, called by the node or by a macro it calls, that asks
    ``is_incremental()`` itself (dbt's own materializations do, and are not the model's SQL)."""
    reached = reached_macros(project.manifest.get("macros") or {}, [node], skip=built_in_macro)
    asking = (uid for uid, macro in reached if "is_incremental" in str(macro.get("macro_sql") or ""))
    return next(asking, None)


def built_in_macro(uid: str, macro: Mapping[str, Any]) -> bool:
    """dbt's own macros, is_incremental() itself among them: not the model's SQL."""
    return macro.get("package_name") in BUILT_IN_PACKAGES or uid.endswith(".is_incremental")


def render(raw: str, node: Node, project: DbtProject, *, incremental: bool) -> str:
    """The model's SQL with ``is_incremental()`` answering ``incremental``."""
    environment = SandboxedEnvironment(undefined=StrictUndefined, extensions=["jinja2.ext.do"])
    # A test (``target is defined``, ``x is mapping``) or a filter (``default``) answers for a
    # name this renderer does not know without raising, and not as dbt would: it cannot render.
    environment.tests = {name: refusing_undefined(test) for name, test in environment.tests.items()}
    environment.filters = {name: refusing_undefined(f) for name, f in environment.filters.items()}
    context = {
        "ref": lambda *args, **kwargs: ref_relation(node, project, args),
        "source": lambda source, table: source_relation(project, source, table),
        "this": node.get("relation_name") or cannot("the model has no relation name"),
        "config": lambda *args, **kwargs: "",
        "is_incremental": lambda: incremental,
    }
    try:
        return environment.from_string(raw).render(context)
    except CannotRender:
        raise
    except (TemplateError, TypeError, ValueError, AttributeError, LookupError) as error:
        raise CannotRender(first_line(error)) from None


def refusing_undefined(function: Any) -> Callable[..., Any]:
    """``function`` (a Jinja test or filter), raising CannotRender when given a name this
    renderer does not know (Jinja's own markers, such as pass_context, are kept)."""

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        unknown = [a for a in (*args, *kwargs.values()) if isinstance(a, Undefined)]
        if unknown:
            cannot(f"{unknown[0]._undefined_name or 'a name'} is not known without dbt")
        return function(*args, **kwargs)

    return checked


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def ref_relation(node: Node, project: DbtProject, args: tuple[Any, ...]) -> str:
    """``ref('name')`` / ``ref('package', 'name')``: the relation of the parent it names."""
    if not args or not all(isinstance(a, str) for a in args):
        cannot("a ref() whose name is not a plain string")
    name, package = args[-1], args[0] if len(args) > 1 else None
    for parent in (node.get("depends_on") or {}).get("nodes") or ():
        found = project.nodes.get(parent) or {}
        if found.get("name") == name and package in (None, found.get("package_name")):
            if (found.get("config") or {}).get("materialized") == "ephemeral":
                cannot(f"ref('{name}') is an ephemeral model, which dbt inlines as a CTE")
            return str(found.get("relation_name") or cannot(f"ref('{name}') has no relation name"))
    return cannot(f"ref('{name}') is not among the model's parents")


def source_relation(project: DbtProject, source: str, table: str) -> str:
    for found in project.sources.values():
        if found.get("source_name") == source and found.get("name") == table:
            return str(found.get("relation_name") or cannot(f"source('{source}', '{table}') has no relation"))
    return cannot(f"source('{source}', '{table}') is not in the manifest")


def cannot(why: str) -> str:
    raise CannotRender(why)


def squeezed(sql: str) -> str:
    return " ".join(sql.split())


def bare(sql: str) -> str:
    """The statement without trailing whitespace and semicolons, to nest it as a subquery."""
    return sql.rstrip().rstrip(";").rstrip()
