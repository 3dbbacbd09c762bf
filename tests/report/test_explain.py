"""explain(): the compiler-style explanation a blocked engineer reads."""

from __future__ import annotations

import re
from dataclasses import replace

from kaitiaki.model import Decision, Job, SourceLocation, Verdict, Violation
from kaitiaki.report import explain
from kaitiaki.report.findings import marks_on
from tests.report.verdicts import (
    E3_OFFSET,
    E3_SQL,
    PM11,
    REVISION,
    allowed_verdict,
    e3_verdict,
    soft_verdict,
    unnamed_denial_verdict,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def block_of(text: str, heading: str) -> str:
    """The lines of one finding, from its heading to the next blank line."""
    start = text.index(heading)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else len(text)]


def caret_columns(block: str, code_line: str) -> list[int]:
    """Display columns (0-based, relative to the code) of the carets under ``code_line``."""
    lines = block.splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith(code_line))
    code_start = lines[index].index(code_line)
    carets = lines[index + 1][code_start:]
    return [m.start() for m in re.finditer(r"\^+", carets)]


def test_blocked_job_names_job_rule_level_guideline_law_message_and_fix() -> None:
    text = explain(e3_verdict(), color=False)
    assert text.startswith("BLOCKED airflow:benefits.load_health")
    pm11 = block_of(text, "error[PM-11]")
    assert "Another agency's unique identifier" in pm11
    assert "level: hard (always blocks" in pm11
    assert "guideline: Purpose Matters" in pm11 and "law: Privacy Act 2020 IPP13" in pm11
    assert "why: Join on nhi, an identifier issued by moh" in pm11
    assert "help: Use an approved linking key" in pm11


def test_offending_line_is_mapped_to_the_file_and_columns_are_underlined() -> None:
    text = explain(e3_verdict(), color=False)
    code = E3_SQL.splitlines()[4]  # SQL line 5: the join on NHI
    pm11 = block_of(text, "error[PM-11]")
    first = code.index("h.nhi") + 2
    assert f"--> dags/benefit_health.py:{5 + E3_OFFSET}:{first + 1}" in pm11
    assert f" {5 + E3_OFFSET} | {code}" in pm11
    assert caret_columns(pm11, code) == [first, code.index("b.nhi") + 2]
    assert "health_extract.nhi, benefits.nhi" in pm11


def test_a_violation_without_a_line_is_placed_on_its_column_line() -> None:
    pm03 = block_of(explain(e3_verdict(), color=False), "error[PM-03]")
    code = E3_SQL.splitlines()[2]
    assert f"--> dags/benefit_health.py:{3 + E3_OFFSET}:{code.index('diagnosis_code') + 1}" in pm03
    assert caret_columns(pm03, code) == [code.index("diagnosis_code")]


def test_remediation_names_the_purpose_approver() -> None:
    pm03 = block_of(explain(e3_verdict(), color=False), "error[PM-03]")
    assert 'ask: MSD Data Governance Board (approver of purpose "benefit-health-outcomes")' in pm03
    assert "cannot be waived" in pm03


def test_without_a_registered_purpose_the_governance_team_is_asked() -> None:
    pm03 = block_of(explain(e3_verdict(purpose=None), color=False), "error[PM-03]")
    assert "ask: your data governance team" in pm03


def test_a_blocking_soft_rule_offers_a_waiver_for_this_job_and_rule() -> None:
    text = explain(soft_verdict(), color=False)
    pm08 = block_of(text, "error[PM-08]")
    assert 'waiver {rule: PM-08, job: "airflow:benefits.load_health"' in pm08


def test_waived_and_advisory_findings_are_labelled_apart_from_errors() -> None:
    text = explain(e3_verdict(), color=False)
    waived = block_of(text, "waived[PM-10]")
    assert "waiver: One-off linkage study, ticket DG-7; approved by MSD Data Governance Board" in waived
    assert "ask:" not in waived
    advisory = block_of(text, "advisory[PM-12]")
    assert "advisory (reported, never blocks)" in advisory
    assert "error[PM-10]" not in text and "error[PM-12]" not in text
    assert text.index("error[PM-11]") < text.index("waived[PM-10]") < text.index("advisory[PM-12]")


def test_warn_mode_says_the_job_runs() -> None:
    text = explain(e3_verdict(mode="warn"), color=False)
    assert text.startswith("DENIED airflow:benefits.load_health")
    assert "warning[PM-11]: Another agency's unique identifier (would block in enforce mode" in text
    assert "error[" not in text


def test_a_denial_without_a_named_rule_is_still_explained_as_an_error() -> None:
    text = explain(unnamed_denial_verdict(), color=False)
    assert "error[SYS-00]: Denied without a named rule" in text
    assert "advisory[PM-12]" in text


def test_allowed_job_says_so() -> None:
    assert explain(allowed_verdict(), color=False).startswith(
        "ALLOWED sql:jobs/uptake_by_region.sql — allowed in enforce mode; no findings"
    )


def test_colour_is_ansi_and_plain_text_has_none() -> None:
    verdict = e3_verdict()
    coloured = explain(verdict, color=True)
    plain = explain(verdict, color=False)
    assert "\x1b[" in coloured and "\x1b[" not in plain
    assert ANSI.sub("", coloured) == plain


def test_sql_brackets_are_printed_not_read_as_markup() -> None:
    sql = "select [nhi], [full_name]\nfrom [health].[patients]\n"
    job = Job(id="sql:q.sql", kind="sql", name="q.sql", sql=sql, source=SourceLocation(path="q.sql"))
    violation = replace(PM11, columns=("health.patients.nhi",), line=1)
    verdict = Verdict(job, Decision(False, (violation,), REVISION), "enforce", True, {}, None)
    for color in (False, True):
        assert "select [nhi], [full_name]" in ANSI.sub("", explain(verdict, color=color))


def test_tabs_and_wide_characters_keep_carets_aligned() -> None:
    sql = "select\tt.名前, t.nhi\nfrom t\n"
    job = Job(id="sql:t.sql", kind="sql", name="t.sql", sql=sql, source=SourceLocation(path="t.sql"))
    violation = Violation("PM-06", "Unused", "Purpose Matters", "", "", "soft", "m", ("t.nhi",), 1)
    text = explain(
        Verdict(job, Decision(False, (violation,), REVISION), "enforce", True, {}, None), color=False
    )
    shown = "select  t.名前, t.nhi"  # the tab reaches the next 4-column stop
    lines = text.splitlines()
    code_index = next(i for i, line in enumerate(lines) if line.endswith(shown))
    caret_line = lines[code_index + 1]
    gutter = lines[code_index].index(shown)
    # 名前 takes four terminal cells, so the caret sits two cells right of the character count.
    assert caret_line.index("^") - gutter == shown.index("nhi") + 2


def test_names_inside_literals_and_comments_are_not_marked() -> None:
    line = "select 'nhi' as label, nhi -- nhi again"
    marks = marks_on(line, ["t.nhi"], line)
    assert [m.start for m in marks] == [line.index(", nhi") + 2]


def test_a_field_inside_a_column_is_marked_on_its_column() -> None:
    line = "select r.details::jsonb ->> 'nhi' as patient from health.referrals r"
    marks = marks_on(line, ["health.referrals.details->nhi"], line)
    assert [(m.start, m.length, m.column) for m in marks] == [
        (line.index("details"), len("details"), "health.referrals.details->nhi")
    ]


def test_a_column_reached_through_star_marks_the_star() -> None:
    line = "select * from cms.clients"
    marks = marks_on(line, ["cms.clients.full_name"], line)
    assert [(m.start, m.column) for m in marks] == [(7, "*")]


def test_count_star_is_not_taken_for_a_projected_star() -> None:
    line = "select count(*) * 2 as n, c.* from cms.clients c"
    marks = marks_on(line, ["cms.clients.full_name"], line)
    assert [m.start for m in marks] == [line.index("c.*") + 2]
    assert marks_on("select count(*) from t", ["t.nhi"], "select count(*) from t") == ()


def test_an_airflow_job_without_a_source_path_names_its_dag_file() -> None:
    verdict = e3_verdict()
    job = replace(verdict.job, source=SourceLocation(path=None), meta={"dag_file": "dags/extract.py"})
    text = explain(replace(verdict, job=job), color=False)
    assert "file dags/extract.py" in text
    assert "file (none)" not in text
