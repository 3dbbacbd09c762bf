"""``kaitiaki …``: the command line (README.md).

Exit codes everywhere: 0 allowed (possibly with warnings), 1 denied/blocked, 2 usage or input
error — and a 2 never lets a job run. stdout carries only the chosen format; everything else goes
to stderr. No user ever sees a traceback: input problems print one paragraph naming the file and
line, and an unexpected failure prints what failed and how to report it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from kaitiaki import __version__
from kaitiaki.config import Settings, destination_from, load_settings
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import DESTINATION_KINDS, MODES, REGIONS, SqlFacts, Verdict

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="kaitiaki.yaml to use (default: $KAITIAKI_CONFIG, else found walking up from here).",
)


def fail(error: KaitiakiError) -> NoReturn:
    click.echo(f"kaitiaki: error: {error}", err=True)
    sys.exit(error.exit_code)


def settings_from(ctx: click.Context, config_path: str | None) -> Settings:
    """Load (once per invocation) the settings named by --config or discovered."""
    cached = ctx.meta.get("kaitiaki.settings")
    if not isinstance(cached, Settings):
        cached = load_settings(config_path)
        ctx.meta["kaitiaki.settings"] = cached
    return cached


def check_dialect(dialect: str | None) -> str | None:
    from kaitiaki.analysis.dialects import known_dialects

    if dialect is None:
        return None
    value = dialect.lower()
    if value not in known_dialects():
        raise KaitiakiError(
            f"unknown dialect {dialect!r}.", hint=f"valid dialects: {', '.join(known_dialects())}."
        )
    return value


def platform_dialect(requested: str | None, platform: str | None) -> str | None:
    """--dialect may narrow kaitiaki.yaml's ``dialect:`` to one built on it, never switch engines."""
    from kaitiaki.analysis.dialects import narrowed

    try:
        return narrowed(requested, platform)
    except ValueError as exc:
        raise KaitiakiError(
            f"--dialect: {exc} (kaitiaki.yaml sets dialect: {platform}).",
            hint=f"drop --dialect, or name a dialect built on {platform!r}.",
        ) from None


def read_sql(path: str) -> str:
    target = Path(path)
    if not target.is_file():
        raise KaitiakiError("file not found.", path=path, hint="check the path.")
    data = target.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", errors="replace") if exc.start > 0 else "\ufffd"


SQL_GLOBS = ("*.sql",)
SKIPPED_FOLDERS = frozenset(
    {".git", ".venv", "venv", "node_modules", "__pycache__", "target", "dbt_packages"}
)


def sql_files(
    paths: Sequence[str], include: Sequence[str] = SQL_GLOBS, exclude: Sequence[str] = ()
) -> list[Path]:
    """The files to check: a file as given; a folder walked (sorted, hidden and build folders
    skipped) for files matching an ``include`` glob and no ``exclude`` glob. Globs match the
    path relative to the folder or the file name (``*.sql``, ``staging/**``, ``*_test.sql``)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(_walk(path, include, exclude))
        elif path.is_file():
            out.append(path)
        else:
            raise KaitiakiError("file not found.", path=raw, hint="check the path.")
    return list(dict.fromkeys(out))


def _walk(folder: Path, include: Sequence[str], exclude: Sequence[str]) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part in SKIPPED_FOLDERS for part in relative.parts[:-1]):
            continue
        if path.is_file() and _matches(relative, include) and not _matches(relative, exclude):
            found.append(path)
    return found


def _matches(relative: Path, globs: Sequence[str]) -> bool:
    return any(relative.match(g) or fnmatch.fnmatch(relative.as_posix(), g) for g in globs)


def display_path(path: str, settings: Settings) -> str:
    """A SQL file's name in job ids: relative to kaitiaki.yaml's folder when inside it, else
    absolute, so a file elsewhere cannot take the id (and the waivers) of one inside it."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(settings.base_dir.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix() if settings.path is not None else Path(path).as_posix()


class KaitiakiGroup(click.Group):
    """Adds the adapters' command groups (``kaitiaki dbt``) through the plugin hook."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_added = False

    def _add_plugin_commands(self) -> None:
        if not self._plugins_added:
            self._plugins_added = True
            from kaitiaki.plugins import get_plugin_manager

            get_plugin_manager().hook.kaitiaki_register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)


@click.group(cls=KaitiakiGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="kaitiaki")
def cli() -> None:
    """kaitiaki — a policy-as-code gate for personal information in data pipelines.

    \b
    Examples:
      kaitiaki analyze jobs/*.sql --dialect snowflake --format json
      kaitiaki check jobs/report.sql --purpose readmission-research --destination external
      kaitiaki dbt build --project-dir examples/nz_social
      kaitiaki policy test policies --coverage
      kaitiaki scan examples/nz_social/nz_social.duckdb --sample 500
    """


# --- analyze ---------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True)
@click.option("--dialect", help="SQL dialect (any sqlglot dialect; default: kaitiaki.yaml, else postgres).")
@click.option(
    "--schema", "schema_path", type=click.Path(dir_okay=False), help="table → {column: type} YAML/JSON."
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="json", show_default=True)
@config_option
@click.pass_context
def analyze(
    ctx: click.Context,
    paths: Sequence[str],
    dialect: str | None,
    schema_path: str | None,
    fmt: str,
    config_path: str | None,
) -> None:
    """Print the facts kaitiaki finds in SQL files: columns, uses, transforms, lineage, joins.

    Exits 2 if any file had errors. With --config, columns carry their categories.

    \b
    Example:
      kaitiaki analyze jobs/report.sql --dialect bigquery --schema schema.yaml
    """
    from kaitiaki.analysis import analyze_sql
    from kaitiaki.analysis.schema import load_schema_file, normalise_schema
    from kaitiaki.gate import settings_schema

    settings = settings_from(ctx, config_path)
    dialect_name = check_dialect(dialect) or settings.dialect or "postgres"
    schema = settings_schema(settings, dialect_name)
    if schema_path:
        extra = normalise_schema(load_schema_file(Path(schema_path)), dialect_name, settings.identifiers)
        schema = {**schema, **extra}
    results: list[SqlFacts] = []
    for path in paths:
        results.append(
            analyze_sql(
                read_sql(path),
                dialect=dialect_name,
                schema=schema,
                path=path,
                limits=settings.limits,
                identifiers=settings.identifiers,
                masks=settings.pseudonymisation.masks(),
            )
        )
    classified = bool(config_path or os.environ.get("KAITIAKI_CONFIG"))
    if fmt == "json":
        click.echo(
            json.dumps({"files": [_analysis_json(f, settings, classified) for f in results]}, indent=2)
        )
    else:
        from kaitiaki.report.analyze_text import render_analysis_text

        click.echo(render_analysis_text(results), nl=False)
    if any(f.errors for f in results):
        sys.exit(2)


def _analysis_json(facts: SqlFacts, settings: Settings, classified: bool) -> dict[str, Any]:
    doc = facts.to_dict(with_categories=False)
    if classified:
        from kaitiaki.classify import classify

        result = classify(facts, catalog=settings.catalog, strict_catalog=settings.strict_catalog)
        doc["columns"] = [c.to_dict(with_categories=True) for c in result.columns]
    return doc


# --- check -----------------------------------------------------------------------------------


def job_options(command: Any) -> Any:
    """The options that describe SQL-file jobs, shared by ``check`` and ``report``."""
    options = [
        click.argument("paths", nargs=-1, required=True),
        config_option,
        click.option(
            "--purpose", help="Purpose id from the register in kaitiaki.yaml (default: default_purpose)."
        ),
        click.option("--destination", type=click.Choice(DESTINATION_KINDS), help="Where the output goes."),
        click.option("--region", type=click.Choice(REGIONS), help="Region of the destination (default nz)."),
        click.option("--tag", "tags", multiple=True, help="Job tag, e.g. retention:P1Y, insight, conf:rr3."),
        click.option("--dialect", help="SQL dialect (default: kaitiaki.yaml, else postgres)."),
        click.option("--mode", type=click.Choice(MODES), help="Override the mode: audit, warn or enforce."),
        click.option(
            "--include",
            multiple=True,
            help="In folders, check files matching this glob (repeatable; default *.sql).",
        ),
        click.option(
            "--exclude", multiple=True, help="In folders, skip files matching this glob (repeatable)."
        ),
        click.option(
            "--stdin-name", help="The path to name SQL read from stdin (-) by, e.g. the file an editor holds."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


STDIN = "-"


def sql_verdicts(ctx: click.Context, paths: Sequence[str], options: dict[str, Any]) -> list[Verdict]:
    """Decide SQL files (folders walked, ``-`` for stdin) as one estate (lineage crosses files)."""
    from kaitiaki.gate import Gate, sql_job

    settings = settings_from(ctx, options["config_path"])
    dialect_name = platform_dialect(check_dialect(options["dialect"]), settings.dialect)
    base = settings.default_destination
    dest = destination_from(
        {
            "kind": options["destination"] or base.kind,
            "region": options["region"] or base.region,
            "name": base.name,
        }
    )
    sources = job_sources(paths, options, settings)
    if not sources:
        raise KaitiakiError(
            "no SQL files to check.",
            hint=f"the folders hold no file matching {', '.join(options_include(options))}.",
        )
    jobs = [
        sql_job(
            Path(name),
            display_path=name,
            sql=sql,
            dialect=dialect_name,
            purpose=options["purpose"],
            destination=dest,
            tags=options["tags"],
        )
        for name, sql in sources
    ]
    return Gate(settings, mode=options["mode"]).decide_all(jobs)


def options_include(options: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(options.get("include") or ()) or SQL_GLOBS


def job_sources(
    paths: Sequence[str], options: Mapping[str, Any], settings: Settings
) -> list[tuple[str, str]]:
    """(name in the job id, SQL) for each file; ``-`` reads stdin, named by --stdin-name."""
    out: list[tuple[str, str]] = []
    files = [p for p in paths if p != STDIN]
    for path in sql_files(files, options_include(options), tuple(options.get("exclude") or ())):
        out.append((display_path(str(path), settings), read_sql(str(path))))
    if STDIN in paths:
        name = options.get("stdin_name") or "<stdin>"
        out.append((display_path(name, settings) if options.get("stdin_name") else name, sys.stdin.read()))
    return out


@cli.command(context_settings=CONTEXT)
@job_options
@click.option(
    "--format",
    "formats",
    multiple=True,
    help="text, json, sarif, junit, github, gitlab, markdown or html; FMT=FILE writes to a file "
    "(repeatable: --format text --format sarif=kaitiaki.sarif). Default: text.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the format without =FILE here, not to stdout.",
)
@click.pass_context
def check(
    ctx: click.Context, /, paths: Sequence[str], formats: Sequence[str], output: str | None, **options: Any
) -> None:
    """Decide SQL files against the policies: exit 0 allowed, 1 denied, 2 usage error.

    PATH may be a folder (walked for --include globs, default *.sql, minus --exclude globs) or
    - for SQL on stdin.

    \b
    Examples:
      kaitiaki check jobs/*.sql --purpose readmission-research
      kaitiaki check jobs/ --exclude 'scratch/**' --format text --format sarif=kaitiaki.sarif
      kaitiaki check jobs/export.sql --destination external --region offshore --format sarif
      git show HEAD:jobs/a.sql | kaitiaki check - --stdin-name jobs/a.sql
    """
    from kaitiaki.gate import exit_code

    targets = output_targets(formats, output)
    verdicts = sql_verdicts(ctx, paths, options)
    write_outputs(targets, verdicts)
    sys.exit(exit_code(verdicts))


def output_targets(formats: Sequence[str], output: str | None) -> list[tuple[str, str | None]]:
    """``--format FMT[=FILE]`` options → (format, file or None for stdout), checked before any
    work: unknown formats and two formats on stdout are usage errors."""
    from kaitiaki.report import formats as known_formats

    targets: list[tuple[str, str | None]] = []
    for item in formats or ("text",):
        fmt, sep, file = item.partition("=")
        if sep and not file:
            raise KaitiakiError(f"--format {item}: name a file after '='.")
        targets.append((fmt.strip(), file or None))
    available = known_formats()
    for fmt, _ in targets:
        if fmt not in available:
            raise KaitiakiError(
                f"unknown report format {fmt!r}.", hint=f"available formats: {', '.join(available)}."
            )
    to_stdout = [fmt for fmt, file in targets if file is None]
    if len(to_stdout) > 1:
        raise KaitiakiError(
            f"formats {', '.join(to_stdout)} would all go to stdout.",
            hint="give all but one a file: --format sarif=kaitiaki.sarif.",
        )
    return [(fmt, file if file is not None else output) for fmt, file in targets]


def write_outputs(targets: Sequence[tuple[str, str | None]], verdicts: Sequence[Verdict]) -> None:
    from kaitiaki.report import render

    for fmt, file in targets:
        if file is None:
            click.echo(render(fmt, verdicts, color=_color(fmt)), nl=False)
            continue
        path = Path(file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(fmt, verdicts), encoding="utf-8")
        click.echo(f"kaitiaki: wrote {fmt} to {file}", err=True)


@cli.command(context_settings=CONTEXT)
@job_options
@click.option("--out", type=click.Path(dir_okay=False), default="kaitiaki-report.html", show_default=True)
@click.pass_context
def report(ctx: click.Context, /, paths: Sequence[str], out: str, **options: Any) -> None:
    """Write the HTML estate report: every job's decision and how identifying columns flow.

    One self-contained file (no network when viewed). For a dbt project use
    ``kaitiaki dbt check --format html > report.html``. Exit status as for ``check``.

    \b
    Example:
      kaitiaki report jobs/*.sql --out estate.html
    """
    from kaitiaki.gate import exit_code
    from kaitiaki.report.html import render_html

    verdicts = sql_verdicts(ctx, paths, options)
    waivers = settings_from(ctx, options["config_path"]).waivers
    Path(out).write_text(render_html(verdicts, waivers=waivers), encoding="utf-8")
    click.echo(f"kaitiaki: wrote {out} ({len(verdicts)} jobs)", err=True)
    sys.exit(exit_code(verdicts))


def _color(fmt: str) -> bool:
    return fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ


# --- scan, purposes, plugins -----------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("dsn")
@click.option("--tables", multiple=True, help="Only these tables (repeat or comma-separate).")
@click.option("--sample", default=500, show_default=True, type=click.IntRange(1, 1_000_000))
@config_option
def scan(dsn: str, tables: Sequence[str], sample: int, config_path: str | None) -> None:
    """Sample a database and print proposed catalog YAML (shares that matched, never values).

    \b
    Example:
      kaitiaki scan duckdb:///data/warehouse.duckdb --tables cms.clients --sample 1000
    """
    from kaitiaki.scan import scan as run_scan

    names = [t.strip() for item in tables for t in item.split(",") if t.strip()]
    click.echo(run_scan(dsn, names or None, sample), nl=False)


@cli.group(context_settings=CONTEXT)
def purposes() -> None:
    """The purpose register in kaitiaki.yaml."""


@purposes.command("list")
@config_option
@click.pass_context
def purposes_list(ctx: click.Context, config_path: str | None) -> None:
    """List registered purposes with approver, expiry and what they allow."""
    settings = settings_from(ctx, config_path)
    if not settings.purposes:
        click.echo("No purposes are registered (add them under `purposes:` in kaitiaki.yaml).")
        return
    for purpose in settings.purposes.values():
        click.echo(f"{purpose.id}: {purpose.description}")
        click.echo(
            f"  approved by: {purpose.approved_by or '(nobody)'}; expires: {purpose.expires or 'never'}"
        )
        click.echo(f"  categories: {', '.join(purpose.allowed_categories) or '(none)'}")
        if purpose.allowed_uses:
            click.echo(f"  uses: {', '.join(purpose.allowed_uses)}")
        click.echo(f"  linking approved: {'yes' if purpose.linking_approved else 'no'}")


@cli.command("plugins", context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def plugins_command(fmt: str) -> None:
    """List installed plugins and the hooks each implements."""
    from kaitiaki.plugins import plugin_listing

    rows = plugin_listing()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        hooks = row["hooks"]
        assert isinstance(hooks, list)
        click.echo(f"{row['name']}  [{row['distribution']}]\n    {', '.join(hooks) or '(no hooks)'}")


# --- config ----------------------------------------------------------------------------------


@cli.group("config", context_settings=CONTEXT)
def config_group() -> None:
    """kaitiaki.yaml: check it for governance mistakes, print its JSON Schema."""


@config_group.command("check")
@click.argument("paths", nargs=-1)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="A dbt manifest.json: waivers must name one of its models.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@config_option
@click.pass_context
def config_check(
    ctx: click.Context, paths: Sequence[str], manifest: str | None, fmt: str, config_path: str | None
) -> None:
    """Check kaitiaki.yaml against the policies: exit 1 on errors, 0 with warnings listed.

    Errors: rule ids no policy defines (case-sensitive), waivers of hard rules, policy_data keys
    the policies do not define. Warnings: expired or incomplete waivers, waivers that match no
    job, purposes past their expiry. PATHS (SQL files or folders) and --manifest say which jobs
    exist; without them a waiver's ``sql:`` job must be a file beside kaitiaki.yaml.

    \b
    Example (governance CI):
      kaitiaki config check --manifest target/manifest.json
    """
    from kaitiaki.config_check import ERROR, settings_problems

    settings = settings_from(ctx, config_path)
    if settings.path is None:
        raise KaitiakiError("no kaitiaki.yaml found.", hint="name one with --config or $KAITIAKI_CONFIG.")
    jobs = known_jobs(settings, paths, manifest)
    problems = settings_problems(settings, jobs=jobs)
    errors = sum(1 for p in problems if p.severity == ERROR)
    if fmt == "json":
        doc = {"ok": errors == 0, "config": str(settings.path), "problems": [p.to_dict() for p in problems]}
        click.echo(json.dumps(doc, indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
        warnings = len(problems) - errors
        click.echo(f"kaitiaki: {settings.path}: {errors} error(s), {warnings} warning(s)")
    sys.exit(1 if errors else 0)


def known_jobs(settings: Settings, paths: Sequence[str], manifest: str | None) -> set[str] | None:
    """The job ids that exist, from SQL paths and a dbt manifest; None when neither is given."""
    if not paths and manifest is None:
        return None
    jobs = {f"sql:{display_path(str(p), settings)}" for p in sql_files(paths)}
    if manifest is not None:
        jobs |= manifest_jobs(Path(manifest))
    return jobs


def manifest_jobs(path: Path) -> set[str]:
    """``dbt:model.<project>.<name>`` for every model of a manifest.json (read as plain JSON)."""
    try:
        nodes = json.loads(path.read_text(encoding="utf-8")).get("nodes", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise KaitiakiError(f"cannot read the manifest: {exc}.", path=str(path)) from None
    return {
        f"dbt:{key}" for key, node in nodes.items() if isinstance(node, dict) and key.startswith("model.")
    }


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of kaitiaki.yaml (for editors: see docs/configuration.md).

    \b
    Example:
      kaitiaki config schema > .kaitiaki.schema.json
    """
    from kaitiaki.config_model import schema_text

    click.echo(schema_text(), nl=False)


# --- waivers ---------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def waivers() -> None:
    """The waivers in kaitiaki.yaml: what is in force, expiring, ignored or unused."""


@waivers.command("list")
@click.argument("paths", nargs=-1)
@click.option("--expiring", help="Only waivers in force that end within this span (30d, 2w, 3m).")
@click.option("--unused", is_flag=True, help="Only waivers that lifted no finding in the latest decisions.")
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    help="Decision log to read use from (default: kaitiaki.yaml's decision_log).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@config_option
@click.pass_context
def waivers_list(
    ctx: click.Context,
    paths: Sequence[str],
    expiring: str | None,
    unused: bool,
    log_path: str | None,
    fmt: str,
    config_path: str | None,
) -> None:
    """List waivers with their state: in force, expiring, ignored (and why) or invalid.

    Whether a waiver was used comes from decisions: with PATHS the SQL files are decided now,
    else the decision log is read (the latest decision of each job). Exit 0.

    \b
    Examples:
      kaitiaki waivers list --expiring 30d
      kaitiaki waivers list jobs/ --unused
    """
    import datetime as dt

    from kaitiaki.waivers import parse_span, render_rows, usage_from_log, usage_from_verdicts, waiver_rows

    settings = settings_from(ctx, config_path)
    span = parse_span(expiring) if expiring else 30
    usage = None
    if paths:
        usage = usage_from_verdicts(
            sql_verdicts(ctx, [str(p) for p in sql_files(paths)], job_defaults(config_path))
        )
    else:
        log_file = Path(log_path) if log_path else settings.decision_log_file
        if log_file is not None and log_file.is_file():
            usage = usage_from_log(log_file)
        elif unused:
            raise KaitiakiError(
                "--unused needs decisions: name SQL files or folders, or a decision log with --log."
            )
    rows = waiver_rows(
        settings, today=dt.datetime.now(dt.timezone.utc).date(), usage=usage, expiring_days=span
    )
    if expiring:
        rows = [r for r in rows if r.state == "expiring"]
    if unused:
        rows = [r for r in rows if r.used is False]
    if fmt == "json":
        click.echo(json.dumps({"waivers": [r.to_dict() for r in rows]}, indent=2))
    else:
        click.echo(render_rows(rows, usage), nl=False)


def job_defaults(config_path: str | None) -> dict[str, Any]:
    """The job options of ``check`` at their defaults (purpose and destination from kaitiaki.yaml)."""
    return {
        "config_path": config_path,
        "purpose": None,
        "destination": None,
        "region": None,
        "tags": (),
        "dialect": None,
        "mode": None,
    }


# --- pre-commit ------------------------------------------------------------------------------


@cli.group("pre-commit", context_settings=CONTEXT)
def pre_commit_group() -> None:
    """Helpers behind the hooks in .pre-commit-hooks.yaml (see docs/ci.md)."""


@pre_commit_group.command("dbt", context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("files", nargs=-1, type=click.UNPROCESSED)
@click.option("--state", "state", help="A folder with the production manifest.json: check state:modified+.")
@click.option("--manifest", help="A compiled manifest.json of this checkout: check the changed models in it.")
def pre_commit_dbt(files: Sequence[str], state: str | None, manifest: str | None) -> None:
    """``kaitiaki dbt check`` for the models a commit changes.

    With --state, dbt selects ``state:modified+`` against that manifest (the changed models and
    everything downstream); with --manifest, the changed models' names are selected from it (no
    warehouse needed); with neither, the changed models are compiled by dbt. Other options
    (--project-dir, --profiles-dir, --target, --format …) are passed on.
    """
    options = [f for f in files if f.startswith("-")]
    changed = [f for f in files if not f.startswith("-")]
    args = dbt_check_args(changed, options, state=state, manifest=manifest)
    if args is None:
        click.echo("kaitiaki: no dbt model changed.", err=True)
        return
    cli.main(args=args, prog_name="kaitiaki", standalone_mode=False)


def dbt_check_args(
    changed: Sequence[str], options: Sequence[str], *, state: str | None, manifest: str | None
) -> list[str] | None:
    """The ``kaitiaki dbt check`` command line for a commit, or None when no model changed."""
    models = sorted({Path(f).stem for f in changed if f.endswith(".sql") and "models" in Path(f).parts})
    if state is not None:
        return ["dbt", "check", *options, "--select", "state:modified+", "--state", state]
    if not models:
        return None
    source = ["--manifest", manifest] if manifest is not None else []
    return ["dbt", "check", *source, *options, "--select", *models]


# --- policy ----------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def policy() -> None:
    """Test, document and bundle the Rego policies."""


def _policy_paths(ctx: click.Context, config_path: str | None, dirs: Sequence[str]) -> list[Path]:
    from kaitiaki.engine import policy_paths

    if dirs:
        missing = [d for d in dirs if not Path(d).exists()]
        if missing:
            raise KaitiakiError(f"policy path not found: {', '.join(missing)}.")
        return [Path(d) for d in dirs]
    return policy_paths(settings_from(ctx, config_path))


@policy.command("test")
@click.argument("dirs", nargs=-1)
@click.option("--coverage", is_flag=True, help="Report line coverage per policy file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@config_option
@click.pass_context
def policy_test(
    ctx: click.Context, dirs: Sequence[str], coverage: bool, fmt: str, config_path: str | None
) -> None:
    """Run every ``test_*`` rule, like ``opa test``; exit 1 if any fails."""
    from kaitiaki.engine.governance import run_policy_tests

    report = run_policy_tests(_policy_paths(ctx, config_path, dirs), coverage=coverage)
    click.echo(json.dumps(report.to_dict(), indent=2) if fmt == "json" else report.render_text(), nl=False)
    sys.exit(1 if report.failed else 0)


@policy.command("docs")
@click.argument("dirs", nargs=-1)
@click.option("--out", type=click.Path(dir_okay=False), default="docs/policies.md", show_default=True)
@config_option
@click.pass_context
def policy_docs(ctx: click.Context, dirs: Sequence[str], out: str, config_path: str | None) -> None:
    """Write the policy reference (Markdown) from every rule's METADATA."""
    from kaitiaki.engine.governance import write_policy_docs

    write_policy_docs(_policy_paths(ctx, config_path, dirs), Path(out))
    click.echo(f"wrote {out}", err=True)


@policy.group("bundle")
def bundle() -> None:
    """OPA bundles."""


@bundle.command("build")
@click.argument("dirs", nargs=-1)
@click.option("--out", type=click.Path(dir_okay=False), default="bundle.tar.gz", show_default=True)
@click.option("--revision", help="Bundle revision (default: the policies' sha256).")
@click.option(
    "--signing-key",
    type=click.Path(dir_okay=False),
    help="Sign the bundle (.signatures.json, which OPA verifies) with this PEM RSA private key "
    "(or, for HS*, this secret file).",
)
@click.option(
    "--signing-alg", default="RS256", show_default=True, help="RS256|RS384|RS512|HS256|HS384|HS512."
)
@click.option("--signing-key-id", default="default", show_default=True, help="The key id OPA verifies with.")
@config_option
@click.pass_context
def bundle_build(
    ctx: click.Context,
    dirs: Sequence[str],
    out: str,
    revision: str | None,
    signing_key: str | None,
    signing_alg: str,
    signing_key_id: str,
    config_path: str | None,
) -> None:
    """Build an OPA-compatible bundle (.tar.gz with .manifest) an OPA server can load."""
    from kaitiaki.engine.governance import build_bundle
    from kaitiaki.engine.signing import read_signing_key

    settings = settings_from(ctx, config_path)
    signing = read_signing_key(Path(signing_key), signing_alg, signing_key_id) if signing_key else None
    paths = _policy_paths(ctx, config_path, dirs)
    path = build_bundle(paths, Path(out), revision, settings=settings, signing=signing)
    click.echo(f"wrote {path}" + (" (signed)" if signing else ""), err=True)


# --- log, report -----------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def log() -> None:
    """The tamper-evident decision log."""


@log.command("verify")
@click.argument("file", required=False)
@click.option(
    "--stream",
    is_flag=True,
    help="FILE ('-': standard input) holds what a stdout or HTTP sink sent: task output with "
    "JSON-line records, or a collector's batches (gzipped JSON arrays, as received); one chain per process.",
)
@config_option
@click.pass_context
def log_verify(ctx: click.Context, file: str | None, stream: bool, config_path: str | None) -> None:
    """Check the hash chain; report the first edited, deleted or reordered record (exit 1)."""
    from kaitiaki.report.decision_log import verify

    if stream:
        verify_sink_stream(file or "-")
    if file is None:
        settings = settings_from(ctx, config_path)
        if settings.decision_log_file is None:
            where = "turned off" if settings.decision_log is None else f"sent to {settings.decision_log}"
            raise KaitiakiError(
                f"the decision log is {where} in kaitiaki.yaml; name a FILE to verify.",
                hint="for the records a stdout or HTTP sink sent: `kaitiaki log verify --stream FILE` "
                "(- for stdin).",
            )
        file = str(settings.decision_log_file)
    if not Path(file).is_file():
        raise KaitiakiError("decision log not found.", path=file)
    result = verify(Path(file))
    click.echo(result.render_text())
    sys.exit(0 if result.ok else 1)


def verify_sink_stream(file: str) -> None:
    """``log verify --stream``: read FILE (or stdin), verify every chain in it, exit 0 or 1."""
    from kaitiaki.report.stream_verify import verify_stream

    if file == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            data, name = Path(file).read_bytes(), file
        except OSError as exc:
            raise KaitiakiError(f"cannot read the stream: {exc.strerror or exc}.", path=file) from None
    result = verify_stream(data, name)
    click.echo(result.render_text())
    sys.exit(0 if result.ok else 1)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: user errors exit 2 with one paragraph, never a traceback."""
    os.environ.setdefault("RUST_BACKTRACE", "0")
    os.environ.setdefault("RUST_LIB_BACKTRACE", "0")
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="kaitiaki", standalone_mode=False)
    except KaitiakiError as error:
        fail(error)
    except click.exceptions.Abort:
        click.echo("kaitiaki: aborted.", err=True)
        sys.exit(2)
    except click.ClickException as error:
        error.show()
        sys.exit(2 if error.exit_code not in (0,) else 0)
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(2)
    except Exception as error:  # the last line of defence: no traceback ever reaches a user
        click.echo(
            f"kaitiaki: internal error: {type(error).__name__}: {error}. Nothing was allowed. "
            "Please report this with the command you ran (set KAITIAKI_DEBUG=1 for the traceback).",
            err=True,
        )
        if os.environ.get("KAITIAKI_DEBUG"):
            raise
        sys.exit(2)
