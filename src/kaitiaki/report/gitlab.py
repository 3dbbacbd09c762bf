"""The ``gitlab`` format: GitLab Code Quality JSON, shown on merge requests and in the diff.

A JSON array of issues ``{description, check_name, fingerprint, severity, location: {path,
lines: {begin}}}`` (the Code Climate subset GitLab reads). Severity follows how the finding is
treated: blocking ``critical``, would block but not enforced ``major``, advisory ``minor``,
waived ``info``. The fingerprint is SARIF's (job, rule, columns): stable when lines move.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kaitiaki.model import Verdict
from kaitiaki.report.findings import ADVISORY, BLOCKING, NOT_ENFORCED, WAIVED, Finding, findings
from kaitiaki.report.sarif import fingerprint, result_message

SEVERITY = {BLOCKING: "critical", NOT_ENFORCED: "major", ADVISORY: "minor", WAIVED: "info"}


def render_gitlab(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    issues = [issue(f) for verdict in verdicts for f in findings(verdict)]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def issue(finding: Finding) -> dict[str, Any]:
    v = finding.violation
    job = finding.verdict.job
    return {
        "type": "issue",
        "check_name": v.rule,
        "description": f"{v.rule} {v.title or v.rule}: {result_message(finding)}",
        "categories": ["Security"],
        "fingerprint": fingerprint(job.id, v),
        "severity": SEVERITY[finding.status],
        "location": {"path": job.source.path or job.id, "lines": {"begin": max(finding.file_line or 1, 1)}},
    }
