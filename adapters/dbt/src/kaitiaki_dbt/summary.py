"""The run/build summary on stderr: what was blocked and why, what was left out with it, what ran."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from kaitiaki.model import Verdict
from kaitiaki_dbt.manifest import DbtProject

if TYPE_CHECKING:
    from rich.console import Console

LISTED = 40


WIDTH = 80


def exclusion_selectors(project: DbtProject, unique_ids: Iterable[str]) -> list[str]:
    """``--exclude`` values for nodes and all their descendants: full fqn plus ``+``.

    dbt has no unique-id selector; the full dotted fqn names exactly one node (``pkg.model``
    alone does not match a model in a sub-folder).
    """
    nodes = project.graph()
    return [".".join(nodes[uid]["fqn"]) + "+" for uid in sorted(unique_ids) if uid in nodes]


def names(project: DbtProject | None, unique_ids: Iterable[str]) -> list[str]:
    nodes = project.graph() if project is not None else {}
    return sorted(str(nodes[uid].get("name", uid)) for uid in unique_ids if uid in nodes)


def status_word(verdict: Verdict) -> str:
    if verdict.decision.allow:
        return "ALLOWED"
    return "BLOCKED" if verdict.blocked else "DENIED"


def node_label(verdict: Verdict) -> tuple[str, str]:
    """``(resource type, package.name)`` of a decided node, as dbt names it in its log lines."""
    kind = str(verdict.job.meta.get("resource_type") or verdict.job.kind)
    uid = str(verdict.job.meta.get("unique_id") or verdict.job.id)
    return kind, uid.split(".", 1)[1] if "." in uid else uid


def progress_line(done: int, total: int, verdict: Verdict, seconds: float) -> str:
    """``12:00:01  3 of 16 CHECK model nz_social.x ........ [ALLOWED in 0.02s]``."""
    kind, label = node_label(verdict)
    now = dt.datetime.now().strftime("%H:%M:%S")
    head = f"{now}  {done} of {total} CHECK {kind} {label} "
    tail = f" [{status_word(verdict)} in {seconds:.2f}s]"
    return f"{head}{'.' * max(3, WIDTH - len(head) - len(tail))}{tail}"


class ProgressPrinter:
    """One line per decided node, in dbt's own style, as the check goes (``progress_line``)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.done = 0

    def __call__(self, verdict: Verdict, seconds: float) -> None:
        self.done += 1
        self.stream.write(progress_line(self.done, self.total, verdict, seconds) + "\n")
        self.stream.flush()


class ProgressBar:
    """On a terminal: one rich progress bar (nodes decided of the total, how many denied, the
    node being decided), with each denied node's dbt-style line printed above it, so what
    matters stays in the scrollback while hundreds of allowed nodes do not."""

    def __init__(self, total: int, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Column

        self.total = total
        self.done = 0
        self.progress = Progress(
            TextColumn("kaitiaki CHECK"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[denied]} denied", table_column=Column(no_wrap=True)),
            TimeElapsedColumn(),
            TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis")),
            console=console,
        )
        self.task = self.progress.add_task("", total=total, denied=0)
        self.denied = 0

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, verdict: Verdict, seconds: float) -> None:
        self.done += 1
        if not verdict.decision.allow:
            self.denied += 1
            line = progress_line(self.done, self.total, verdict, seconds)
            self.progress.console.print(line, markup=False, highlight=False, style="red", soft_wrap=True)
        kind, label = node_label(verdict)
        current = f"{kind} {label}" if self.done < self.total else ""
        self.progress.update(self.task, advance=1, denied=self.denied, description=current)


@contextlib.contextmanager
def progress_reporter(
    total: int, stream: TextIO, *, quiet: bool, console: Console | None = None
) -> Iterator[Callable[[Verdict, float], None] | None]:
    """How the check shows its progress: nothing with ``--quiet``; a rich progress bar when
    ``stream`` is a terminal (or ``console`` is given); else one plain line per node."""
    if quiet:
        yield None
        return
    if console is None and not stream.isatty():
        yield ProgressPrinter(total, stream)
        return
    if console is None:
        from rich.console import Console

        console = Console(file=stream, stderr=stream is sys.stderr)
    with ProgressBar(total, console) as bar:
        yield bar


def blocked_report(
    verdicts: Sequence[Verdict],
    descendants: Iterable[str],
    project: DbtProject | None,
    explain: Callable[[Verdict], str],
) -> str:
    """Each denied node with its explanation, then the descendants excluded with them."""
    denied = [v for v in verdicts if not v.decision.allow]
    if not denied:
        return f"kaitiaki: all {len(verdicts)} checked nodes are allowed.\n"
    enforcing = any(v.blocked for v in denied)
    verb = "blocked" if enforcing else f"denied (mode {denied[0].mode}: running anyway)"
    lines = [f"kaitiaki: {len(denied)} of {len(verdicts)} nodes {verb}:", ""]
    for verdict in denied:
        lines.append(explain(verdict).rstrip())
        lines.append("")
    left_out = names(project, descendants)
    if enforcing and left_out:
        lines.append(f"kaitiaki: excluded with them (downstream): {', '.join(left_out)}")
    return "\n".join(lines) + "\n"


def ran_report(result: Any) -> str:
    """What dbt ran, by status, from its run results (names only, at most LISTED of them)."""
    results = list(getattr(getattr(result, "result", None), "results", None) or ())
    if not results:
        return "kaitiaki: dbt ran nothing.\n"
    statuses = Counter(str(r.status) for r in results)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    shown = [f"{r.node.name} ({r.status})" for r in results[:LISTED]]
    more = f", and {len(results) - LISTED} more" if len(results) > LISTED else ""
    return f"kaitiaki: dbt ran {len(results)} nodes ({counts}): {', '.join(shown)}{more}\n"
