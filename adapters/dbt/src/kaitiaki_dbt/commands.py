"""``kaitiaki dbt check|run|build``: decide every selected model before dbt runs it.

The commands accept dbt's own options (``--project-dir``, ``--profiles-dir``, ``--target``,
``--vars``, ``--select``/``-s``, ``--exclude``, ``--selector``…) in dbt's syntax, so the command
line of ``dbt build`` becomes that of ``kaitiaki dbt build`` unchanged. Only ``--config``,
``--mode``, ``--format``, ``--no-cache`` (and ``--manifest`` for check) are kaitiaki's. Nothing
here imports dbt at module level: ``kaitiaki --help`` must stay fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kaitiaki.config import Settings, load_settings
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import MODES, Verdict
from kaitiaki_dbt.runner import SELECTION_OPTIONS, DbtArgs, split_dbt_args

if TYPE_CHECKING:
    from kaitiaki_dbt.manifest import DbtProject
    from kaitiaki_dbt.runner import DbtSession

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PASS_THROUGH: dict[str, Any] = {**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True}
DBT_OPTIONS_HELP = """
\b
dbt options, in dbt's own syntax:
  --project-dir D  --profiles-dir D  --target/-t T  --profile P  --vars YAML  --target-path D
  --select/-s SEL...  --exclude SEL...  --selector NAME  --state D  --full-refresh  --empty
"""


def own_options(function: Any) -> Any:
    """kaitiaki's options, shared by check, run and build."""
    for option in reversed(
        (
            click.option(
                "--config",
                "config_path",
                type=click.Path(dir_okay=False),
                help="kaitiaki.yaml (default: $KAITIAKI_CONFIG, else found walking up from the project).",
            ),
            click.option(
                "--mode", type=click.Choice(MODES), help="Override the mode: audit, warn or enforce."
            ),
            click.option(
                "--no-cache", is_flag=True, help="Decide every model afresh (ignore the verdict cache)."
            ),
        )
    ):
        function = option(function)
    return function


@click.group("dbt", context_settings=CONTEXT)
def dbt_group() -> None:
    """Decide dbt models before they run: check, run, build.

    \b
    Examples:
      kaitiaki dbt check --project-dir . --select marts
      kaitiaki dbt check --manifest target/manifest.json --format sarif
      kaitiaki dbt build --project-dir . --profiles-dir . --target prod
    """


@dbt_group.command("check", context_settings=PASS_THROUGH, epilog=DBT_OPTIONS_HELP)
@own_options
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False),
    help="Read this compiled manifest.json instead of running dbt (no profile or warehouse needed).",
)
@click.option(
    "--format", "fmt", default="text", show_default=True, help="text, json, sarif, junit, github or markdown."
)
@click.pass_context
def check(
    ctx: click.Context,
    config_path: str | None,
    mode: str | None,
    no_cache: bool,
    manifest_path: str | None,
    fmt: str,
) -> None:
    """Compile (or read a manifest), analyse and decide every selected model.

    Exit 0 when every model is allowed, 1 when any is denied, 2 on a usage or dbt error.
    """
    check_format(fmt)
    args = split_dbt_args(ctx.args)
    reject_unknown(ctx.args, args, "check")
    if manifest_path:
        from kaitiaki_dbt.manifest import load_manifest
        from kaitiaki_dbt.selection import select_models

        project_dir = Path(args.value("--project-dir") or Path(manifest_path).resolve().parent.parent)
        settings = load_settings(config_path, start=project_dir.resolve())
        project = load_manifest(Path(manifest_path))
        select, exclude = selection_values(args)
        selected = select_models(project, select, exclude, project_dir)
        cache_dir = Path(manifest_path).parent
    else:
        from kaitiaki_dbt.runner import DbtSession

        project_dir, cache_dir = args.project_dir, args.target_dir
        settings = load_settings(config_path, start=project_dir.resolve())
        project, selected = compile_selected(DbtSession(args))
    verdicts = decide(
        project,
        selected,
        settings,
        mode=mode,
        project_dir=project_dir,
        cache_dir=cache_dir,
        no_cache=no_cache,
    )
    from kaitiaki.gate import exit_code

    click.echo(render(fmt, verdicts), nl=False)
    sys.exit(exit_code(verdicts))


def run_or_build(command: str) -> click.Command:
    """``kaitiaki dbt run|build``: check, then dbt with denied models and descendants excluded."""

    @click.pass_context
    def handler(
        ctx: click.Context, config_path: str | None, mode: str | None, no_cache: bool, fmt: str | None
    ) -> None:
        from kaitiaki_dbt.runner import DbtSession

        if fmt:
            check_format(fmt)
        args = split_dbt_args(ctx.args)
        settings = load_settings(config_path, start=args.project_dir.resolve())
        session = DbtSession(args)
        project, selected = compile_selected(session)
        verdicts = decide(
            project,
            selected,
            settings,
            mode=mode,
            project_dir=args.project_dir,
            cache_dir=args.target_dir,
            no_cache=no_cache,
        )
        status = execute(session, project, verdicts, command, list(ctx.args))
        if fmt:
            click.echo(render(fmt, verdicts), nl=False)
        sys.exit(status)

    handler = own_options(handler)
    handler = click.option(
        "--format", "fmt", default=None, help="Also print the decisions on stdout: text, json, sarif, junit…"
    )(handler)
    doc = (
        f"Check, then `dbt {command}` with denied models and all their descendants excluded.\n\n"
        "Every argument kaitiaki does not know is passed to dbt unchanged (a user --exclude is kept).\n"
        "Exit 1 if anything was blocked (enforce mode), 2 if dbt failed, else 0."
    )
    return click.command(command, context_settings=PASS_THROUGH, help=doc, epilog=DBT_OPTIONS_HELP)(handler)


dbt_group.add_command(run_or_build("run"))
dbt_group.add_command(run_or_build("build"))


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


def compile_selected(session: DbtSession) -> tuple[DbtProject, set[str]]:
    """Parse once, let dbt select, compile the selection and everything upstream of it."""
    from kaitiaki_dbt.manifest import DbtProject, model_ancestors, read_json

    session.parse()
    parsed = DbtProject(manifest=session.manifest.writable_manifest().to_dict(), path=None)
    models = parsed.models()
    selected = session.selected_models(session.args.selection) if session.args.selection else set(models)
    needed = selected | model_ancestors(parsed, selected)
    if not needed:
        return parsed, selected
    if needed == set(models):
        compiled = session.compile(["resource_type:model"])
    else:
        compiled = session.compile([".".join(models[uid]["fqn"]) for uid in sorted(needed)])
    target = session.args.target_dir
    catalog_path = target / "catalog.json"
    catalog = read_json(catalog_path, "dbt catalog") if catalog_path.is_file() else None
    return DbtProject(manifest=compiled, path=target / "manifest.json", catalog=catalog), selected


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
) -> list[Verdict]:
    """The verdicts of the selected models under one gate, with the cache and worker processes."""
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.cache import CACHE_NAME, VerdictCache
    from kaitiaki_dbt.checker import ProjectChecker
    from kaitiaki_dbt.workers import available_workers

    gate = Gate(settings, mode=mode, entry_point="dbt")
    cache = None if no_cache or not cacheable(settings) else VerdictCache(cache_dir / CACHE_NAME, gate)
    checker = ProjectChecker(project, gate, project_dir=project_dir, cache=cache, workers=available_workers())
    return checker.check(selected)


def execute(
    session: DbtSession, project: DbtProject, verdicts: list[Verdict], command: str, args: list[str]
) -> int:
    """Run dbt without the blocked models and their descendants; report both; the exit status."""
    from kaitiaki.report import explain
    from kaitiaki_dbt.manifest import model_descendants
    from kaitiaki_dbt.summary import blocked_report, exclusion_selectors, ran_report

    blocked = {str(v.job.meta["unique_id"]) for v in verdicts if v.blocked}
    descendants = model_descendants(project, blocked) - blocked
    color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
    click.echo(blocked_report(verdicts, descendants, project, lambda v: explain(v, color=color)), err=True)
    extra = ["--exclude", *exclusion_selectors(project, blocked)] if blocked else []
    result = session.run(command, [*args, *extra])
    click.echo(ran_report(result), err=True, nl=False)
    if not result.success:
        click.echo(f"kaitiaki: error: dbt {command} did not succeed (dbt's messages are above).", err=True)
        return 2
    return 1 if blocked else 0


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
