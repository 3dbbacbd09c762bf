"""Why a job was blocked or flagged, the way a compiler explains an error (dbt, rustc).

One block per finding: the rule and title, the file:line:column, the SQL line with the column
underlined, the level and what it means, guideline, principle and law, the policy's message, the
fix, and whom to ask. Waived and advisory findings are labelled so no one mistakes them for the
reason a job stopped.
"""

from __future__ import annotations

from collections.abc import Sequence

from kaitiaki.model import Verdict
from kaitiaki.report import styled
from kaitiaki.report.findings import (
    ADVISORY,
    BLOCKING,
    LEVEL_MEANING,
    NOT_ENFORCED,
    WAIVED,
    ExcerptLine,
    Finding,
    ask_text,
    count_summary,
    display_width,
    findings,
    ignored_waiver_text,
    job_status,
    job_status_detail,
    waiver_text,
)
from kaitiaki.report.styled import Line

TAB_SIZE = 4
HEADING = {
    BLOCKING: ("error", styled.ERROR),
    NOT_ENFORCED: ("warning", styled.WARNING),
    WAIVED: ("waived", styled.WAIVED),
    ADVISORY: ("advisory", styled.ADVISORY),
}
STATUS_STYLE = {"BLOCKED": styled.ERROR, "DENIED": styled.WARNING, "ALLOWED": styled.OK}


def explain(verdict: Verdict, *, color: bool) -> str:
    """The explanation of one job's decision; plain text unless ``color``."""
    return styled.render(explain_lines(verdict), color=color)


def explain_lines(verdict: Verdict) -> list[Line]:
    items = findings(verdict)
    lines = [job_heading(verdict, items)]
    lines.append(styled.plain(f"  {job_context(verdict)}"))
    for finding in items:
        lines.append([])
        lines.extend(finding_lines(finding))
    return lines


def job_heading(verdict: Verdict, items: Sequence[Finding]) -> Line:
    status = job_status(verdict)
    return [
        (status, STATUS_STYLE[status]),
        (" ", None),
        (verdict.job.id, styled.EMPHASIS),
        (f" — {job_status_detail(verdict)}; {count_summary(items)}", None),
    ]


def job_context(verdict: Verdict) -> str:
    job = verdict.job
    destination = f"{job.destination.kind}/{job.destination.region}"
    parts = [
        f"{job.kind} {job.name}",
        f"file {job.source.path or job.meta.get('dag_file') or '(none)'}",
        f"purpose {job.purpose or '(none declared)'}",
        f"destination {destination}",
        f"owner {job.owner or '(none)'}",
        f"policy {verdict.decision.policy_revision or '(unknown revision)'}",
    ]
    return " · ".join(parts)


def finding_lines(finding: Finding) -> list[Line]:
    violation = finding.violation
    word, style = HEADING[finding.status]
    title = violation.title or violation.rule
    heading: Line = [(f"{word}[{violation.rule}]", style), (f": {title}", styled.EMPHASIS)]
    if finding.status == NOT_ENFORCED:
        heading.append((f" (would block in enforce mode; {finding.verdict.mode} mode lets it run)", None))
    lines: list[Line] = [heading, location_line(finding)]
    lines.extend(excerpt_block(finding.excerpt))
    lines.extend(note_lines(finding))
    return lines


def location_line(finding: Finding) -> Line:
    path = finding.verdict.job.source.path or finding.verdict.job.id
    where = path
    if finding.file_line is not None:
        where += f":{finding.file_line}"
        if finding.start_column is not None:
            where += f":{finding.start_column}"
    return [("  --> ", styled.GUTTER), (where, None)]


def excerpt_block(excerpt: Sequence[ExcerptLine]) -> list[Line]:
    """The SQL lines with a gutter of file line numbers and carets under the columns."""
    if not excerpt:
        return []
    width = len(str(max(line.file_line for line in excerpt)))
    pad = " " * width
    lines: list[Line] = [[(f" {pad} |", styled.GUTTER)]]
    for line in excerpt:
        lines.append(
            [(f" {line.file_line:>{width}} | ", styled.GUTTER), (line.text.expandtabs(TAB_SIZE), None)]
        )
        if line.marks:
            lines.append([(f" {pad} | ", styled.GUTTER), *caret_segments(line)])
    lines.append([(f" {pad} |", styled.GUTTER)])
    return lines


def caret_segments(line: ExcerptLine) -> Line:
    """Carets under each marked name, then the columns they stand for."""
    out = ""
    for mark in line.marks:
        start = display_width(line.text[: mark.start].expandtabs(TAB_SIZE))
        out += " " * max(0, start - display_width(out)) + "^" * max(1, mark.length)
    labels = ", ".join(
        "columns reached through *" if mark.column == "*" else mark.column for mark in line.marks
    )
    return [(out, styled.ERROR), (f" {labels}", styled.ERROR)]


def note_lines(finding: Finding) -> list[Line]:
    violation = finding.violation
    notes: list[tuple[str, str]] = [
        ("level", f"{violation.level} ({LEVEL_MEANING.get(violation.level, 'unknown level')})"),
    ]
    context = " · ".join(
        part
        for part in (
            violation.guideline and f"guideline: {violation.guideline}",
            violation.principle and f"principle: {violation.principle}",
            violation.law and f"law: {violation.law}",
        )
        if part
    )
    if violation.columns:
        notes.append(("columns", ", ".join(violation.columns)))
    if violation.message:
        notes.append(("why", violation.message))
    waiver = waiver_text(finding)
    if waiver:
        notes.append(("waiver", waiver))
    ignored = ignored_waiver_text(finding)
    if ignored:
        notes.append(("waiver ignored", ignored))
    lines: list[Line] = [
        [("   = ", styled.GUTTER), (f"{label}: ", styled.EMPHASIS), (text, None)] for label, text in notes
    ]
    if context:
        lines.insert(1, [("   = ", styled.GUTTER), (context, None)])
    if violation.remediation:
        lines.append([("help", styled.HELP), (f": {violation.remediation}", None)])
    ask = ask_text(finding)
    if ask:
        lines.append([("ask", styled.HELP), (f": {ask}", None)])
    return lines
