"""dbt, in-process through ``dbtRunner``: parse once, compile, select, then run what was allowed.

One parsed Manifest object is shared by every step (parse → compile → ls → run/build), so the
models that were checked are exactly the models that run. dbt is imported here only, and only
when a command needs it (the import costs seconds). dbt writes its logs to stdout; every call
here sends them to stderr, which keeps stdout for kaitiaki's chosen format.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaitiaki.errors import KaitiakiError

PROJECT_OPTIONS = (
    "--project-dir",
    "--profiles-dir",
    "--target",
    "-t",
    "--profile",
    "--vars",
    "--target-path",
)
SELECTION_OPTIONS = ("--select", "-s", "--models", "-m", "--model", "--exclude", "--selector", "--state")
COMPILE_FLAGS = ("--full-refresh", "-f", "--empty")
MULTI_VALUE_OPTIONS = ("--select", "-s", "--models", "-m", "--model", "--exclude")


class DbtFailure(KaitiakiError):
    """dbt itself failed (usage, profile, compilation or run error): exit 2, dbt's error shown."""


@dataclass(frozen=True)
class DbtArgs:
    """The dbt arguments kaitiaki needs to read, split out of a pass-through argument list."""

    project: tuple[str, ...] = ()
    selection: tuple[str, ...] = ()
    compile_flags: tuple[str, ...] = ()

    def value(self, *names: str) -> str | None:
        tokens = list(self.project)
        for index, token in enumerate(tokens):
            option, _, inline = token.partition("=")
            if option in names:
                return inline or (tokens[index + 1] if index + 1 < len(tokens) else None)
        return None

    @property
    def project_dir(self) -> Path:
        return Path(self.value("--project-dir") or ".")

    @property
    def target_dir(self) -> Path:
        target = Path(self.value("--target-path") or "target")
        return target if target.is_absolute() else self.project_dir / target


def split_dbt_args(args: Sequence[str]) -> DbtArgs:
    """Pick the project, selection and compile options out of ``args`` (dbt's syntax)."""
    project: list[str] = []
    selection: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        option, has_inline, _ = token.partition("=")
        bucket = project if option in PROJECT_OPTIONS else selection if option in SELECTION_OPTIONS else None
        index += 1
        if bucket is None:
            continue
        bucket.append(token)
        if has_inline:
            continue
        if option in MULTI_VALUE_OPTIONS:
            while index < len(args) and not args[index].startswith("-"):
                bucket.append(args[index])
                index += 1
        elif index < len(args):
            bucket.append(args[index])
            index += 1
    flags = tuple(dict.fromkeys(token for token in args if token in COMPILE_FLAGS))
    return DbtArgs(project=tuple(project), selection=tuple(selection), compile_flags=flags)


@contextlib.contextmanager
def dbt_output(quiet: bool) -> Iterator[io.StringIO]:
    """dbt's stdout, sent to stderr; when ``quiet``, held back and shown only if dbt fails.

    Even with ``--quiet`` dbt prints what ``ls`` lists and the SQL ``compile`` produced; those
    are read from the result, so on success they are noise, and on failure they are context.
    """
    held = io.StringIO()
    with contextlib.redirect_stdout(held if quiet else sys.stderr):
        yield held


def colour_args(args: Sequence[str]) -> list[str]:
    """``--no-use-colors`` when stderr is not a terminal and the user chose nothing."""
    if sys.stderr.isatty() or any(a.startswith(("--use-colors", "--no-use-colors")) for a in args):
        return []
    return ["--no-use-colors"]


class DbtSession:
    """One project's dbt, parsed once; every later step reuses the same Manifest object."""

    def __init__(self, args: DbtArgs, *, quiet: bool = False) -> None:
        self.args = args
        self.quiet = quiet
        self.manifest: Any = None

    def invoke(self, command: str, extra: Sequence[str], *, quiet: bool = True) -> Any:
        """Run one dbt command in-process; a failure raises DbtFailure with dbt's message.

        What is alive before and after a dbt command (dbt's modules, the parsed and compiled
        manifest) stays to the end of the run: ``gc.freeze`` keeps it out of the collector's
        full passes, which otherwise walk all of it again and again (about 0.6 s of CPU on
        720 models; freezing only means those objects are never collected, as they would not be).
        """
        from dbt.cli.main import dbtRunner

        gc.freeze()
        argv = [command, *self.args.project, *extra, *(["--quiet"] if quiet else [])]
        argv += colour_args(argv)
        with dbt_output(quiet) as held:
            try:
                result = dbtRunner(manifest=self.manifest).invoke(argv)
            except Exception as exc:  # dbt's own crash must not become a kaitiaki traceback
                sys.stderr.write(held.getvalue())
                raise DbtFailure(f"dbt {command} crashed: {type(exc).__name__}: {exc}") from None
        if result.exception is not None or not result.success:
            sys.stderr.write(held.getvalue())
        if result.exception is not None:
            raise DbtFailure(
                f"dbt {command} failed: {result.exception}",
                hint="dbt's own messages are above; fix the project and run again.",
            )
        gc.freeze()
        return result

    def parse(self) -> None:
        self.manifest = self.invoke("parse", []).result

    def compile(self, select: Sequence[str]) -> dict[str, Any]:
        """Compile the nodes named by ``select`` (every node when it is empty) and return the
        manifest as manifest.json's dict."""
        if self.manifest is None:
            self.parse()
        selection = ["--select", *select] if select else []
        result = self.invoke("compile", [*self.args.compile_flags, *selection])
        if not result.success:
            raise DbtFailure(
                "dbt compile did not succeed.",
                hint="dbt's own messages are above; fix the model and run again.",
            )
        return self.manifest.writable_manifest().to_dict()  # type: ignore[no-any-return]

    def compile_inline(self, sql: str) -> dict[str, Any]:
        """Compile one inline query (so dbt's compiler runs once, e.g. to render project hooks)."""
        if self.manifest is None:
            self.parse()
        self.invoke("compile", [*self.args.compile_flags, "--inline", sql])
        return self.manifest.writable_manifest().to_dict()  # type: ignore[no-any-return]

    def selected_nodes(self, selection: Sequence[str], types: Sequence[str]) -> set[str]:
        """Unique ids of the nodes of ``types`` dbt's own selector (``dbt ls``) picks."""
        if self.manifest is None:
            self.parse()
        kinds = [token for kind in types for token in ("--resource-type", kind)]
        extra = [*kinds, "--output", "json", "--output-keys", "unique_id", *selection]
        lines = self.invoke("ls", extra).result or []
        return {json.loads(line)["unique_id"] for line in lines}

    def run(self, command: str, args: Sequence[str]) -> Any:
        """``dbt run|build`` with the user's arguments; the result says whether every node passed."""
        return self.invoke(command, args, quiet=False)


def run_dbt(argv: Sequence[str]) -> int:
    """A dbt command run as dbt's own CLI would (output on stdout); dbt's exit code."""
    from dbt.cli.main import dbtRunner

    try:
        result = dbtRunner().invoke(list(argv))
    except Exception as exc:  # dbt's own crash must not become a kaitiaki traceback
        raise DbtFailure(f"dbt {argv[0] if argv else ''} crashed: {type(exc).__name__}: {exc}") from None
    if result.exception is not None:
        return 2
    return 0 if result.success else 1
