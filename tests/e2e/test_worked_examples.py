"""The DPUP worked examples E1–E5 (tests/policies/cases.py), end to end through `kaitiaki check`.

Real SQL files, real analysis, real classification, the real DPUP Rego library on the embedded
engine: each example must yield exactly the rules and levels the catalogue lists, as the rules
now read (E5: an unkeyed MD5 of an IRD number is reversible, SV-03; date of birth with postcode
leaving the agency identifies people, SV-09). The purposes expire after the jobs' P1Y retention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.cli_runner import run_cli

ALL = "[direct_identifier, quasi_identifier, unique_identifier, person_key, sensitive, child, opt_out_flag]"


@dataclass(frozen=True)
class Example:
    name: str
    sql: str
    config: str
    args: tuple[str, ...]
    exit_code: int
    rules: dict[str, str]  # rule id -> level applied


def purpose(extra: str = "", categories: str = ALL) -> str:
    return f"""
purposes:
  p:
    description: Plan regional services for clients of the ministry (named outcome, named data)
    allowed_categories: {categories}
    approved_by: Data Governance Board
    expires: 2028-06-30
    sensitive_approved: true
{extra}"""


EXAMPLES = [
    Example(
        "E1",
        """select region, count(distinct client_key) as clients
from stg_service_events
where not opted_out
group by region having count(distinct client_key) >= 6
""",
        """agency: msd
catalog:
  stg_service_events:
    columns:
      client_key: [unique_identifier:msd_client]
      opted_out: [opt_out_flag]
      region: []
"""
        + purpose(),
        ("--purpose", "p"),
        0,
        {},
    ),
    Example(
        "E2",
        "select * from clients where region = 'Waikato'\n",
        """agency: msd
catalog:
  clients:
    columns:
      client_id: [unique_identifier:msd_client]
      full_name: [direct_identifier]
      phone: [direct_identifier]
      region: []
"""
        + purpose(),
        ("--purpose", "p", "--tag", "retention:P1Y"),
        1,
        {"PM-05": "soft", "PM-07": "soft"},
    ),
    Example(
        "E3",
        """insert into analytics.benefit_health
select b.client_id, b.benefit_type, h.diagnosis_code
from benefits b join health_extract h on h.nhi = b.nhi
""",
        """agency: msd
catalog:
  benefits:
    columns:
      client_id: [unique_identifier:msd_client]
      nhi: [unique_identifier:nhi]
      benefit_type: []
  health_extract:
    columns:
      nhi: [unique_identifier:nhi]
      diagnosis_code: ["sensitive:health"]
purposes:
  p:
    description: Measure how benefit recipients use health services, to plan joint services
    allowed_categories: [unique_identifier, direct_identifier, quasi_identifier]
    approved_by: Data Governance Board
    expires: 2028-06-30
    linking_approved: false
    sensitive_approved: []
""",
        ("--purpose", "p", "--tag", "retention:P1Y"),
        1,
        {"PM-03": "hard", "PM-11": "hard", "PM-08": "soft", "PM-10": "soft"},
    ),
    Example(
        "E4",
        """select school_id, ethnicity, count(*) as n
from enrolments group by school_id, ethnicity
""",
        """agency: moe
catalog:
  enrolments:
    columns:
      school_id: []
      ethnicity: ["sensitive:ethnicity"]
      nsn: [unique_identifier:nsn]
"""
        + purpose("    sharing_agreement: {id: DSA-12, identified: false}\n"),
        ("--purpose", "p", "--destination", "external"),
        1,
        {"SV-06": "hard", "SV-07": "soft", "SV-08": "soft"},
    ),
    Example(
        "E5",
        """select md5(ird_number) as taxpayer_hash, date_of_birth, postcode, total_income
from tax_clients
""",
        """agency: inland_revenue
catalog:
  tax_clients:
    columns:
      ird_number: [unique_identifier:ird]
      date_of_birth: [quasi_identifier]
      postcode: [quasi_identifier]
      total_income: []
"""
        + purpose(),
        ("--purpose", "p", "--destination", "external", "--region", "offshore"),
        1,
        {"SV-01": "hard", "SV-02": "hard", "SV-03": "hard", "SV-04": "soft", "SV-09": "hard"},
    ),
]

ISSUERS = "identifier_issuers: {nhi: moh, ird: ird, nsn: moe, msd_client: msd}\ndecision_log: false\n"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_worked_example_decision(example: Example, tmp_path: Path) -> None:
    (tmp_path / "kaitiaki.yaml").write_text(ISSUERS + example.config)
    (tmp_path / "job.sql").write_text(example.sql)
    result = run_cli(
        ["check", "job.sql", "--config", str(tmp_path / "kaitiaki.yaml"), "--format", "json", *example.args],
        cwd=tmp_path,
    )
    assert result.exit_code == example.exit_code, result.stderr
    doc = json.loads(result.stdout)
    [job] = doc["jobs"]
    found = {v["rule"]: v["level"] for v in job["decision"]["violations"]}
    assert found == example.rules
    assert doc["allow"] is (example.exit_code == 0)
