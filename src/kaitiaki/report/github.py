"""The ``github`` format: GitHub Actions workflow commands that annotate the pull request.

``::error file=…,line=…,col=…,endColumn=…,title=…::message`` per finding (``warning`` for
waived or not-enforced findings, ``notice`` for advisory ones). Escaping follows the Actions
toolkit: in the message ``%``, CR and LF are percent-encoded; in property values ``:`` and
``,`` are too, so a path or title can never end the property list early.
"""

from __future__ import annotations

from collections.abc import Sequence

from kaitiaki.model import Verdict
from kaitiaki.report.findings import Finding, findings, ignored_waiver_text

COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    return "".join(annotation(f) + "\n" for verdict in verdicts for f in findings(verdict))


def annotation(finding: Finding) -> str:
    v = finding.violation
    job = finding.verdict.job
    properties: list[tuple[str, str]] = []
    if job.source.path:
        properties.append(("file", job.source.path))
        if finding.file_line is not None and finding.file_line >= 1:
            properties.append(("line", str(finding.file_line)))
            if finding.start_column is not None and finding.end_column is not None:
                properties.append(("col", str(finding.start_column)))
                properties.append(("endColumn", str(finding.end_column)))
    properties.append(("title", f"kaitiaki {v.rule}: {v.title or v.rule} ({finding.status})"))
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{COMMAND[finding.sarif_level]} {props}::{escape_data(message(finding))}"


def message(finding: Finding) -> str:
    v = finding.violation
    lines = [v.message or v.title or v.rule, f"Job: {finding.verdict.job.id}"]
    if v.columns:
        lines.append(f"Columns: {', '.join(v.columns)}")
    rule = ", ".join(part for part in (v.level, v.guideline, v.law) if part)
    lines.append(f"Rule: {v.rule} ({rule})")
    if v.remediation:
        lines.append(f"Fix: {v.remediation}")
    ignored = ignored_waiver_text(finding)
    if ignored:
        lines.append(f"Waiver ignored: {ignored}")
    return "\n".join(lines)
