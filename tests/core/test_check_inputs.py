"""``kaitiaki check`` inputs and outputs for CI: folders with include/exclude globs, stdin, several
formats in one run, ``--output``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.cli_runner import run_cli
from tests.support.clients_estate import CONFIG, CONTACTS_SQL, REGIONS_SQL

BLOCKED = CONTACTS_SQL
CLEAN = REGIONS_SQL


def estate(tmp_path: Path) -> Path:
    (tmp_path / "kaitiaki.yaml").write_text(CONFIG)
    files = {
        "jobs/contacts.sql": BLOCKED,
        "jobs/regions.sql": CLEAN,
        "jobs/scratch/try.sql": BLOCKED,
        "jobs/notes.txt": BLOCKED,
        "jobs/.hidden/x.sql": BLOCKED,
        "jobs/target/compiled.sql": BLOCKED,
    }
    for name, sql in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(sql)
    return tmp_path


def job_ids(stdout: str) -> list[str]:
    return [j["job"]["id"] for j in json.loads(stdout)["jobs"]]


def test_a_folder_is_walked_for_sql_files(tmp_path: Path) -> None:
    result = run_cli(["check", "jobs", "--format", "json"], cwd=estate(tmp_path))
    assert result.exit_code == 1
    assert job_ids(result.stdout) == [
        "sql:jobs/contacts.sql",
        "sql:jobs/regions.sql",
        "sql:jobs/scratch/try.sql",
    ]


def test_exclude_and_include_globs(tmp_path: Path) -> None:
    estate(tmp_path)
    excluded = run_cli(
        ["check", "jobs", "--exclude", "scratch/**", "--exclude", "contacts.sql", "--format", "json"],
        cwd=tmp_path,
    )
    assert excluded.exit_code == 0
    assert job_ids(excluded.stdout) == ["sql:jobs/regions.sql"]
    included = run_cli(["check", "jobs", "--include", "*.txt", "--format", "json"], cwd=tmp_path)
    assert job_ids(included.stdout) == ["sql:jobs/notes.txt"]


def test_a_folder_without_sql_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli(["check", "empty"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "no SQL files to check" in result.stderr


def test_stdin_is_checked_under_the_name_given(tmp_path: Path) -> None:
    estate(tmp_path)
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "kaitiaki"),
            "check",
            "-",
            "--stdin-name",
            "jobs/contacts.sql",
            "--format",
            "json",
        ],
        input=BLOCKED,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert job_ids(run.stdout) == ["sql:jobs/contacts.sql"]
    clean = subprocess.run(
        [str(Path(sys.executable).parent / "kaitiaki"), "check", "-", "--format", "json"],
        input=CLEAN,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert clean.returncode == 0
    assert job_ids(clean.stdout) == ["sql:<stdin>"]


def test_several_formats_in_one_run_and_output_file(tmp_path: Path) -> None:
    estate(tmp_path)
    result = run_cli(
        [
            "check", "jobs/contacts.sql",
            "--format", "json",
            "--format", "sarif=reports/kaitiaki.sarif",
            "--format", "junit=reports/junit.xml",
            "--output", "out.json",
        ],
        cwd=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout == ""
    assert job_ids((tmp_path / "out.json").read_text()) == ["sql:jobs/contacts.sql"]
    sarif = json.loads((tmp_path / "reports" / "kaitiaki.sarif").read_text())
    assert "PM-07" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "<testsuites" in (tmp_path / "reports" / "junit.xml").read_text()
    assert "wrote sarif to reports/kaitiaki.sarif" in result.stderr


def test_format_mistakes_are_usage_errors_before_any_work(tmp_path: Path) -> None:
    estate(tmp_path)
    two = run_cli(["check", "jobs", "--format", "json", "--format", "sarif"], cwd=tmp_path)
    assert two.exit_code == 2 and "would all go to stdout" in two.stderr
    unknown = run_cli(["check", "jobs", "--format", "sarf=x.sarif"], cwd=tmp_path)
    assert unknown.exit_code == 2 and "unknown report format 'sarf'" in unknown.stderr
    assert not (tmp_path / "x.sarif").exists()
