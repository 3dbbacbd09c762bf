"""The CI integrations as a team would use them: the pre-commit hooks run by the real
``pre-commit try-repo`` on a fixture repository, and the composite GitHub Action's steps run by
bash exactly as the runner would (without ``act``: the runner itself is not available here, so
``setup-python`` and ``upload-sarif`` are not run; the action is validated against the GitHub
Actions schema that check-jsonschema ships)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.cli import dbt_check_args
from tests.support.clients_estate import CONFIG, CONTACTS_SQL, REGIONS_SQL

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# PM-07 on line 2, columns 8-16 (full_name): three identifiers in a person-level output.
BLOCKED = "-- contact list\n" + CONTACTS_SQL
GIT_ENV = {
    "GIT_AUTHOR_NAME": "kaitiaki tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "kaitiaki tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def fixture_repo(tmp_path: Path, *, blocked: bool = True) -> Path:
    repo = tmp_path / "repo"
    (repo / "jobs").mkdir(parents=True)
    (repo / "kaitiaki.yaml").write_text(CONFIG)
    (repo / "jobs" / "regions.sql").write_text(REGIONS_SQL)
    if blocked:
        (repo / "jobs" / "contacts.sql").write_text(BLOCKED)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


# --- pre-commit --------------------------------------------------------------------------------


def hooks() -> dict[str, dict[str, Any]]:
    return {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def test_the_hooks_file_is_a_valid_pre_commit_manifest() -> None:
    from pre_commit.clientlib import load_manifest

    loaded = {h["id"]: h for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(loaded) == {"kaitiaki-check", "kaitiaki-check-system", "kaitiaki-dbt-check"}
    python, system = hooks()["kaitiaki-check"], hooks()["kaitiaki-check-system"]
    assert {**python, "id": "", "language": "", "description": ""} == {
        **system,
        "id": "",
        "language": "",
        "description": "",
    }, "the two check hooks differ only in how kaitiaki is installed"
    assert python["language"] == "python" and system["language"] == "system"


def try_repo(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(ROOT), "kaitiaki-check-system", *args],
        cwd=repo,
        env=env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_reports_findings_on_the_right_file_and_line(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path)
    run = try_repo(repo, tmp_path, "--files", "jobs/contacts.sql", "jobs/regions.sql")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "error[PM-07]: One person key is enough" in output
    assert "--> jobs/contacts.sql:2:8" in output
    assert "regions.sql:" not in output.replace("sql:jobs/regions.sql", "")


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_checks_only_the_staged_files(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path)
    subprocess.run(["git", "add", "kaitiaki.yaml", "jobs/regions.sql"], cwd=repo, check=True)
    run = try_repo(repo, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout
    subprocess.run(["git", "add", "jobs/contacts.sql"], cwd=repo, check=True)
    assert try_repo(repo, tmp_path).returncode == 1


def test_the_dbt_hook_selects_changed_models_or_state_modified() -> None:
    changed = ["models/marts/outreach.sql", "models/staging/stg_clients.sql", "macros/x.sql", "README.md"]
    assert dbt_check_args(changed, ["--project-dir", "."], state=None, manifest=None) == [
        "dbt", "check", "--project-dir", ".", "--select", "outreach", "stg_clients",
    ]  # fmt: skip
    assert dbt_check_args(changed, [], state=None, manifest="target/manifest.json") == [
        "dbt", "check", "--manifest", "target/manifest.json", "--select", "outreach", "stg_clients",
    ]  # fmt: skip
    assert dbt_check_args(changed, [], state="prod-state", manifest=None) == [
        "dbt", "check", "--select", "state:modified+", "--state", "prod-state",
    ]  # fmt: skip
    assert dbt_check_args(["macros/x.sql"], [], state=None, manifest=None) is None


# --- the GitHub Action -------------------------------------------------------------------------


def action() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "action.yml").read_text()))


def step(name: str) -> dict[str, Any]:
    return next(s for s in action()["runs"]["steps"] if s.get("name") == name)


def test_action_yml_validates_against_the_github_actions_schema() -> None:
    pytest.importorskip("check_jsonschema")
    from importlib.resources import files

    import jsonschema

    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("github-actions.json").read_text()
    )
    jsonschema.validators.validator_for(schema)(schema).validate(action())


def test_action_scripts_are_valid_bash_and_take_inputs_only_through_env() -> None:
    for item in action()["runs"]["steps"]:
        if "run" in item:
            assert "${{" not in item["run"], f"{item['name']}: inputs must reach scripts through env"
            subprocess.run(["bash", "-n"], input=item["run"], text=True, check=True)


def run_step(
    name: str, repo: Path, tmp_path: Path, inputs: dict[str, str]
) -> tuple[int, str, dict[str, str]]:
    """Run one step's script as the runner does: its env with the inputs, GITHUB_OUTPUT and the
    step summary files, in the repository."""
    item = step(name)
    output, summary = tmp_path / "github_output", tmp_path / "step_summary.md"
    output.touch()
    step_env = {key: str(value) for key, value in (item.get("env") or {}).items()}
    defaults = {k: str(v.get("default", "")) for k, v in action()["inputs"].items()}
    values = {**defaults, **inputs}
    for key, value in step_env.items():
        if value.startswith("${{ inputs."):
            step_env[key] = values[value.removeprefix("${{ inputs.").removesuffix(" }}")]
    run = subprocess.run(
        ["bash", "-e", "-c", item["run"]],
        cwd=repo,
        env=env(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), **step_env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return run.returncode, run.stdout + run.stderr, outputs


def test_the_action_check_step_annotates_writes_sarif_and_the_summary(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path)
    code, log, outputs = run_step("Check", repo, tmp_path, {"paths": "jobs"})
    assert code == 0, log  # the step records the exit code; the last step fails the job
    assert outputs["exit-code"] == "1"
    assert "::error file=jobs/contacts.sql,line=2,col=8,endColumn=17,title=kaitiaki PM-07" in log
    sarif = json.loads((repo / "kaitiaki.sarif").read_text())
    located = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in sarif["runs"][0]["results"]
    }  # fmt: skip
    assert ("PM-07", "jobs/contacts.sql", 2) in located
    assert all(uri == "jobs/contacts.sql" for _, uri, _ in located)
    assert "PM-07" in (tmp_path / "step_summary.md").read_text()
    fail_code, _log, _ = run_step("Fail when a job is denied", repo, tmp_path, {})
    assert fail_code != 0


def test_the_action_passes_a_clean_repository(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path, blocked=False)
    code, log, outputs = run_step("Check", repo, tmp_path, {"paths": "jobs"})
    assert (code, outputs["exit-code"]) == (0, "0"), log
    assert "::error" not in log
    assert json.loads((repo / "kaitiaki.sarif").read_text())["runs"][0]["results"] == []
