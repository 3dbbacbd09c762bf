"""The ``text`` format: one summary line per job, the explanations, then the totals.

Shaped like a test runner's output: the list to scan first, the detail after, and a last line
that says what happened overall.
"""

from __future__ import annotations

from collections.abc import Sequence

from kaitiaki.model import Verdict
from kaitiaki.report import styled
from kaitiaki.report.explain import STATUS_STYLE, explain_lines
from kaitiaki.report.findings import count_summary, findings, job_status
from kaitiaki.report.styled import Line


def render_text(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    return styled.render(text_lines(verdicts), color=color)


def text_lines(verdicts: Sequence[Verdict]) -> list[Line]:
    width = max((len(job_status(v)) for v in verdicts), default=0)
    lines: list[Line] = [summary_line(v, width) for v in verdicts]
    for verdict in verdicts:
        if verdict.decision.violations or not verdict.decision.allow:
            lines.append([])
            lines.extend(explain_lines(verdict))
    lines.append([])
    lines.append(totals_line(verdicts))
    return lines


def summary_line(verdict: Verdict, width: int) -> Line:
    status = job_status(verdict)
    return [
        (status.ljust(width), STATUS_STYLE[status]),
        (f"  {verdict.job.id}", styled.EMPHASIS),
        (f"  {count_summary(findings(verdict))}", None),
    ]


def totals_line(verdicts: Sequence[Verdict]) -> Line:
    """``3 jobs checked: 1 blocked, 1 denied but not enforced, 1 allowed``."""
    blocked = sum(1 for v in verdicts if v.blocked)
    denied = sum(1 for v in verdicts if not v.blocked and not v.decision.allow)
    allowed = len(verdicts) - blocked - denied
    noun = "job" if len(verdicts) == 1 else "jobs"
    parts = [f"{blocked} blocked"] if blocked else []
    if denied:
        parts.append(f"{denied} denied but not enforced")
    parts.append(f"{allowed} allowed")
    style = styled.ERROR if blocked else styled.WARNING if denied else styled.OK
    return [(f"kaitiaki: {len(verdicts)} {noun} checked: {', '.join(parts)}", style)]
