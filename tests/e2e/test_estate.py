"""`kaitiaki check` on several files decides them as one estate: lineage crosses files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.cli_runner import run_cli

CONFIG = """\
agency: msd
decision_log: false
catalog:
  cms.clients:
    columns:
      client_id: [unique_identifier:msd_client]
      full_name: [direct_identifier]
      region: []
purposes:
  letters:
    description: Send the winter energy payment letters to clients in Waikato
    allowed_categories: [direct_identifier, unique_identifier]
    approved_by: Board
    expires: 2027-06-30
  regional-planning:
    description: Plan regional service centres from client counts per region
    allowed_categories: []
    approved_by: Board
    expires: 2027-06-30
"""


def test_a_star_over_another_files_target_carries_its_identifiers(tmp_path: Path) -> None:
    (tmp_path / "kaitiaki.yaml").write_text(CONFIG)
    # Given reader first: the gate must still decide the writer first.
    (tmp_path / "b_reader.sql").write_text("select * from stage.contacts\n")
    (tmp_path / "a_writer.sql").write_text(
        "create table stage.contacts as\nselect full_name as who, region from cms.clients\n"
    )
    result = run_cli(
        ["check", "b_reader.sql", "a_writer.sql", "--purpose", "regional-planning", "--format", "json"],
        cwd=tmp_path,
    )
    assert result.exit_code == 1, result.stderr
    jobs = {j["job"]["id"]: j["decision"] for j in json.loads(result.stdout)["jobs"]}
    assert list(jobs) == ["sql:b_reader.sql", "sql:a_writer.sql"]
    reader = jobs["sql:b_reader.sql"]
    named = {c for v in reader["violations"] for c in v["columns"]}
    assert "stage.contacts.who" in named
    assert {v["rule"] for v in reader["violations"]} >= {"PM-03", "PM-05"}
    assert "SYS-01" not in {v["rule"] for v in reader["violations"]}


def test_the_reader_alone_cannot_be_verified(tmp_path: Path) -> None:
    (tmp_path / "kaitiaki.yaml").write_text(CONFIG)
    (tmp_path / "b_reader.sql").write_text("select * from stage.contacts\n")
    result = run_cli(["check", "b_reader.sql", "--purpose", "letters", "--format", "json"], cwd=tmp_path)
    assert result.exit_code == 1
    [job] = json.loads(result.stdout)["jobs"]
    assert "SYS-01" in {v["rule"] for v in job["decision"]["violations"]}
