"""The CLI contract of README.md: names, exit codes, one-paragraph errors, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.cli_runner import run_cli


def test_version_and_help_with_examples() -> None:
    version = run_cli(["--version"])
    assert version.exit_code == 0
    assert "kaitiaki, version 0.1.0" in version.stdout
    help_ = run_cli(["--help"])
    assert help_.exit_code == 0
    for command in ("analyze", "check", "scan", "policy", "log", "plugins", "purposes"):
        assert command in help_.stdout
    assert "Examples:" in help_.stdout


def test_unknown_dialect_exits_2_listing_the_valid_ones(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("select 1")
    result = run_cli(["analyze", "a.sql", "--dialect", "cobol"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "unknown dialect 'cobol'" in result.stderr
    assert "snowflake" in result.stderr and "tsql" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["check", "nope.sql", "--config", str(_config(tmp_path))], cwd=tmp_path)
    assert result.exit_code == 2
    assert "nope.sql: file not found." in result.stderr


def test_invalid_config_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "kaitiaki.yaml"
    config.write_text("agency: msd\nmode: sometimes\n")
    (tmp_path / "a.sql").write_text("select 1")
    result = run_cli(["check", "a.sql", "--config", str(config)], cwd=tmp_path)
    assert result.exit_code == 2
    assert f"{config}:2: mode is 'sometimes'" in result.stderr


def test_bad_flag_is_exit_2(tmp_path: Path) -> None:
    result = run_cli(["check", "--frobnicate", "a.sql"], cwd=tmp_path)
    assert result.exit_code == 2


def test_plugins_lists_core_plugins_and_their_hooks() -> None:
    result = run_cli(["plugins", "--format", "json"])
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert "kaitiaki_policy_engines" in rows["kaitiaki.engine.builtin"]["hooks"]
    assert "kaitiaki_classify_column" in rows["kaitiaki.classify.name_rules"]["hooks"]


def test_purposes_list(tmp_path: Path) -> None:
    config = tmp_path / "kaitiaki.yaml"
    config.write_text(
        "purposes:\n  research:\n    description: Reduce readmissions\n    approved_by: Board\n"
        "    expires: 2027-06-30\n    allowed_categories: [quasi_identifier]\n"
    )
    result = run_cli(["purposes", "list", "--config", str(config)])
    assert result.exit_code == 0
    assert "research: Reduce readmissions" in result.stdout
    assert "approved by: Board; expires: 2027-06-30" in result.stdout


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "kaitiaki.yaml"
    config.write_text("agency: msd\ndecision_log: false\n")
    return config
