"""``kaitiaki dbt <command> [dbt args]``: a drop-in for the ``dbt`` command line.

The commands that write to the warehouse (build, run, seed, snapshot, test, clone,
run-operation, and ``source freshness`` for the project hooks it runs) are checked first: every
node they would run that moves data is decided, and the denied ones are left out with their
descendants. Every other command (compile, ls, parse, docs, debug, deps, clean…) is dbt's own,
passed straight through. The commands accept dbt's own options in dbt's syntax; only
``--config``, ``--mode``, ``--format``, ``--no-cache`` (and ``--manifest``, ``--allow-stale``
for check) are kaitiaki's. Nothing here imports dbt at module level: ``kaitiaki --help`` stays
fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kaitiaki.config import Settings, load_settings
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import MODES, Verdict
from kaitiaki_dbt.routes import (
    COMMAND_TYPES,
    STORE_FAILURES_ENV,
    STORE_FAILURES_FLAG,
    env_stores_failures,
    gated_ids,
    hook_owner,
    runnable,
)
from kaitiaki_dbt.runner import SELECTION_OPTIONS, DbtArgs, split_dbt_args

if TYPE_CHECKING:
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.cache import VerdictCache
    from kaitiaki_dbt.checker import ProjectChecker
    from kaitiaki_dbt.manifest import DbtProject
    from kaitiaki_dbt.runner import DbtSession

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PASS_THROUGH: dict[str, Any] = {**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True}
# A passed-through or refused command takes dbt's arguments, --help included, as they are.
DBT_OWN_ARGS: dict[str, Any] = {**PASS_THROUGH, "help_option_names": []}
DBT_OPTIONS_HELP = """
\b
dbt options, in dbt's own syntax:
  --project-dir D  --profiles-dir D  --target/-t T  --profile P  --vars YAML  --target-path D
  --select/-s SEL...  --exclude SEL...  --selector NAME  --state D  --full-refresh  --empty
"""


def stacked(*options: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One decorator applying click options in the order they are written (click lists the
    option applied last first)."""

    def apply(function: Any) -> Any:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


# kaitiaki's options, shared by check, run and build.
own_options = stacked(
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="kaitiaki.yaml (default: $KAITIAKI_CONFIG, else found walking up from the project).",
    ),
    click.option("--mode", type=click.Choice(MODES), help="Override the mode: audit, warn or enforce."),
    click.option("--no-cache", is_flag=True, help="Decide every node afresh (ignore the verdict cache)."),
    click.option("--quiet", "-q", is_flag=True, help="No progress lines while checking (dbt is quiet too)."),
    click.option(
        "--repo-root",
        type=click.Path(file_okay=False),
        help="Report file paths relative to this folder (default: the git top level of the project).",
    ),
)


# dbt commands that write nothing to the warehouse: dbt's own, unchanged (output on stdout).
PASSED_THROUGH = ("compile", "ls", "list", "parse", "docs", "debug", "deps", "clean", "init")
# dbt commands that would run SQL kaitiaki cannot check first: refused (exit 2), with why.
REFUSED = {
    "retry": "dbt retry re-runs the previous command's failed nodes without a check; run that "
    "command through kaitiaki again (`kaitiaki dbt build …`)",
    "show": "dbt show runs a query and prints its rows; check the model with `kaitiaki dbt check "
    "--select <model>` and use `dbt show` where governance allows it",
}


# Every route by which a dbt command moves data, as `kaitiaki dbt --help` lists it.
GATED_ROUTES = (
    (
        "models",
        "their compiled SELECT; incremental models as the branch that will run; Python "
        "models SYS-01 unless the catalog declares them",
    ),
    ("snapshots", "their SELECT, as a write of the snapshot table"),
    ("seeds", "the CSV's columns, as a write of them"),
    (
        "tests",
        "those that store failing rows (store_failures), as a write of the audit table; a data "
        "test's sql_header whenever dbt runs it",
    ),
    ("unit tests", "their format: sql fixtures and expectations (rows that reach dbt's log)"),
    (
        "hooks",
        "pre_hook/post_hook and sql_header of models, seeds and snapshots; on-run-start/on-run-end",
    ),
    ("run-operation", "only macros kaitiaki.yaml allowlists (dbt: {operations: [...]})"),
    ("clone", "each node copied, decided as the node itself"),
)


class DbtGroup(click.Group):
    """dbt's command line: kaitiaki's gated commands, dbt's others passed straight through."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        if cmd_name in PASSED_THROUGH:
            return passed_through(cmd_name)
        reason = REFUSED.get(cmd_name, f"kaitiaki does not know whether `dbt {cmd_name}` writes data")
        return refused(cmd_name, reason)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        gated = [(name, (self.commands[name].get_short_help_str(300))) for name in sorted(self.commands)]
        with formatter.section("Gated (every node that moves data is decided first)"):
            formatter.write_dl(gated)
        with formatter.section("What is decided (docs/dbt.md has the table of routes)"):
            formatter.write_dl(GATED_ROUTES)
        with formatter.section("Passed straight through to dbt"):
            formatter.write_text(", ".join(PASSED_THROUGH))
        with formatter.section("Refused (they would run SQL kaitiaki cannot check first)"):
            formatter.write_text(", ".join(sorted(REFUSED)) + ", and any command kaitiaki does not know")


@click.group("dbt", cls=DbtGroup, context_settings=CONTEXT)
def dbt_group() -> None:
    """A drop-in for dbt: `kaitiaki dbt <command> [dbt args]`.

    The commands that write to the warehouse are checked first, and the nodes that are denied
    (with their descendants) are left out of dbt's run; the others are dbt's own.

    \b
    Examples:
      kaitiaki dbt check --project-dir . --select marts
      kaitiaki dbt check --manifest target/manifest.json --format sarif
      kaitiaki dbt build --project-dir . --profiles-dir . --target prod
      kaitiaki dbt ls --select marts          (dbt's own)
    """


# Passed-through commands that render models (dbt runs a model's run_query while it renders it):
# SQL that writes is refused there, since kaitiaki decides nothing for them (rendering.py).
RENDERING = ("compile", "docs")


def passed_through(name: str) -> click.Command:
    """``dbt <name> …`` exactly as dbt would run it (its --help included), dbt's exit code;
    ``compile`` and ``docs`` refuse SQL that writes while a node renders."""

    def handler() -> None:
        from kaitiaki_dbt.rendering import refuse_writes_while_rendering
        from kaitiaki_dbt.runner import run_dbt

        refused: dict[str, str] = {}
        rendering = (
            refuse_writes_while_rendering(refused, fail=True)
            if name in RENDERING
            else contextlib.nullcontext()
        )
        with rendering:
            sys.exit(run_dbt([name, *click.get_current_context().args]))

    return click.Command(
        name, callback=handler, context_settings=DBT_OWN_ARGS, help=f"dbt {name}, unchanged."
    )


def refused(name: str, reason: str) -> click.Command:
    def handler() -> None:
        raise KaitiakiError(f"kaitiaki dbt {name} is refused: {reason}.", hint="see `kaitiaki dbt --help`.")

    return click.Command(name, callback=handler, context_settings=DBT_OWN_ARGS, help=f"refused: {reason}")


# ``--manifest`` and ``--allow-stale``, shared by check and report.
manifest_options = stacked(
    click.option(
        "--manifest",
        "manifest_path",
        type=click.Path(dir_okay=False),
        help="Read this compiled manifest.json instead of running dbt (no profile or warehouse needed).",
    ),
    click.option(
        "--allow-stale",
        is_flag=True,
        help="Check a --manifest even if a file it describes changed after it, or another dbt wrote it.",
    ),
)


@dbt_group.command("check", context_settings=PASS_THROUGH, epilog=DBT_OPTIONS_HELP)
@own_options
@manifest_options
@click.option(
    "--format", "fmt", default="text", show_default=True, help="text, json, sarif, junit, github or markdown."
)
@click.pass_context
def check(ctx: click.Context, /, fmt: str, **options: Any) -> None:
    """Compile (or read a manifest), analyse and decide every selected node that moves data.

    Models, snapshots, seeds, tests that store failures, unit tests, their hooks and the project's
    hooks.
    Exit 0 when every one is allowed, 1 when any is denied, 2 on a usage or dbt error.
    """
    check_format(fmt)
    verdicts, _ = selected_verdicts(ctx, "check", **options)
    from kaitiaki.gate import exit_code

    click.echo(render(fmt, verdicts), nl=False)
    sys.exit(exit_code(verdicts))


@dbt_group.command("report", context_settings=PASS_THROUGH, epilog=DBT_OPTIONS_HELP)
@own_options
@manifest_options
@click.option("--out", type=click.Path(dir_okay=False), default="kaitiaki-report.html", show_default=True)
@click.pass_context
def report(ctx: click.Context, /, out: str, **options: Any) -> None:
    """Write the HTML estate report of the selected nodes: decisions (and what a run would leave
    out), the flows of identifying columns, where each column goes, and kaitiaki.yaml's waivers.
    Exit status as for check.
    """
    from kaitiaki.gate import exit_code
    from kaitiaki.report.html import render_html

    verdicts, settings = selected_verdicts(ctx, "report", **options)
    Path(out).write_text(render_html(verdicts, waivers=settings.waivers), encoding="utf-8")
    click.echo(f"kaitiaki: wrote {out} ({len(verdicts)} nodes)", err=True)
    sys.exit(exit_code(verdicts))


def selected_verdicts(
    ctx: click.Context,
    command: str,
    *,
    config_path: str | None,
    mode: str | None,
    no_cache: bool,
    quiet: bool,
    repo_root: str | None,
    manifest_path: str | None,
    allow_stale: bool,
) -> tuple[list[Verdict], Settings]:
    """Compile (or read a manifest), select and decide: what check and report share."""
    args = split_dbt_args(ctx.args)
    reject_unknown(ctx.args, args, command)
    store_failures = stores_failures_requested(ctx.args)
    if manifest_path:
        from kaitiaki_dbt.incremental import from_manifest_alone
        from kaitiaki_dbt.manifest import load_manifest
        from kaitiaki_dbt.selection import select_nodes

        project_dir = Path(args.value("--project-dir") or Path(manifest_path).resolve().parent.parent)
        settings = load_settings(config_path, start=project_dir.resolve())
        project = from_manifest_alone(load_manifest(Path(manifest_path)), settings.dbt_operations)
        if not allow_stale:
            refuse_stale(project, project_dir)
        select, exclude = selection_values(args)
        selected = gated_ids(
            project,
            "check",
            select_nodes(project, select, exclude, project_dir),
            store_failures_flag=store_failures,
        )
        cache_dir = Path(manifest_path).parent
    else:
        from kaitiaki_dbt.runner import DbtSession

        settings = load_settings(config_path, start=args.project_dir.resolve())
        session = DbtSession(args, quiet=quiet)
        _, verdicts = compile_and_decide(
            session, "check", settings, store_failures, mode=mode, no_cache=no_cache, repo_root=repo_root
        )
        return verdicts, settings
    verdicts = decide(
        project,
        selected,
        settings,
        mode=mode,
        project_dir=project_dir,
        cache_dir=cache_dir,
        no_cache=no_cache,
        quiet=quiet,
        repo_root=repository_root(repo_root, project_dir),
    )
    return verdicts, settings


def gated_command(command: str, help_text: str) -> click.Command:
    """``kaitiaki dbt <command>``: check what it would run, then dbt without what was denied."""

    @click.pass_context
    def handler(
        ctx: click.Context,
        config_path: str | None,
        mode: str | None,
        no_cache: bool,
        quiet: bool,
        repo_root: str | None,
        fmt: str | None,
    ) -> None:
        from kaitiaki_dbt.runner import DbtSession

        if fmt:
            check_format(fmt)
        args = split_dbt_args(ctx.args)
        settings = load_settings(config_path, start=args.project_dir.resolve())
        session = DbtSession(args, quiet=quiet)
        store_failures = stores_failures_requested(ctx.args)
        project, verdicts = compile_and_decide(
            session, command, settings, store_failures, mode=mode, no_cache=no_cache, repo_root=repo_root
        )
        status = execute(session, project, verdicts, command, [*ctx.args, *(["--quiet"] if quiet else [])])
        if fmt:
            click.echo(render(fmt, verdicts), nl=False)
        sys.exit(status)

    handler = own_options(handler)
    handler = click.option(
        "--format", "fmt", default=None, help="Also print the decisions on stdout: text, json, sarif, junit…"
    )(handler)
    doc = (
        f"{help_text}\n\n"
        "Every argument kaitiaki does not know is passed to dbt unchanged (a user --exclude is kept).\n"
        "Exit 1 if anything was blocked (enforce mode), 2 if dbt failed, else 0."
    )
    return click.command(command, context_settings=PASS_THROUGH, help=doc, epilog=DBT_OPTIONS_HELP)(handler)


GATED_HELP = {
    "build": "Check models, seeds, snapshots, tests storing failures, unit tests and all hooks, then "
    "`dbt build`.",
    "run": "Check models and their hooks (and the project hooks), then `dbt run`.",
    "seed": "Check what each seed loads (a seed of identifiers is a write of them), then `dbt seed`.",
    "snapshot": "Check each snapshot's SELECT and the table it writes, then `dbt snapshot`.",
    "test": "Check tests that store their failing rows (store_failures), the sql_header of the tests "
    "dbt runs it for, and unit tests that read real tables, then `dbt test`.",
    "clone": "Check the nodes a clone would copy (decided as the node itself), then `dbt clone`.",
    "source": "Check the project hooks `dbt source freshness` runs (on-run-start/end), then run it.",
}
for _name, _help in GATED_HELP.items():
    dbt_group.add_command(gated_command(_name, _help))


@dbt_group.command("run-operation", context_settings=PASS_THROUGH)
@own_options
@click.argument("macro")
@click.pass_context
def run_operation(
    ctx: click.Context,
    config_path: str | None,
    mode: str | None,
    no_cache: bool,
    quiet: bool,
    repo_root: str | None,
    macro: str,
) -> None:
    """Run a macro only if governance allowed it (kaitiaki.yaml `dbt: {operations: [name]}`).

    A macro's SQL is only known while it runs, so it cannot be checked beforehand: a macro that
    is not in the allowlist is blocked (SYS-01, exit 1) in enforce mode.
    """
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.operations import operation_verdict
    from kaitiaki_dbt.runner import DbtSession

    del no_cache, repo_root  # one decision, nothing cached; a macro has no SQL position
    args = split_dbt_args(ctx.args)
    settings = load_settings(config_path, start=args.project_dir.resolve())
    gate = Gate(settings, mode=mode, entry_point="dbt")
    session = DbtSession(args, quiet=quiet)
    session.parse()
    verdict = operation_verdict(gate, session.manifest, macro, settings)
    report_verdicts([verdict])
    if verdict.blocked:
        click.echo(f"kaitiaki: run-operation {macro} blocked; dbt was not run.", err=True)
        sys.exit(1)
    result = session.run("run-operation", [macro, *ctx.args])
    sys.exit(2 if dbt_exit_code(result) else 0)


def stores_failures_requested(args: Sequence[str]) -> bool:
    """dbt stores every test's failing rows: ``--store-failures``, or DBT_STORE_FAILURES in the
    environment dbt runs in (this process's)."""
    return STORE_FAILURES_FLAG in args or env_stores_failures(os.environ.get(STORE_FAILURES_ENV))


def reject_unknown(raw: Sequence[str], known: DbtArgs, command: str) -> None:
    """check takes project and selection options only; anything else is a usage error."""
    leftover = list(raw)
    for token in (*known.project, *known.selection, *known.compile_flags):
        leftover.remove(token)
    if leftover:
        raise KaitiakiError(
            f"kaitiaki dbt {command}: unexpected argument(s) {' '.join(leftover)}.",
            hint="check takes dbt's project and selection options; see `kaitiaki dbt check --help`.",
        )


def selection_values(args: DbtArgs) -> tuple[list[str], list[str]]:
    """``--select``/``--exclude`` values; ``--selector`` needs dbt itself (not with --manifest)."""
    select: list[str] = []
    exclude: list[str] = []
    current: list[str] | None = None
    for token in args.selection:
        option, has_inline, inline = token.partition("=")
        if option in SELECTION_OPTIONS:
            if option in ("--selector", "--state"):
                raise KaitiakiError(
                    f"{option} cannot be used with --manifest.",
                    hint="use --select/--exclude, or drop --manifest to let dbt select with its state.",
                )
            current = exclude if option == "--exclude" else select
            if has_inline:
                current.append(inline)
        elif current is not None:
            current.append(token)
    return select, exclude


@dataclass(frozen=True)
class CompilePlan:
    """What one dbt command would run, read from dbt's parse: the parsed project (with its
    catalog), the ids to decide, and the nodes dbt compiles for them (they and what they read)."""

    parsed: DbtProject
    gated: set[str]
    needed: set[str]


def plan_compile(session: DbtSession, command: str, settings: Settings, store_failures: bool) -> CompilePlan:
    """Parse once and let dbt select what ``command`` would run that moves data (and what it
    reads upstream)."""
    from kaitiaki_dbt.hooks import dbt_runs_test_headers
    from kaitiaki_dbt.manifest import DbtProject, ancestors, read_json

    progress(f"kaitiaki: parsing the dbt project for `dbt {command}`…", session.quiet)
    session.parse()
    target = session.args.target_dir
    catalog_path = target / "catalog.json"
    catalog = read_json(catalog_path, "dbt catalog") if catalog_path.is_file() else None
    parsed = DbtProject(
        manifest=session.manifest.writable_manifest().to_dict(),
        path=target / "manifest.json",
        catalog=catalog,
    )
    parsed = with_static_hooks(parsed, settings)
    types = COMMAND_TYPES[command]
    selection = session.args.selection
    chosen = session.selected_nodes(selection, types) if selection else set(parsed.graph())
    gated = gated_ids(
        parsed, command, chosen, store_failures_flag=store_failures, test_header_flag=dbt_runs_test_headers()
    )
    graph = parsed.graph()
    owners = {  # a unit test is read from its YAML: dbt compiles it only against a built warehouse
        hook_owner(graph[uid]) or uid
        for uid in gated
        if graph[uid].get("resource_type") not in ("operation", "unit_test")
    }
    needed = owners | {
        uid for uid in ancestors(parsed, owners) if graph[uid].get("resource_type") in ("model", "snapshot")
    }
    return CompilePlan(parsed, gated, needed)


def compile_plan(
    session: DbtSession,
    plan: CompilePlan,
    settings: Settings,
    on_compiled: Callable[[Any], None] | None = None,
) -> DbtProject:
    """Compile what the plan needs, rendering hooks as dbt compiles (``on_compiled`` is told of
    each node dbt compiled); the compiled project, its hooks as nodes."""
    from kaitiaki_dbt.hooks import RenderedHooks, hook_nodes, render_hooks_while_compiling
    from kaitiaki_dbt.rendering import refuse_writes_while_rendering

    rendered = RenderedHooks()
    graph = plan.parsed.graph()
    progress(f"kaitiaki: compiling {len(plan.needed)} nodes with dbt…", session.quiet)
    with (
        render_hooks_while_compiling(rendered, settings.dbt_operations, on_compiled),
        refuse_writes_while_rendering(rendered.writes, fail=False),
    ):
        if not plan.needed:
            compiled = session.compile_inline("select 1")
        elif not session.args.selection:  # everything: one plain compile, as `dbt compile` would
            compiled = session.compile([])
        else:
            compiled = session.compile([".".join(graph[uid]["fqn"]) for uid in sorted(plan.needed)])
    project = replace(plan.parsed, manifest=compiled, extra={})
    return replace(project, extra=hook_nodes(project, rendered, settings.dbt_operations))


def compile_and_decide(
    session: DbtSession,
    command: str,
    settings: Settings,
    store_failures: bool,
    *,
    mode: str | None,
    no_cache: bool,
    repo_root: str | None,
) -> tuple[DbtProject, list[Verdict]]:
    """Parse, compile and decide what ``command`` would run. With more than one core, nodes are
    decided while dbt compiles (overlap.py) by worker processes, one fewer than the cores: they
    start before dbt parses when no verdict cache can answer (its start-up then overlaps dbt's),
    else at the first node the cache cannot answer (a warm run may need none)."""
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.checker import ProjectChecker
    from kaitiaki_dbt.overlap import CompileOverlap
    from kaitiaki_dbt.workers import WorkerPool, available_workers

    args = session.args
    gate = Gate(settings, mode=mode, entry_point="dbt")
    cache = verdict_cache(settings, gate, args.target_dir, no_cache)
    workers = available_workers()
    eager = workers > 1 and (cache is None or not cache.entries)
    pool = WorkerPool(gate, args.project_dir, workers - 1) if eager else None
    checker: ProjectChecker | None = None
    try:
        plan = plan_compile(session, command, settings, store_failures)
        root = repository_root(repo_root, args.project_dir)
        checker = ProjectChecker(
            plan.parsed,
            gate,
            project_dir=args.project_dir,
            cache=cache,
            workers=workers,
            repo_root=root,
            pool=pool,
        )
        overlap = CompileOverlap(checker, workers - 1, plan.gated).start() if workers > 1 else None
        try:
            project = compile_plan(session, plan, settings, overlap.compiled if overlap else None)
        except BaseException:
            if overlap is not None:
                overlap.abandon()
            raise
        if overlap is not None:
            overlap.finish()
        checker.adopt(project)
        return project, run_checker(checker, plan.gated | refused_renders(project, plan.gated), session.quiet)
    finally:
        for started in {pool, checker.pool if checker else None}:
            if started is not None:
                started.close()


def refused_renders(project: DbtProject, gated: set[str]) -> set[str]:
    """The ``#render-write`` jobs of gated nodes: SQL that writes, refused while dbt rendered the
    node (rendering.py), known only after the compile."""
    from kaitiaki_dbt.rendering import RENDER_WRITE

    return {
        uid
        for uid, node in project.extra.items()
        if uid.endswith(f"#{RENDER_WRITE}.0") and node.get("attached_node") in gated
    }


def refuse_stale(project: DbtProject, project_dir: Path) -> None:
    """Exit 2 with a one-line hint when the manifest no longer describes the project."""
    from kaitiaki_dbt.staleness import stale_reason

    reason = stale_reason(project, project_dir)
    if reason is not None:
        raise KaitiakiError(
            f"the manifest is stale: {reason}.",
            path=str(project.path),
            hint="run `dbt compile` again (or drop --manifest), or pass --allow-stale to check it anyway.",
        )


def with_static_hooks(project: DbtProject, settings: Settings) -> DbtProject:
    """The project with its hooks as nodes, rendered without dbt (see hooks.static_render)."""
    from kaitiaki_dbt.hooks import hook_nodes

    return replace(project, extra=hook_nodes(project, None, settings.dbt_operations))


def repository_root(explicit: str | None, project_dir: Path | None) -> Path | None:
    """``--repo-root``, else the git top level of the project (None outside a git repository)."""
    if explicit:
        return Path(explicit)
    if project_dir is None:
        return None
    import subprocess

    try:
        found = subprocess.run(
            ["git", "-C", str(project_dir), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(found.stdout.strip()) if found.returncode == 0 and found.stdout.strip() else None


def progress(line: str, quiet: bool) -> None:
    if not quiet:
        click.echo(line, err=True)


def cacheable(settings: Settings) -> bool:
    """Verdicts are cached under the revision of the policies loaded here. A remote OPA fleet
    decides with the bundle *it* has loaded, which that key cannot see: never cache its answers."""
    return settings.engine.kind != "opa"


def decide(
    project: DbtProject,
    selected: set[str],
    settings: Settings,
    *,
    mode: str | None,
    project_dir: Path | None,
    cache_dir: Path,
    no_cache: bool,
    quiet: bool = False,
    repo_root: Path | None = None,
) -> list[Verdict]:
    """The verdicts of the selected nodes of a compiled project under one gate, with the cache
    and worker processes."""
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.workers import available_workers

    gate = Gate(settings, mode=mode, entry_point="dbt")
    from kaitiaki_dbt.checker import ProjectChecker

    cache = verdict_cache(settings, gate, cache_dir, no_cache)
    checker = ProjectChecker(
        project, gate, project_dir=project_dir, cache=cache, workers=available_workers(), repo_root=repo_root
    )
    return run_checker(checker, selected, quiet)


def verdict_cache(settings: Settings, gate: Gate, cache_dir: Path, no_cache: bool) -> VerdictCache | None:
    from kaitiaki_dbt.cache import CACHE_NAME, VerdictCache

    return None if no_cache or not cacheable(settings) else VerdictCache(cache_dir / CACHE_NAME, gate)


def run_checker(checker: ProjectChecker, selected: set[str], quiet: bool) -> list[Verdict]:
    """The checker's verdicts, with dbt-style progress lines (a bar on a terminal)."""
    from kaitiaki_dbt.summary import progress_reporter

    with progress_reporter(len(selected), sys.stderr, quiet=quiet) as printer:
        checker.progress = printer
        return checker.check(selected)


def execute(
    session: DbtSession, project: DbtProject, verdicts: list[Verdict], command: str, args: list[str]
) -> int:
    """Run dbt without the blocked nodes and their descendants; report both; the exit status."""
    from kaitiaki_dbt.manifest import descendants
    from kaitiaki_dbt.rendering import refuse_writes_while_rendering
    from kaitiaki_dbt.summary import exclusion_selectors, ran_report

    blocked = {str(v.job.meta["unique_id"]) for v in verdicts if v.blocked}
    excluded, project_hooks = runnable(project.graph(), blocked)
    left_out = descendants(project, excluded) - excluded
    report_verdicts(verdicts, project=project, descendants=left_out)
    if project_hooks:
        click.echo(
            f"kaitiaki: a project hook (on-run-start/on-run-end) was blocked; dbt {command} was not run: "
            "no selector can leave a project hook out.",
            err=True,
        )
        return 1
    extra = ["--exclude", *exclusion_selectors(project, excluded)] if excluded else []
    enforce = any(v.mode == "enforce" for v in verdicts)
    refused: dict[str, str] = {}
    with refuse_writes_while_rendering(refused, fail=True) if enforce else contextlib.nullcontext():
        result = session.run(command, [*args, *extra])
    click.echo(ran_report(result), err=True, nl=False)
    if dbt_exit_code(result):
        click.echo(f"kaitiaki: error: dbt {command} did not succeed (dbt's messages are above).", err=True)
        return 2
    return 1 if blocked else 0


def dbt_exit_code(result: Any) -> int:
    """dbt's own exit code: 0 success, 1 a node failed, 2 dbt itself could not run."""
    if result.exception is not None:
        return 2
    return 0 if result.success else 1


def report_verdicts(
    verdicts: list[Verdict], *, project: DbtProject | None = None, descendants: set[str] | None = None
) -> None:
    """The blocked nodes with their explanations, and what was left out with them, on stderr."""
    from kaitiaki.report import explain
    from kaitiaki_dbt.summary import blocked_report

    color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
    click.echo(
        blocked_report(verdicts, descendants or set(), project, lambda v: explain(v, color=color)), err=True
    )


def check_format(fmt: str) -> None:
    """An unknown --format is a usage error before anything runs (not after dbt has run)."""
    from kaitiaki.report import formats

    if fmt not in formats():
        raise KaitiakiError(
            f"unknown report format {fmt!r}.", hint=f"available formats: {', '.join(formats())}."
        )


def render(fmt: str, verdicts: list[Verdict]) -> str:
    from kaitiaki.report import render as render_report

    color = fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return render_report(fmt, verdicts, color=color)
