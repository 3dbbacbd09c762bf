"""`columns: {}` in the catalog: a known table with nothing identifying (README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli_runner import run_cli

CONFIG = """\
agency: msd
decision_log: false
catalog:
  ref.regions:
    columns: {}
  care.placements:
    categories: [child]
    columns: {}
purposes:
  planning:
    description: Plan regional service centres from counts per region
    allowed_categories: []
    approved_by: Board
    expires: 2027-06-30
"""


@pytest.mark.parametrize(
    ("sql", "exit_code", "rules"),
    [
        ("select * from ref.regions\n", 0, set()),
        ("select r.* from analytics.ref.regions r\n", 0, set()),
        ("select * from ref.mystery\n", 1, {"SYS-01"}),
        ("select * from care.placements\n", 1, {"SYS-01"}),
    ],
)
def test_a_star_over_a_cleared_table_is_allowed_and_only_then(
    tmp_path: Path, sql: str, exit_code: int, rules: set[str]
) -> None:
    (tmp_path / "kaitiaki.yaml").write_text(CONFIG)
    (tmp_path / "job.sql").write_text(sql)
    result = run_cli(["check", "job.sql", "--purpose", "planning", "--format", "json"], cwd=tmp_path)
    assert result.exit_code == exit_code, result.stdout + result.stderr
    [job] = json.loads(result.stdout)["jobs"]
    assert rules <= {v["rule"] for v in job["decision"]["violations"]}
