"""The ``junit`` format: one testsuite, one testcase per job, for CI test-report panels.

A blocked job is a failed testcase whose ``failure`` element holds the plain explanation. A job
that was denied but not enforced (warn and audit modes), or that has waived or advisory
findings, passes and carries its explanation in ``system-out`` so the panel still shows it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from kaitiaki.model import Verdict
from kaitiaki.report.explain import explain
from kaitiaki.report.findings import findings, would_block

SUITE_NAME = "kaitiaki"
# Characters XML 1.0 cannot carry at all, even escaped.
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return XML_INVALID.sub("\ufffd", text)


def render_junit(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    root = ET.Element("testsuites", name=SUITE_NAME)
    suite = ET.SubElement(
        root,
        "testsuite",
        name=SUITE_NAME,
        tests=str(len(verdicts)),
        failures=str(sum(1 for v in verdicts if v.blocked)),
        errors="0",
        skipped="0",
    )
    root.set("tests", suite.get("tests", "0"))
    root.set("failures", suite.get("failures", "0"))
    root.set("errors", "0")
    for verdict in verdicts:
        suite.append(testcase(verdict))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def testcase(verdict: Verdict) -> ET.Element:
    job = verdict.job
    # No ``file`` attribute: the Jenkins xUnit JUnit schema does not allow it (the file and line are
    # in the explanation, and the job id names the file).
    case = ET.Element("testcase", name=xml_text(job.id), classname=f"kaitiaki.{job.kind}", time="0")
    items = findings(verdict)
    if verdict.blocked:
        rules = sorted({f.violation.rule for f in items if would_block(f)})
        failure = ET.SubElement(
            case,
            "failure",
            message=xml_text(f"blocked by {', '.join(rules)}"),
            type="kaitiaki.blocked",
        )
        failure.text = xml_text(explain(verdict, color=False))
    elif items:
        out = ET.SubElement(case, "system-out")
        out.text = xml_text(explain(verdict, color=False))
    return case
