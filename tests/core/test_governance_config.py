"""Governance mistakes in kaitiaki.yaml that used to pass silently: each is now an error or a
warning naming the line, and its nearest correct twin reports nothing."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kaitiaki.config import parse_settings
from kaitiaki.config_check import ERROR, WARNING, Problem, settings_problems
from kaitiaki.errors import ConfigError
from tests.e2e.cli_runner import run_cli
from tests.support.clients_estate import CONFIG, CONTACT_PURPOSE, CONTACTS_SQL

TODAY = dt.date(2026, 12, 4)

BASE = CONFIG + "purposes:\n" + CONTACT_PURPOSE + "    expires: 2027-06-30\n"


def waiver(rule: str = "PM-07", job: str = "sql:contacts.sql", expires: str = "2027-01-31") -> str:
    return (
        f"  - rule: {rule}\n    job: {json.dumps(job)}\n    justification: calls need name and number\n"
        f"    approved_by: MSD Data Governance Board\n    expires: {expires}\n"
    )


def workspace(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "kaitiaki.yaml"
    config.write_text(BASE + extra)
    (tmp_path / "contacts.sql").write_text(CONTACTS_SQL)
    return config


def problems(tmp_path: Path, extra: str, jobs: set[str] | None = None) -> list[Problem]:
    config = workspace(tmp_path, extra)
    return settings_problems(parse_settings(config.read_text(), config), today=TODAY, jobs=jobs)


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# --- rule ids ----------------------------------------------------------------------------------


def test_lowercase_rule_id_in_a_waiver_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, "waivers:\n" + waiver(rule="pm-07")))
    assert problem.severity == ERROR
    assert problem.line == 17  # the waiver's `rule:` line
    assert "'pm-07', which no policy defines" in problem.message
    assert problem.hint and "did you mean 'PM-07'" in problem.hint


def test_the_exact_rule_id_is_accepted(tmp_path: Path) -> None:
    assert problems(tmp_path, "waivers:\n" + waiver(rule="PM-07")) == []


def test_unknown_rule_in_levels_is_an_error(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, "levels:\n  pm-05: advisory\n"))
    assert (problem.severity, problem.line) == (ERROR, 17)
    assert problem.hint and "'PM-05'" in problem.hint
    assert problems(tmp_path, "levels:\n  PM-05: advisory\n") == []


# --- waivers -----------------------------------------------------------------------------------


def test_expired_waiver_is_a_warning_naming_its_line(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, "waivers:\n" + waiver(expires="2026-11-30")))
    assert (problem.severity, problem.line) == (WARNING, 17)
    assert "is ignored: it expired on 2026-11-30" in problem.message


def test_waiver_expiring_today_still_counts(tmp_path: Path) -> None:
    assert problems(tmp_path, "waivers:\n" + waiver(expires=TODAY.isoformat())) == []


def test_waiver_of_a_hard_rule_is_an_error(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, "waivers:\n" + waiver(rule="PM-03")))
    assert (problem.severity, problem.line) == (ERROR, 17)
    assert "PM-03 is hard" in problem.message


def test_waiver_of_a_hard_rule_lowered_to_soft_is_accepted(tmp_path: Path) -> None:
    assert problems(tmp_path, "levels: {PM-03: soft}\nwaivers:\n" + waiver(rule="PM-03")) == []


def test_waiver_for_a_missing_sql_file_matches_no_job(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, "waivers:\n" + waiver(job="sql:contact.sql")))
    assert (problem.severity, problem.line) == (WARNING, 18)
    assert "matches no job" in problem.message


def test_waiver_matching_no_known_job_suggests_the_closest(tmp_path: Path) -> None:
    jobs = {"dbt:model.nz_social.winter_energy_outreach"}
    problem = only(problems(tmp_path, "waivers:\n" + waiver(job="dbt:model.nz_social.winter_outreach"), jobs))
    assert "matches no job" in problem.message
    assert problem.hint and "winter_energy_outreach" in problem.hint
    assert problems(tmp_path, "waivers:\n" + waiver(job=next(iter(jobs))), jobs) == []


# --- policy data, purposes, categories ---------------------------------------------------------


def test_misspelt_policy_data_key_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, "policy_data:\n  params:\n    min_cell_count: 10\n"))
    assert (problem.severity, problem.line) == (ERROR, 18)
    assert "policy_data.params.min_cell_count" in problem.message
    assert problem.hint == "did you mean 'min_count_cell'?"
    assert problems(tmp_path, "policy_data:\n  params:\n    min_count_cell: 10\n") == []


def test_policy_data_key_at_the_wrong_level_points_to_where_it_belongs(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, "policy_data:\n  min_count_cell: 10\n"))
    assert problem.hint == "did you mean policy_data.params.min_count_cell?"


def test_purpose_past_expiry_is_a_warning(tmp_path: Path) -> None:
    config = workspace(tmp_path)
    config.write_text(config.read_text().replace("2027-06-30", "2026-06-30"))
    problem = only(settings_problems(parse_settings(config.read_text(), config), today=TODAY))
    assert (problem.severity, problem.line) == (WARNING, 15)
    assert "purpose 'contact' expired on 2026-06-30" in problem.message


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("unique_identifer", "unique_identifier"), ("direct_identifer", "direct_identifier")],
)
def test_unknown_category_in_a_purpose_is_an_error_with_line(
    tmp_path: Path, typo: str, suggestion: str
) -> None:
    text = BASE.replace(
        "allowed_categories: [unique_identifier, direct_identifier]", f"allowed_categories:\n      - {typo}"
    )
    with pytest.raises(ConfigError) as error:
        parse_settings(text, tmp_path / "kaitiaki.yaml")
    assert error.value.line == 14
    assert f"unknown category '{typo}'" in error.value.message
    assert error.value.hint and f"did you mean '{suggestion}'" in error.value.hint


def test_families_and_star_are_valid_purpose_categories(tmp_path: Path) -> None:
    text = BASE.replace(
        "[unique_identifier, direct_identifier]", '[sensitive, "sensitive:health", "*", child]'
    )
    assert (
        parse_settings(text, tmp_path / "kaitiaki.yaml").purposes["contact"].allowed_categories[0]
        == "sensitive"
    )


def test_unknown_category_in_the_catalog_names_the_item_line(tmp_path: Path) -> None:
    text = BASE.replace("phone: [direct_identifier]", "phone:\n        - direct_identifer")
    with pytest.raises(ConfigError) as error:
        parse_settings(text, tmp_path / "kaitiaki.yaml")
    assert error.value.line == 9
    assert error.value.hint and "'direct_identifier'" in error.value.hint


# --- kaitiaki config check ---------------------------------------------------------------------


def test_config_check_exits_1_on_errors_and_lists_warnings(tmp_path: Path) -> None:
    config = workspace(tmp_path, "waivers:\n" + waiver(rule="pm-07") + waiver(expires="2026-01-31"))
    result = run_cli(["config", "check", "--config", str(config)], cwd=tmp_path)
    assert result.exit_code == 1
    assert f"{config}:17: error: a waiver names rule 'pm-07'" in result.stdout
    assert f"{config}:22: warning: the waiver of PM-07 for sql:contacts.sql is ignored" in result.stdout
    assert "1 error(s), 1 warning(s)" in result.stdout


def test_config_check_passes_with_warnings_only(tmp_path: Path) -> None:
    config = workspace(tmp_path, "waivers:\n" + waiver(expires="2026-01-31"))
    result = run_cli(["config", "check", "--config", str(config), "--format", "json"], cwd=tmp_path)
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert [p["severity"] for p in doc["problems"]] == ["warning"]


def test_config_check_of_a_clean_config_is_silent(tmp_path: Path) -> None:
    config = workspace(tmp_path, "waivers:\n" + waiver())
    result = run_cli(["config", "check", "--config", str(config), str(tmp_path)], cwd=tmp_path)
    assert result.exit_code == 0
    assert "0 error(s), 0 warning(s)" in result.stdout


def test_config_check_reads_dbt_job_ids_from_a_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {"model.p.outreach": {}, "test.p.t": {}}}))
    config = workspace(tmp_path, "waivers:\n" + waiver(job="dbt:model.p.outreech"))
    result = run_cli(["config", "check", "--config", str(config), "--manifest", str(manifest)], cwd=tmp_path)
    assert "matches no job. Hint: did you mean 'dbt:model.p.outreach'?" in result.stdout


def test_check_warns_on_stderr_and_decides_as_before(tmp_path: Path) -> None:
    """The real CLI process: stderr carries the warning, stdout only the chosen format."""
    config = workspace(tmp_path, "waivers:\n" + waiver(rule="pm-07"))
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "kaitiaki"),
            "check",
            "contacts.sql",
            "--purpose",
            "contact",
            "--format",
            "json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"KAITIAKI_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert run.returncode == 1
    assert json.loads(run.stdout)["allow"] is False
    assert f"{config}:17: warning: a waiver names rule 'pm-07'" in run.stderr


# --- reports: an ignored waiver beside the finding it failed to lift ---------------------------


def test_expired_waiver_is_shown_and_no_ask_line_suggests_it_works(tmp_path: Path) -> None:
    config = workspace(tmp_path, "waivers:\n" + waiver(expires="2026-01-31"))
    text = run_cli(["check", "contacts.sql", "--purpose", "contact", "--config", str(config)], cwd=tmp_path)
    assert text.exit_code == 1
    assert "waiver ignored: it has expired or has no readable expiry date" in text.stdout
    assert "grant a waiver" not in text.stdout
    assert "renew or correct it" in text.stdout
    result = run_cli(
        ["check", "contacts.sql", "--purpose", "contact", "--config", str(config), "--format", "json"],
        cwd=tmp_path,
    )
    decision = json.loads(result.stdout)["jobs"][0]["decision"]
    assert decision["ignored_waivers"] == [
        {"rule": "PM-07", "reason": "it has expired or has no readable expiry date"}
    ]


def test_valid_waiver_lifts_the_finding_and_the_decision_keeps_three_fields(tmp_path: Path) -> None:
    config = workspace(tmp_path, "waivers:\n" + waiver())
    result = run_cli(
        ["check", "contacts.sql", "--purpose", "contact", "--config", str(config), "--format", "json"],
        cwd=tmp_path,
    )
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)["jobs"][0]["decision"]) == {"allow", "violations", "policy_revision"}


def test_lowercase_waiver_is_shown_beside_the_finding(tmp_path: Path) -> None:
    config = workspace(tmp_path, "waivers:\n" + waiver(rule="pm-07"))
    result = run_cli(
        ["check", "contacts.sql", "--purpose", "contact", "--config", str(config), "--format", "markdown"],
        cwd=tmp_path,
    )
    assert result.exit_code == 1
    assert "**Waiver ignored:** it names rule 'pm-07'; rule ids are case-sensitive" in result.stdout
    assert "grant a waiver" not in result.stdout


def test_no_ask_to_grant_a_waiver_without_one_offered_is_unchanged(tmp_path: Path) -> None:
    config = workspace(tmp_path)
    result = run_cli(["check", "contacts.sql", "--purpose", "contact", "--config", str(config)], cwd=tmp_path)
    assert "grant a waiver {rule: PM-07" in result.stdout
    assert "waiver ignored" not in result.stdout


# --- help text takes thresholds from the policy data in force ----------------------------------

AGG_SQL = "select region, count(distinct client_id) as n\nfrom cms.clients\ngroup by region\n"


@pytest.mark.parametrize(
    ("extra", "threshold"), [("", "6"), ("policy_data: {params: {min_count_cell: 10}}\n", "10")]
)
def test_small_cell_help_states_the_threshold_in_force(tmp_path: Path, extra: str, threshold: str) -> None:
    config = workspace(tmp_path, extra)
    (tmp_path / "agg.sql").write_text(AGG_SQL)
    result = run_cli(
        ["check", "agg.sql", "--purpose", "contact", "--destination", "external", "--config", str(config)],
        cwd=tmp_path,
    )
    assert f"(at least {threshold} people needed)" in result.stdout
    assert f">= {threshold} (>= 20 for sums, means, medians and percentiles)" in result.stdout
    assert "{min_count_cell}" not in result.stdout
