"""The ``sarif`` format: SARIF 2.1.0 as GitHub code scanning accepts it.

One run; ``tool.driver.rules`` describes every rule that fired, from the violations' own
metadata (title, guideline, principle, law, remediation), so no engine is needed to render.
Result levels: ``error`` blocks, ``warning`` would block but is waived or not enforced (warn and
audit modes); an advisory finding is not a failure: kind ``informational``, level ``none``.
Relative artifact URIs are relative to ``%SRCROOT%``, which ``originalUriBaseIds`` defines.
A waived result also carries an accepted external suppression with the waiver's justification.
``partialFingerprints`` are stable across edits that move lines: they hash the job, the rule and
the columns, not the line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from kaitiaki import __version__
from kaitiaki.model import Verdict, Violation
from kaitiaki.report.findings import (
    ADVISORY,
    LEVEL_MEANING,
    RULE_LEVEL_TO_SARIF,
    WAIVED,
    Finding,
    findings,
    ignored_waiver_text,
    ignored_waivers_of,
    waiver_for,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "kaitiakiFinding/v1"
SRCROOT = "%SRCROOT%"


def render_sarif(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    return json.dumps(sarif_log(verdicts, root=Path.cwd()), indent=2, ensure_ascii=False) + "\n"


def sarif_log(verdicts: Sequence[Verdict], *, root: Path) -> dict[str, Any]:
    """The whole SARIF log; relative artifact URIs are relative to ``root`` (the repository)."""
    all_findings = [f for verdict in verdicts for f in findings(verdict)]
    rules = rule_descriptors(f.violation for f in all_findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kaitiaki",
                        "fullName": f"kaitiaki {__version__} policy-as-code gate",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": base_uri(root)}},
                "columnKind": "unicodeCodePoints",
                "results": [result(f, index[f.violation.rule], root) for f in all_findings],
            }
        ],
    }


def rule_descriptors(violations: Any) -> list[dict[str, Any]]:
    """One reportingDescriptor per rule id (the first violation of each rule describes it)."""
    seen: dict[str, Violation] = {}
    for violation in violations:
        seen.setdefault(violation.rule, violation)
    return [rule_descriptor(seen[rule_id]) for rule_id in sorted(seen)]


def rule_descriptor(v: Violation) -> dict[str, Any]:
    title = v.title or v.rule
    context = "; ".join(part for part in (v.guideline, v.principle, v.law) if part)
    full = f"{title}. {context}." if context else f"{title}."
    tags = ["privacy", "kaitiaki"]
    if v.guideline:
        tags.append(v.guideline.lower().replace(" ", "-"))
    return {
        "id": v.rule,
        "name": rule_name(title),
        "shortDescription": {"text": title},
        "fullDescription": {"text": full},
        "help": {"text": help_text(v), "markdown": help_markdown(v)},
        "defaultConfiguration": {"level": RULE_LEVEL_TO_SARIF.get(v.level, "error")},
        "properties": {
            "level": v.level,
            "guideline": v.guideline,
            "principle": v.principle,
            "law": v.law,
            "tags": sorted(set(tags)),
        },
    }


def rule_name(title: str) -> str:
    """``Use within the purpose`` → ``UseWithinThePurpose`` (SARIF names are identifier-like)."""
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"['’]", "", title))
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def help_text(v: Violation) -> str:
    lines = [v.remediation or "See the policy documentation for this rule."]
    lines.append(f"Level: {v.level} ({LEVEL_MEANING.get(v.level, 'unknown level')}).")
    for label, value in (("Guideline", v.guideline), ("Principle", v.principle), ("Law", v.law)):
        if value:
            lines.append(f"{label}: {value}.")
    return "\n".join(lines)


def help_markdown(v: Violation) -> str:
    lines = [f"**{v.rule} — {v.title or v.rule}**", "", v.remediation or "See the policy documentation."]
    lines.append("")
    lines.append(f"- **Level:** {v.level} ({LEVEL_MEANING.get(v.level, 'unknown level')})")
    for label, value in (("Guideline", v.guideline), ("Principle", v.principle), ("Law", v.law)):
        if value:
            lines.append(f"- **{label}:** {value}")
    return "\n".join(lines)


def result(finding: Finding, rule_index: int, root: Path) -> dict[str, Any]:
    v = finding.violation
    job = finding.verdict.job
    advisory = finding.status == ADVISORY
    out: dict[str, Any] = {
        "ruleId": v.rule,
        "ruleIndex": rule_index,
        # SARIF: a result that is not a failure has kind informational and level none
        "level": "none" if advisory else finding.sarif_level,
        "kind": "informational" if advisory else "fail",
        "message": {"text": result_message(finding)},
        "locations": [location(finding, root)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(job.id, v)},
        "properties": {
            "job": job.id,
            "jobKind": job.kind,
            "mode": finding.verdict.mode,
            "status": finding.status,
            "ruleLevel": v.level,
            "columns": list(v.columns),
            "policyRevision": finding.verdict.decision.policy_revision,
        },
    }
    ignored = ignored_waivers_of(finding)
    if ignored:
        out["properties"]["ignoredWaivers"] = ignored
    if finding.status == WAIVED:
        waiver = waiver_for(finding.verdict, v) or {}
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": str(waiver.get("justification") or "waived in kaitiaki.yaml"),
            }
        ]
    return out


def result_message(finding: Finding) -> str:
    v = finding.violation
    text = v.message or v.title or v.rule
    if v.columns:
        text += f" Columns: {', '.join(v.columns)}."
    text += f" Job: {finding.verdict.job.id}."
    if v.remediation:
        text += f" Fix: {v.remediation}"
    ignored = ignored_waiver_text(finding)
    if ignored:
        text += f" Waiver ignored: {ignored}."
    return text


def location(finding: Finding, root: Path) -> dict[str, Any]:
    job = finding.verdict.job
    out: dict[str, Any] = {
        "logicalLocations": [{"name": job.name, "fullyQualifiedName": job.id, "kind": "module"}]
    }
    if job.source.path:
        physical: dict[str, Any] = {"artifactLocation": artifact_location(job.source.path, root)}
        if finding.file_line is not None and finding.file_line >= 1:
            region: dict[str, Any] = {
                "startLine": finding.file_line,
                "startColumn": finding.start_column or 1,
            }
            if finding.end_column is not None:
                region["endColumn"] = finding.end_column
            physical["region"] = region
        out["physicalLocation"] = physical
    return out


def base_uri(root: Path) -> str:
    """``%SRCROOT%`` as an absolute file URI ending in ``/`` (SARIF §3.14.14), so viewers other than
    GitHub (which uses the checkout) can find the files."""
    uri = root.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def artifact_location(path: str, root: Path) -> dict[str, Any]:
    """A repository-relative URI (with ``%SRCROOT%``) where possible, else an absolute file URI."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            relative = candidate.resolve().relative_to(root.resolve())
        except ValueError:
            return {"uri": candidate.resolve().as_uri()}
        return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}
    posix = PurePosixPath(candidate.as_posix())
    return {"uri": quote(str(posix)), "uriBaseId": SRCROOT}


def fingerprint(job_id: str, v: Violation) -> str:
    material = "\x1f".join((job_id, v.rule, *sorted(v.columns)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
