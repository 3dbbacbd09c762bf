"""A column a job only writes is reported once, through its source, by the category rules
(PM-03, PM-08, PM-09, SV-08, TC-01), and still reported when it alone carries the category.

Real SQL through `kaitiaki check`: the real analysis gives the written column facts and their
sources, so these tests fail if the policies and the analysis stop agreeing on the link.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli_runner import run_cli

CONFIG = """identifier_issuers: {nhi: moh, nsn: moe, msd_client: msd}
decision_log: false
agency: msd
catalog:
  clients:
    columns:
      client_id: [unique_identifier:msd_client]
      opted_out: [opt_out_flag]
      iwi: ["sensitive:iwi"]
      region: []
  students:
    columns:
      nsn: [unique_identifier:nsn, child]
      school: []
  health_extract:
    columns:
      nhi: [unique_identifier:nhi]
      diagnosis_code: ["sensitive:health"]
  analytics.flags:
    columns:
      flag: ["sensitive:health"]
purposes:
  p:
    description: Plan regional services for clients of the ministry (named outcome, named data)
    allowed_categories: [unique_identifier]
    approved_by: Data Governance Board
    expires: 2027-06-30
    sensitive_approved: []
"""


def findings(tmp_path: Path, sql: str) -> list[tuple[str, tuple[str, ...]]]:
    """(rule, columns) of every violation `kaitiaki check` reports for ``sql``, sorted."""
    (tmp_path / "kaitiaki.yaml").write_text(CONFIG)
    (tmp_path / "job.sql").write_text(sql)
    args = ["check", "job.sql", "--config", "kaitiaki.yaml", "--purpose", "p", "--tag", "retention:P1Y"]
    result = run_cli([*args, "--format", "json"], cwd=tmp_path)
    assert result.exit_code in (0, 1), result.stderr
    [job] = json.loads(result.stdout)["jobs"]
    return sorted((v["rule"], tuple(v["columns"])) for v in job["decision"]["violations"])


def of(found: list[tuple[str, tuple[str, ...]]], rules: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [f for f in found if f[0] in rules]


DIAGNOSIS = ("health_extract.diagnosis_code",)
IWI = ("clients.iwi",)
NSN = ("students.nsn",)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "insert into analytics.benefit_health select diagnosis_code from health_extract",
            [("PM-03", DIAGNOSIS), ("PM-08", DIAGNOSIS)],
        ),
        (
            "insert into analytics.x select iwi, region from clients",
            [("PM-03", IWI), ("PM-08", IWI), ("SV-08", IWI)],
        ),
        (
            # PM-09 twice: the column, and the table it is read from (not the table written).
            "insert into analytics.kids (nsn) select nsn from students",
            [("PM-03", NSN), ("PM-09", NSN), ("PM-09", NSN)],
        ),
    ],
)
def test_a_column_written_from_a_reported_source_is_reported_once(
    tmp_path: Path, sql: str, expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert of(findings(tmp_path, sql), {"PM-03", "PM-08", "PM-09", "SV-08"}) == expected


def test_a_written_column_that_alone_carries_the_category_is_reported(tmp_path: Path) -> None:
    # analytics.flags.flag is sensitive:health by its own catalog entry; clients.region is not.
    found = findings(tmp_path, "insert into analytics.flags (flag) select region from clients")
    flag = ("analytics.flags.flag",)
    assert of(found, {"PM-03", "PM-08"}) == [("PM-03", flag), ("PM-08", flag)]


def test_copying_a_filtered_opt_out_flag_respects_the_choice(tmp_path: Path) -> None:
    sql = "insert into analytics.x select client_id, opted_out from clients where not opted_out"
    found = findings(tmp_path, sql)
    assert of(found, {"TC-01"}) == []


def test_copying_an_unfiltered_opt_out_flag_reports_the_table_read(tmp_path: Path) -> None:
    found = findings(tmp_path, "insert into analytics.x select client_id, opted_out from clients")
    assert of(found, {"TC-01"}) == [("TC-01", ("clients.client_id", "clients.opted_out"))]
