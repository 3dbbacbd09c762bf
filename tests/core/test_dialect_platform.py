"""The dialect belongs to the platform: --dialect may narrow kaitiaki.yaml's, never switch engines.

Through the real CLI: ``"full_name"`` is a column to Postgres and a string to MySQL, so a check
run with ``--dialect mysql`` on a Postgres estate would not see the column it reads.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli_runner import run_cli

CONFIG = """agency: msd
dialect: {dialect}
decision_log: false
default_purpose: planning
catalog:
  msd.clients:
    agency: msd
    columns: {{full_name: [direct_identifier], region: []}}
purposes:
  planning:
    description: Count clients by region to plan service centres (no personal information)
    allowed_categories: []
    approved_by: Data Governance Board
    expires: 2030-06-30
"""


def _estate(tmp_path: Path, dialect: str) -> Path:
    (tmp_path / "kaitiaki.yaml").write_text(CONFIG.format(dialect=dialect))
    (tmp_path / "job.sql").write_text('select "full_name" from msd.clients\n')
    return tmp_path


def test_switching_engines_with_the_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["check", "job.sql", "--dialect", "mysql"], cwd=_estate(tmp_path, "postgres"))
    assert result.exit_code == 2
    assert "'mysql'" in result.stderr and "'postgres'" in result.stderr
    assert "not switch engines" in result.stderr and "Traceback" not in result.stderr


def test_a_dialect_built_on_the_platforms_is_accepted(tmp_path: Path) -> None:
    result = run_cli(["check", "job.sql", "--dialect", "redshift"], cwd=_estate(tmp_path, "postgres"))
    assert result.exit_code == 1  # read as Postgres reads it: the quoted name is the column
    assert "full_name" in result.stdout


def test_the_platforms_own_dialect_and_no_flag_agree(tmp_path: Path) -> None:
    folder = _estate(tmp_path, "postgres")
    flagged = run_cli(["check", "job.sql", "--dialect", "postgres"], cwd=folder)
    plain = run_cli(["check", "job.sql"], cwd=folder)
    assert flagged.exit_code == plain.exit_code == 1
