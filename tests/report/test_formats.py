"""The output formats, each checked by a real consumer: the official SARIF schema, an XML
parser, the GitHub toolkit's escaping rules, and the README.md JSON shape."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from kaitiaki.errors import KaitiakiError
from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import Decision, Job, SourceLocation, Verdict
from kaitiaki.plugins import get_plugin_manager
from kaitiaki.report import formats, render
from kaitiaki.report.github import escape_data, escape_property
from kaitiaki.report.sarif import FINGERPRINT_KEY, sarif_log
from tests.report.verdicts import (
    E3_JOB,
    E3_OFFSET,
    E3_SQL,
    PM11,
    REVISION,
    allowed_verdict,
    e3_verdict,
    soft_verdict,
    unnamed_denial_verdict,
)

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "vendor" / "sarif-schema-2.1.0.json"
BUILT_IN = {"text", "json", "sarif", "junit", "github", "gitlab", "markdown"}


# --- json ---------------------------------------------------------------------------------------


def test_json_is_exactly_the_design_shape() -> None:
    doc = json.loads(render("json", [e3_verdict(), allowed_verdict()]))
    assert set(doc) == {"allow", "jobs"}
    assert doc["allow"] is False
    assert [set(job) for job in doc["jobs"]] == [{"job", "decision"}] * 2
    assert doc["jobs"][0]["job"] == E3_JOB.to_dict()
    assert "sql" not in doc["jobs"][0]["job"]
    assert doc["jobs"][0]["decision"] == e3_verdict().decision.to_dict()


def test_json_allow_is_the_and_of_the_decisions_even_when_nothing_was_blocked() -> None:
    warned = e3_verdict(mode="warn")
    assert not warned.blocked
    assert json.loads(render("json", [warned, allowed_verdict()]))["allow"] is False
    assert json.loads(render("json", [allowed_verdict(), allowed_verdict()]))["allow"] is True


# --- sarif --------------------------------------------------------------------------------------


def uri_reference(value: object) -> bool:
    """RFC 3986 URI-reference, strictly enough for GitHub: no spaces or backslashes."""
    return isinstance(value, str) and not re.search(r"[\s\\]", value) and urlsplit(value) is not None


def absolute_uri(value: object) -> bool:
    return uri_reference(value) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", str(value)))


def sarif_validator() -> jsonschema.Draft4Validator:
    checker = jsonschema.FormatChecker()
    checker.checks("uri-reference")(uri_reference)
    checker.checks("uri")(absolute_uri)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=checker)


def validate_sarif(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    errors = sorted(sarif_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return doc


@pytest.mark.parametrize(
    "verdicts",
    [
        [e3_verdict(), allowed_verdict()],
        [e3_verdict(mode="warn")],
        [soft_verdict(waived=True)],
        [unnamed_denial_verdict()],
        [allowed_verdict()],
        [],
    ],
    ids=["blocked", "warn-mode", "waived", "unnamed-denial", "allowed", "no-jobs"],
)
def test_sarif_validates_against_the_official_schema(verdicts: list[Verdict]) -> None:
    doc = validate_sarif(render("sarif", verdicts))
    assert doc["version"] == "2.1.0"
    assert doc["runs"][0]["tool"]["driver"]["name"] == "kaitiaki"


def test_sarif_defines_the_source_root_its_relative_uris_use(tmp_path: Path) -> None:
    doc = sarif_log([e3_verdict()], root=tmp_path)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": tmp_path.resolve().as_uri() + "/"}}
    bases = {
        r["locations"][0]["physicalLocation"]["artifactLocation"].get("uriBaseId") for r in run["results"]
    }
    assert bases == {"%SRCROOT%"}
    assert not list(sarif_validator().iter_errors(doc))


def test_sarif_rules_carry_the_violations_metadata() -> None:
    doc = validate_sarif(render("sarif", [e3_verdict()]))
    rules = {rule["id"]: rule for rule in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {"PM-03", "PM-10", "PM-11", "PM-12"}
    pm11 = rules["PM-11"]
    assert pm11["name"] == "AnotherAgencysUniqueIdentifier"
    assert pm11["shortDescription"]["text"] == PM11.title
    assert "Privacy Act 2020 IPP13" in pm11["fullDescription"]["text"]
    assert PM11.remediation in pm11["help"]["text"] and PM11.remediation in pm11["help"]["markdown"]
    assert pm11["properties"]["level"] == "hard"
    assert pm11["properties"]["guideline"] == "Purpose Matters"
    assert pm11["properties"]["law"] == "Privacy Act 2020 IPP13"
    assert pm11["defaultConfiguration"]["level"] == "error"


def test_sarif_levels_error_blocking_warning_waived_or_unenforced_advisory_not_a_failure() -> None:
    blocked = validate_sarif(render("sarif", [e3_verdict()]))["runs"][0]["results"]
    assert {r["ruleId"]: (r["kind"], r["level"]) for r in blocked} == {
        "PM-03": ("fail", "error"),
        "PM-11": ("fail", "error"),
        "PM-10": ("fail", "warning"),
        "PM-12": ("informational", "none"),  # SARIF §3.27.10: a result that is not a fail has level none
    }
    waived = next(r for r in blocked if r["ruleId"] == "PM-10")
    assert waived["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "One-off linkage study, ticket DG-7"}
    ]
    warned = validate_sarif(render("sarif", [e3_verdict(mode="warn")]))["runs"][0]["results"]
    assert {r["ruleId"]: r["level"] for r in warned}["PM-11"] == "warning"


def test_sarif_results_point_at_the_file_line_and_column() -> None:
    doc = validate_sarif(render("sarif", [e3_verdict()]))
    run = doc["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == "PM-11")
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "PM-11"
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "dags/benefit_health.py", "uriBaseId": "%SRCROOT%"}
    code = E3_SQL.splitlines()[4]
    assert physical["region"]["startLine"] == 5 + E3_OFFSET
    assert physical["region"]["startColumn"] == code.index("h.nhi") + 3
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == E3_JOB.id
    assert "Join on nhi" in result["message"]["text"]


def test_sarif_uris_are_relative_to_the_repository_or_absolute_outside_it(tmp_path: Path) -> None:
    inside = replace(E3_JOB, source=SourceLocation(path=str(tmp_path / "dags" / "my dag.py"), line_offset=0))
    outside = replace(E3_JOB, source=SourceLocation(path="/elsewhere/dag.py", line_offset=0))
    uris = []
    for job in (inside, outside):
        verdict = replace(e3_verdict(), job=job)
        doc = sarif_log([verdict], root=tmp_path)
        errors = list(sarif_validator().iter_errors(doc))
        assert not errors
        uris.append(doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"])
    assert uris[0] == {"uri": "dags/my%20dag.py", "uriBaseId": "%SRCROOT%"}
    assert uris[1] == {"uri": "file:///elsewhere/dag.py"}


def test_sarif_fingerprints_survive_line_moves_and_differ_per_rule() -> None:
    moved = replace(e3_verdict(), job=replace(E3_JOB, source=SourceLocation(E3_JOB.source.path, 99)))
    before = validate_sarif(render("sarif", [e3_verdict()]))["runs"][0]["results"]
    after = validate_sarif(render("sarif", [moved]))["runs"][0]["results"]
    prints_before = {r["ruleId"]: r["partialFingerprints"][FINGERPRINT_KEY] for r in before}
    prints_after = {r["ruleId"]: r["partialFingerprints"][FINGERPRINT_KEY] for r in after}
    assert prints_before == prints_after
    assert len(set(prints_before.values())) == len(prints_before)


# --- junit --------------------------------------------------------------------------------------


def test_junit_is_one_suite_with_a_case_per_job_and_a_failure_for_blocked_jobs() -> None:
    warned = replace(e3_verdict(mode="warn"), job=replace(E3_JOB, id="airflow:benefits.warned"))
    verdicts = [e3_verdict(), allowed_verdict(), warned]
    root = ET.fromstring(render("junit", verdicts))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [v.job.id for v in verdicts]
    blocked, allowed, warned_case = cases
    failure = blocked.find("failure")
    assert failure is not None
    assert failure.get("message") == "blocked by PM-03, PM-11"
    assert "error[PM-11]: Another agency's unique identifier" in (failure.text or "")
    assert blocked.get("file") is None  # not in the Jenkins xUnit schema; the text names the file
    assert "dags/benefit_health.py" in (failure.text or "")
    assert allowed.find("failure") is None and allowed.find("system-out") is None
    assert warned_case.find("failure") is None
    assert "warning[PM-11]" in (warned_case.findtext("system-out") or "")


# The attributes and children the Jenkins xUnit plugin's JUnit schema (junit-10.xsd) allows, which
# GitLab's JUnit reader (testsuites > testsuite > testcase, failure/system-out) also reads.
JENKINS_JUNIT = {
    "testsuites": ({"name", "time", "tests", "failures", "disabled", "errors"}, {"testsuite"}),
    "testsuite": (
        {
            "name",
            "tests",
            "failures",
            "errors",
            "time",
            "disabled",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
        },
        {"properties", "testcase", "system-out", "system-err"},
    ),
    "testcase": (
        {"name", "assertions", "time", "classname", "status"},
        {"skipped", "error", "failure", "system-out", "system-err"},
    ),
    "failure": ({"type", "message"}, set()),
    "system-out": (set(), set()),
}


def jenkins_problems(element: ET.Element) -> list[str]:
    attributes, children = JENKINS_JUNIT[element.tag]
    problems = [f"{element.tag}@{name}" for name in element.attrib if name not in attributes]
    for child in element:
        if child.tag not in children:
            problems.append(f"{element.tag}>{child.tag}")
        else:
            problems.extend(jenkins_problems(child))
    return problems


@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_junit_fits_the_jenkins_xunit_and_gitlab_readers(mode: str) -> None:
    root = ET.fromstring(render("junit", [e3_verdict(mode=mode), allowed_verdict()]))
    assert root.tag == "testsuites"
    assert jenkins_problems(root) == []
    cases = root.findall("testsuite/testcase")  # the path GitLab reads
    assert all(c.get("name") and c.get("classname") for c in cases)


def test_junit_stays_parseable_with_control_characters_and_markup_in_sql() -> None:
    sql = "select nhi /* \x01 ]]> <tag> & */\nfrom t\n"
    job = Job(id="sql:weird.sql", kind="sql", name="weird.sql", sql=sql, source=SourceLocation("weird.sql"))
    violation = replace(PM11, columns=("t.nhi",), line=1, message="a <b> & c")
    verdict = Verdict(job, Decision(False, (violation,), REVISION), "enforce", True, {}, None)
    root = ET.fromstring(render("junit", [verdict]))
    text = root.findtext("testsuite/testcase/failure") or ""
    assert "]]> <tag> &" in text and "a <b> & c" in text


# --- gitlab -------------------------------------------------------------------------------------


def test_gitlab_code_quality_issues() -> None:
    issues = json.loads(render("gitlab", [e3_verdict(), allowed_verdict()]))
    assert {i["check_name"]: i["severity"] for i in issues} == {
        "PM-03": "critical",
        "PM-11": "critical",
        "PM-10": "info",  # waived
        "PM-12": "minor",  # advisory
    }
    for item in issues:
        assert set(item) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert item["location"]["path"] == "dags/benefit_health.py"
        assert isinstance(item["location"]["lines"]["begin"], int) and item["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert json.loads(render("gitlab", [allowed_verdict()])) == []
    warned = json.loads(render("gitlab", [e3_verdict(mode="warn")]))
    assert {i["check_name"]: i["severity"] for i in warned}["PM-11"] == "major"


# --- github -------------------------------------------------------------------------------------


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = re.fullmatch(r"::(\w+) ([^:]*)::(.*)", line)
    assert match, line
    props = dict(item.split("=", 1) for item in match.group(2).split(","))
    return match.group(1), {k: unescape_property(v) for k, v in props.items()}, unescape_data(match.group(3))


def test_github_annotations_one_per_finding_with_file_line_and_column() -> None:
    lines = render("github", [e3_verdict(), allowed_verdict()]).splitlines()
    commands = [parse_command(line) for line in lines]
    assert [c[0] for c in commands] == ["error", "error", "warning", "notice"]
    level, props, message = next(c for c in commands if "PM-11" in c[1]["title"])
    assert level == "error"
    code = E3_SQL.splitlines()[4]
    assert props["file"] == "dags/benefit_health.py"
    assert props["line"] == str(5 + E3_OFFSET)
    assert props["col"] == str(code.index("h.nhi") + 3)
    assert props["title"] == "kaitiaki PM-11: Another agency's unique identifier (blocking)"
    assert message.splitlines()[0] == PM11.message
    assert f"Fix: {PM11.remediation}" in message


def test_github_escaping_follows_the_actions_toolkit() -> None:
    assert escape_data("100%\r\nsure: a,b") == "100%25%0D%0Asure: a,b"
    assert escape_property("dags/a,b:c%.py") == "dags/a%2Cb%3Ac%25.py"
    job = replace(E3_JOB, source=SourceLocation(path="dags/odd,name:1.py", line_offset=0))
    violation = replace(PM11, message="100% sure\nsecond line", title="A: b, c")
    verdict = Verdict(job, Decision(False, (violation,), REVISION), "enforce", True, {}, None)
    (line,) = render("github", [verdict]).splitlines()
    _, props, message = parse_command(line)
    assert props["file"] == "dags/odd,name:1.py"
    assert props["title"].startswith("kaitiaki PM-11: A: b, c")
    assert message.startswith("100% sure\nsecond line\n")


# --- markdown and text --------------------------------------------------------------------------


def test_markdown_summary_table_and_details_per_violation() -> None:
    pipe = replace(PM11, message="a | b")
    verdict = replace(e3_verdict(), decision=Decision(False, (pipe,), REVISION))
    text = render("markdown", [verdict, allowed_verdict()])
    assert text.startswith("## ❌ kaitiaki: 1 of 2 job(s) blocked")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 3  # header and one row per job
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 5 for row in rows)
    assert "<details open>" in text
    assert "#### ❌ PM-11 · Another agency's unique identifier — blocking" in text
    assert "> a \\| b" in text
    assert "```text\n" in text and " 25 | join health_extract h on h.nhi = b.nhi" in text
    assert '**Ask:** MSD Data Governance Board (approver of purpose "benefit-health-outcomes")' in text


def test_text_has_a_summary_line_per_job_explanations_and_totals() -> None:
    lines = render("text", [e3_verdict(), allowed_verdict()]).splitlines()
    assert lines[0].startswith("BLOCKED  airflow:benefits.load_health  2 blocking (PM-03, PM-11)")
    assert lines[1].startswith("ALLOWED  sql:jobs/uptake_by_region.sql  no findings")
    assert any(line.startswith("error[PM-11]") for line in lines)
    assert lines[-1] == "kaitiaki: 2 jobs checked: 1 blocked, 1 allowed"


# --- lookup through the plugin manager ----------------------------------------------------------


def test_unknown_format_is_a_usage_error_listing_the_formats() -> None:
    with pytest.raises(KaitiakiError) as caught:
        render("yaml", [allowed_verdict()])
    message = str(caught.value)
    assert "unknown report format 'yaml'" in message
    assert all(name in message for name in BUILT_IN)


class CountingReporter:
    """A third-party plugin, registered on the real plugin manager like an entry point."""

    @hookimpl
    def kaitiaki_reporters(self) -> dict[str, Any]:
        return {"count": lambda verdicts, *, color=False: f"{len(verdicts)} jobs\n"}


def test_reporters_come_from_the_plugin_hook_including_third_party_ones() -> None:
    assert set(formats()) >= BUILT_IN
    plugin = CountingReporter()
    pm = get_plugin_manager()
    pm.register(plugin, name="test-counting-reporter")
    try:
        assert render("count", [allowed_verdict(), allowed_verdict()]) == "2 jobs\n"
        assert "count" in formats()
    finally:
        pm.unregister(plugin)
    assert "count" not in formats()


def test_the_schema_check_rejects_what_github_would_reject() -> None:
    doc = json.loads(render("sarif", [e3_verdict()]))
    result = doc["runs"][0]["results"][0]
    result["level"] = "fatal"
    del result["message"]
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "dags\\bad path.py"
    messages = [e.message for e in sarif_validator().iter_errors(doc)]
    assert any("'fatal' is not one of" in m for m in messages)
    assert any("'message' is a required property" in m for m in messages)
    assert any("is not a 'uri-reference'" in m for m in messages)
