"""The ``markdown`` format: a pull-request comment summary.

A heading with the outcome, a table of jobs and decisions, then one collapsible section per job
with findings (open when the job is blocked): each violation with its rule, level, guideline and
law, the message, the SQL excerpt with the column underlined, the fix and whom to ask. Kept under
GitHub's comment size limit by leaving out the last jobs' details, and saying so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kaitiaki.model import Verdict
from kaitiaki.report import styled
from kaitiaki.report.explain import excerpt_block
from kaitiaki.report.findings import (
    ADVISORY,
    BLOCKING,
    LEVEL_MEANING,
    NOT_ENFORCED,
    WAIVED,
    Finding,
    ask_text,
    count_summary,
    findings,
    ignored_waiver_text,
    job_status,
    job_status_detail,
    waiver_text,
)

MAX_COMMENT_CHARS = 60_000  # GitHub refuses comment bodies over 65,536 characters
JOB_ICON = {"BLOCKED": "❌", "DENIED": "⚠️", "ALLOWED": "✅"}
FINDING_ICON = {BLOCKING: "❌", NOT_ENFORCED: "⚠️", WAIVED: "🔕", ADVISORY: "ℹ️"}
FINDING_WORD = {
    BLOCKING: "blocking",
    NOT_ENFORCED: "would block (not enforced)",
    WAIVED: "waived",
    ADVISORY: "advisory",
}
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def md_escape(text: str) -> str:
    """Free text (policy messages, titles) shown literally, never as Markdown or HTML."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def code_span(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def render_markdown(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    head = "\n".join([heading(verdicts), "", *summary_table(verdicts)]) + "\n"
    sections = [job_section(v) for v in verdicts if findings(v)]
    body = head
    for i, section in enumerate(sections):
        if len(body) + len(section) > MAX_COMMENT_CHARS:
            body += (
                f"\n_…details of {len(sections) - i} more job(s) left out to stay under GitHub's comment "
                "size limit; see the SARIF or JUnit report, or run `kaitiaki check` locally._\n"
            )
            break
        body += "\n" + section
    return body


def heading(verdicts: Sequence[Verdict]) -> str:
    blocked = sum(1 for v in verdicts if v.blocked)
    denied = sum(1 for v in verdicts if not v.blocked and not v.decision.allow)
    total = len(verdicts)
    if blocked:
        return f"## ❌ kaitiaki: {blocked} of {total} job(s) blocked"
    if denied:
        return f"## ⚠️ kaitiaki: {denied} of {total} job(s) denied but not enforced"
    return f"## ✅ kaitiaki: all {total} job(s) allowed"


def summary_table(verdicts: Sequence[Verdict]) -> list[str]:
    rows = ["| | Job | Decision | Findings |", "|---|---|---|---|"]
    for verdict in verdicts:
        status = job_status(verdict)
        rows.append(
            f"| {JOB_ICON[status]} | {code_span(verdict.job.id)} | {md_escape(job_status_detail(verdict))} "
            f"| {md_escape(count_summary(findings(verdict)))} |"
        )
    return rows


def job_section(verdict: Verdict) -> str:
    status = job_status(verdict)
    opened = " open" if verdict.blocked else ""
    parts = [
        f"<details{opened}>",
        f"<summary>{JOB_ICON[status]} <code>{html_escape(verdict.job.id)}</code> — "
        f"{html_escape(job_status_detail(verdict))}</summary>",
        "",
    ]
    for finding in findings(verdict):
        parts.append(finding_section(finding))
    parts.append("</details>")
    return "\n".join(parts) + "\n"


def finding_section(finding: Finding) -> str:
    v = finding.violation
    where = finding.verdict.job.source.path or finding.verdict.job.id
    if finding.file_line is not None:
        where += f":{finding.file_line}"
    context = " · ".join(md_escape(part) for part in (v.guideline, v.principle, v.law) if part)
    lines = [
        f"#### {FINDING_ICON[finding.status]} {md_escape(v.rule)} · {md_escape(v.title or v.rule)} — "
        f"{FINDING_WORD[finding.status]}",
        "",
        f"{code_span(where)} · **{md_escape(v.level)}** ({md_escape(LEVEL_MEANING.get(v.level, 'unknown'))})"
        + (f" · {context}" if context else ""),
        "",
    ]
    if v.message:
        lines += [f"> {md_escape(v.message)}", ""]
    if v.columns:
        lines += ["Columns: " + ", ".join(code_span(c) for c in v.columns), ""]
    excerpt = styled.to_plain(excerpt_block(finding.excerpt))
    if excerpt:
        lines += [code_block(excerpt), ""]
    waiver = waiver_text(finding)
    if waiver:
        lines += [f"**Waiver:** {md_escape(waiver)}", ""]
    ignored = ignored_waiver_text(finding)
    if ignored:
        lines += [f"**Waiver ignored:** {md_escape(ignored)}", ""]
    if v.remediation:
        lines += [f"**Fix:** {md_escape(v.remediation)}", ""]
    ask = ask_text(finding)
    if ask:
        lines += [f"**Ask:** {md_escape(ask)}", ""]
    return "\n".join(lines)


def html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
