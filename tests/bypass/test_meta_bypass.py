"""Bypasses that are not SQL: what a data engineer controls around the SQL (issue #7).

Each case names the attack and its expected outcome and runs the real entry point: ``kaitiaki
check`` (in-process, or as a process when the attack is an environment variable read once per
process), ``kaitiaki dbt check`` on a copy of examples/nz_social with attack models
(tests/bypass/meta/dbt), or ``kaitiaki dbt check --manifest`` on that project's manifest with a
model's meta changed the way dbt would write it. Outcomes: ``blocked`` (exit 1, the rules named),
``refused`` (exit 2, one paragraph naming the problem), ``visible`` (the job runs, by design, and
its decision record says what was chosen, see docs/security.md "Trust boundaries").
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.config import config_digest
from tests.dbt.conftest import copy_example, database_at, write_manifest
from tests.e2e.cli_runner import CliResult, run_cli

HERE = Path(__file__).parent
ATTACK_MODELS = HERE / "meta" / "dbt" / "models" / "attacks"
NHI_LITERAL = "ZZZ0016"
IRD_LITERAL = "123456789"

BASE: dict[str, Any] = {
    "agency": "moh",
    "dialect": "postgres",
    "mode": "enforce",
    "decision_log": "log/decisions.jsonl",
    "identifier_issuers": {"nhi": "moh"},
    "catalog": {
        "health.patients": {
            "agency": "moh",
            "columns": {
                "nhi": ["unique_identifier:nhi"],
                "full_name": ["direct_identifier"],
                "region": [],
                "admitted_on": [],
            },
        },
        "health.visits": {"agency": "moh", "columns": {"nhi": ["unique_identifier:nhi"], "region": []}},
    },
    "purposes": {
        "clinic-load": {
            "description": "Plan clinic staffing from admissions per region and day (no personal data)",
            "allowed_categories": [],
            "approved_by": "Health Data Governance Group",
            "expires": "2027-06-30",
        },
        "readmissions": {
            "description": "Count readmissions per patient by region for capacity planning",
            "allowed_categories": ["unique_identifier"],
            "approved_by": "Health Data Governance Group",
            "expires": "2027-06-30",
        },
        "finished-study": {
            "description": "Readmissions per patient by region, a study that has ended",
            "allowed_categories": ["unique_identifier"],
            "approved_by": "Health Data Governance Group",
            "expires": "2020-01-01",
        },
    },
}
NHI_SQL = (
    f"select nhi, full_name, region from health.patients where nhi = '{NHI_LITERAL}'"
    f" or admitted_on = {IRD_LITERAL}\n"
)
STAR_SQL = "select * from health.visits\n"  # PM-05 (soft) under `readmissions`
WAIVER = {
    "rule": "PM-05",
    "job": "sql:jobs/job.sql",
    "justification": "j",
    "approved_by": "a",
    "expires": "2027-01-01",
}


def waiver(**changes: Any) -> dict[str, Any]:
    out = {**WAIVER, **changes}
    return {k: v for k, v in out.items() if v is not None}


# name, family, config changes, SQL, extra args, expected outcome
CLI_CASES: list[dict[str, Any]] = [
    # --- enforcement downgrades ---
    {
        "name": "cli_mode_audit_is_labelled",
        "family": "mode",
        "sql": NHI_SQL,
        "args": ["--mode", "audit"],
        "exit": 0,
        "labels": {"mode": "audit", "configured_mode": "enforce"},
    },
    {
        "name": "kaitiaki_yaml_beside_the_sql_is_not_read",
        "family": "mode",
        "sql": NHI_SQL,
        "files": {"jobs/kaitiaki.yaml": "mode: audit\n"},
        "exit": 1,
        "rules": ["PM-03"],
    },
    {
        "name": "kaitiaki_mode_env_var_does_not_exist",
        "family": "mode",
        "sql": NHI_SQL,
        "env": {"KAITIAKI_MODE": "audit"},
        "exit": 1,
        "rules": ["PM-03"],
    },
    {
        "name": "config_levels_lowered_are_visible_in_the_revision",
        "family": "mode",
        "sql": NHI_SQL,
        "config": {"levels": {"PM-03": "advisory", "PM-07": "advisory"}},
        "exit": 0,
        "revision_differs": True,
    },
    # --- purpose tricks ---
    {
        "name": "purpose_other_case",
        "family": "purpose",
        "sql": NHI_SQL,
        "purpose": "Readmissions",
        "exit": 1,
        "rules": ["PM-02"],
    },
    {
        "name": "purpose_trailing_space",
        "family": "purpose",
        "sql": NHI_SQL,
        "purpose": "readmissions ",
        "exit": 1,
        "rules": ["PM-02"],
    },
    {
        "name": "purpose_cyrillic_lookalike",
        "family": "purpose",
        "sql": NHI_SQL,
        "purpose": "rеadmissions",
        "exit": 1,
        "rules": ["PM-02"],
    },
    {
        "name": "purpose_expired",
        "family": "purpose",
        "sql": NHI_SQL,
        "purpose": "finished-study",
        "exit": 1,
        "rules": ["PM-02"],
    },
    {
        "name": "purpose_unregistered",
        "family": "purpose",
        "sql": NHI_SQL,
        "purpose": "anything-goes",
        "exit": 1,
        "rules": ["PM-02"],
    },
    {
        "name": "purpose_expiry_malformed",
        "family": "purpose",
        "sql": NHI_SQL,
        "config": {"purposes": {"readmissions": {"expires": "30/06/2027"}}},
        "exit": 2,
        "stderr": "expires must be a date",
    },
    {
        "name": "destination_unknown_kind",
        "family": "purpose",
        "sql": NHI_SQL,
        "args": ["--destination", "intranet"],
        "exit": 2,
        "stderr": "intranet",
    },
    {
        "name": "default_destination_unknown_kind",
        "family": "purpose",
        "sql": NHI_SQL,
        "config": {"default_destination": {"kind": "partner"}},
        "exit": 2,
        "stderr": "destination kind 'partner'",
    },
    {
        "name": "default_destination_list",
        "family": "purpose",
        "sql": NHI_SQL,
        "config": {"default_destination": ["internal", "external"]},
        "exit": 2,
        "stderr": "a destination is a kind",
    },
    # --- waivers (PM-05 is soft; the control below shows the waiver works when valid) ---
    {"name": "waiver_control_valid", "family": "waiver", "sql": STAR_SQL, "waivers": [waiver()], "exit": 0},
    {
        "name": "waiver_job_glob",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(job="sql:jobs/*")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_job_prefix",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(job="sql:jobs/")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_job_other_case",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(job="SQL:jobs/job.sql")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_job_trailing_space",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(job="sql:jobs/job.sql ")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_rule_star",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(rule="*")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_rule_lower_case",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(rule="pm-05")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_expired",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(expires="2025-01-01")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_without_expiry",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(expires=None)],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_without_approver",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(approved_by="")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_without_justification",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(justification="")],
        "exit": 1,
        "rules": ["PM-05"],
    },
    {
        "name": "waiver_for_a_hard_rule",
        "family": "waiver",
        "sql": NHI_SQL,
        "purpose": "clinic-load",
        "waivers": [waiver(rule="PM-03")],
        "exit": 1,
        "rules": ["PM-03"],
    },
    {
        "name": "waiver_expiry_malformed",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver(expires="soon")],
        "exit": 2,
        "stderr": "waiver.expires must be a date",
    },
    {
        "name": "waiver_borrowed_by_a_file_outside_the_config_folder",
        "family": "waiver",
        "sql": STAR_SQL,
        "waivers": [waiver()],
        "outside": True,
        "exit": 1,
        "rules": ["PM-05"],
    },
    # --- logs and literal values ---
    {
        "name": "decision_log_dev_null",
        "family": "log",
        "sql": NHI_SQL,
        "config": {"decision_log": "/dev/null"},
        "exit": 2,
        "stderr": "not a regular file",
    },
    {
        "name": "decision_log_fifo",
        "family": "log",
        "sql": NHI_SQL,
        "config": {"decision_log": "log/fifo"},
        "fifo": "log/fifo",
        "exit": 2,
        "stderr": "not a regular file",
    },
    {
        "name": "literal_in_parse_error_kept_out_of_the_log",
        "family": "log",
        "purpose": "clinic-load",
        "sql": f"select nhi from health.patients where nhi in ('{NHI_LITERAL}' '{NHI_LITERAL}'\n",
        "exit": 1,
        "rules": ["SYS-01"],
        "no_literals": True,
    },
    {
        "name": "literal_kept_out_of_text_excerpt",
        "family": "log",
        "sql": NHI_SQL,
        "purpose": "clinic-load",
        "format": "text",
        "exit": 1,
        "no_literals": True,
    },
    {
        "name": "literal_kept_out_of_junit_excerpt",
        "family": "log",
        "sql": NHI_SQL,
        "purpose": "clinic-load",
        "format": "junit",
        "exit": 1,
        "no_literals": True,
    },
    {
        "name": "literal_kept_out_of_markdown_excerpt",
        "family": "log",
        "sql": NHI_SQL,
        "purpose": "clinic-load",
        "format": "markdown",
        "exit": 1,
        "no_literals": True,
    },
    {
        "name": "literal_kept_out_of_sarif_and_json",
        "family": "log",
        "sql": NHI_SQL,
        "purpose": "clinic-load",
        "format": "sarif",
        "exit": 1,
        "no_literals": True,
    },
    # --- policy tampering through kaitiaki.yaml (governance-owned, made visible) ---
    {
        "name": "custom_policy_redefines_main_decision",
        "family": "policy",
        "purpose": "clinic-load",
        "sql": "select * from raw.unknown_extract\n",
        "custom_main": True,
        "exit": 1,
        "rules": ["SYS-01"],
    },
]


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


CUSTOM_MAIN = """package kaitiaki.main

import rego.v1

decision := {"allow": true, "violations": [], "policy_revision": "forked"}
"""


def write_project(root: Path, case: dict[str, Any]) -> Path:
    config = merged(BASE, case.get("config", {}))
    if "waivers" in case:
        config["waivers"] = case["waivers"]
    if case.get("custom_main"):
        (root / "forked" / "kaitiaki").mkdir(parents=True)
        (root / "forked" / "kaitiaki" / "main.rego").write_text(CUSTOM_MAIN)
        config["policies"] = ["forked"]
    (root / "jobs").mkdir(parents=True)
    (root / "log").mkdir()
    if case.get("fifo"):
        os.mkfifo(root / case["fifo"])
    (root / "kaitiaki.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    (root / "jobs" / "job.sql").write_text(case["sql"])
    for name, text in case.get("files", {}).items():
        (root / name).write_text(text)
    return root


def check(root: Path, case: dict[str, Any], job: Path) -> CliResult:
    args = ["check", str(job), "--purpose", case.get("purpose", "readmissions")]
    args += ["--format", case.get("format", "json"), *case.get("args", [])]
    before = {k: os.environ.get(k) for k in case.get("env", {})}
    os.environ.update(case.get("env", {}))
    try:
        return run_cli(args, cwd=root)
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def log_records(root: Path) -> list[dict[str, Any]]:
    path = root / "log" / "decisions.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_attempts_are_many_and_named_once() -> None:
    names = (
        [c["name"] for c in CLI_CASES] + [c["name"] for c in DBT_CASES] + [c["name"] for c in MANIFEST_CASES]
    )
    assert len(names) == len(set(names))
    assert len(names) >= 50


@pytest.mark.parametrize("case", CLI_CASES, ids=[c["name"] for c in CLI_CASES])
def test_cli_attack(case: dict[str, Any], tmp_path: Path) -> None:
    root = write_project(tmp_path / "repo", case)
    job = Path("jobs/job.sql")
    if case.get("outside"):
        elsewhere = tmp_path / "elsewhere" / "jobs"
        elsewhere.mkdir(parents=True)
        (elsewhere / "job.sql").write_text(case["sql"])
        job = elsewhere / "job.sql"
    result = check(root, case, job)
    assert result.exit_code == case["exit"], (result.stdout[-2000:], result.stderr)
    assert "Traceback" not in result.stderr
    if case["exit"] == 2:
        assert case["stderr"] in result.stderr
        assert result.stderr.startswith("kaitiaki: error:") or "Usage:" in result.stderr
        return
    if case.get("format", "json") == "json":
        document = json.loads(result.stdout)
        rules = {v["rule"] for j in document["jobs"] for v in j["decision"]["violations"] if not v["waived"]}
        assert set(case.get("rules", [])) <= rules, rules
    records = log_records(root)
    assert records, "every decision is logged"
    labels = records[-1]["labels"]
    assert labels["config"] == config_digest((root / "kaitiaki.yaml").read_text())
    assert labels["purpose"] == case.get("purpose", "readmissions")
    for key, value in case.get("labels", {}).items():
        assert labels[key] == value
    if case.get("revision_differs"):
        plain = write_project(tmp_path / "plain", {"sql": case["sql"]})
        assert check(plain, {}, job).exit_code == 1
        assert log_records(plain)[-1]["revision"] != records[-1]["revision"]
    if case.get("no_literals"):
        shown = result.stdout + result.stderr + (root / "log" / "decisions.jsonl").read_text()
        assert NHI_LITERAL not in shown and IRD_LITERAL not in shown
        if case.get("format") in ("text", "junit", "markdown"):
            assert "nhi = '…'" in result.stdout, result.stdout


def test_empty_plugin_list_is_named_in_the_record(tmp_path: Path) -> None:
    """KAITIAKI_LOAD_PLUGINS="" unloads kaitiaki-nz, so an uncatalogued ``nhi`` column is not
    recognised (trust boundary: the environment). The record names the plugins that classified."""
    case = {"sql": "select nhi, count(*) from raw.admissions group by nhi\n", "purpose": "clinic-load"}
    root = write_project(tmp_path / "repo", case)
    kaitiaki = Path(sys.executable).parent / "kaitiaki"
    outcomes = {}
    for value in (None, ""):
        env = {k: v for k, v in os.environ.items() if k != "KAITIAKI_LOAD_PLUGINS"}
        if value is not None:
            env["KAITIAKI_LOAD_PLUGINS"] = value
        done = subprocess.run(
            [str(kaitiaki), "check", "jobs/job.sql", "--purpose", "clinic-load", "--format", "json"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        outcomes[value] = (done.returncode, log_records(root)[-1]["labels"]["plugins"])
    assert outcomes[None][0] == 1 and "nz" in outcomes[None][1].split(",")
    assert outcomes[""] == (0, "kaitiaki.classify.name_rules")


def test_required_plugins_close_the_empty_plugin_list(tmp_path: Path) -> None:
    """``required_plugins: [nz]`` turns that trust boundary into a refusal naming kaitiaki.yaml:line."""
    case = {"sql": "select nhi, count(*) from raw.admissions group by nhi\n", "purpose": "clinic-load"}
    root = write_project(tmp_path / "repo", case)
    config = root / "kaitiaki.yaml"
    config.write_text(config.read_text() + "required_plugins: [nz]\n")
    line = config.read_text().splitlines().index("required_plugins: [nz]") + 1
    env = {**os.environ, "KAITIAKI_LOAD_PLUGINS": ""}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kaitiaki"), "check", "jobs/job.sql", "--purpose", "clinic-load"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"kaitiaki.yaml:{line}: required plugin 'nz' is not loaded" in done.stderr
    assert "Traceback" not in done.stderr


# --- dbt: attack models in a copy of examples/nz_social --------------------------------------------

EXTRA_PURPOSES = """  clinic-load:
    description: Plan clinic staffing from admissions per region and day (no personal information).
    allowed_categories: []
    approved_by: Ministry of Health Data Governance Group
    expires: 2028-06-30
  old-outreach:
    description: Phone Waikato clients about the 2024 winter energy payment change.
    allowed_categories: [unique_identifier, direct_identifier]
    approved_by: MSD Data Governance Board
    expires: 2024-06-30

waivers:
"""
SEED_DECLASSIFIED = """    columns:
      - name: full_name
        config:
          meta: {kaitiaki: {categories: []}}
  - name: moh_patients
"""

# model, expected: allow, rules that must be among the unwaived violations, declared destination
DBT_CASES: list[dict[str, Any]] = [
    {
        "name": "atk_launder_report",
        "attack": "upstream model YAML says its NHI column is categories: []",
        "allow": False,
        "rules": ["PM-03"],
    },
    {
        "name": "atk_seed_declassified",
        "attack": "seed YAML clears a catalog column",
        "allow": False,
        "rules": ["PM-03"],
    },
    {"name": "atk_purpose_case", "attack": "purpose id in another case", "allow": False, "rules": ["PM-02"]},
    {
        "name": "atk_purpose_space",
        "attack": "purpose id with a trailing space",
        "allow": False,
        "rules": ["PM-02"],
    },
    {
        "name": "atk_purpose_lookalike",
        "attack": "purpose id with a Cyrillic e",
        "allow": False,
        "rules": ["PM-02"],
    },
    {
        "name": "atk_purpose_expired",
        "attack": "purpose whose expiry passed",
        "allow": False,
        "rules": ["PM-02"],
    },
    {
        "name": "atk_purpose_unregistered",
        "attack": "purpose not in the register",
        "allow": False,
        "rules": ["PM-02"],
    },
    {
        "name": "atk_alias_catalog",
        "attack": "model aliased into the catalog's schema",
        "allow": False,
        "rules": ["PM-03"],
    },
    {
        "name": "atk_destination_offshore_internal",
        "attack": "destination {kind: internal, region: offshore}",
        "allow": False,
        "rules": ["SV-02"],
    },
    {
        "name": "atk_purpose_broader",
        "attack": "model overrides its folder's purpose with a broader one",
        "allow": True,
        "visible": {"purpose": "msd-client-services"},
    },
    {
        "name": "atk_destination_spoof",
        "attack": "person-level vendor extract declared internal",
        "allow": True,
        "visible": {"destination": "internal/nz"},
    },
    {
        "name": "atk_env_purpose",
        "attack": "purpose chosen at run time through env_var()",
        "allow": True,
        "visible": {"purpose": "msd-client-services"},
    },
]

# meta.kaitiaki on a model as dbt writes it into the manifest → exit 2 naming the problem
MANIFEST_CASES: list[dict[str, Any]] = [
    {
        "name": "meta_mode_audit",
        "kaitiaki": {"purpose": "benefit-uptake", "mode": "audit"},
        "stderr": "'mode'",
    },
    {
        "name": "meta_levels",
        "kaitiaki": {"purpose": "benefit-uptake", "levels": {"PM-03": "advisory"}},
        "stderr": "'levels'",
    },
    {
        "name": "meta_self_waiver",
        "kaitiaki": {"purpose": "benefit-uptake", "waivers": [WAIVER]},
        "stderr": "'waivers'",
    },
    {
        "name": "meta_destination_unknown_kind",
        "kaitiaki": {"purpose": "benefit-uptake", "destination": "partner"},
        "stderr": "destination kind 'partner'",
    },
    {
        "name": "meta_destination_list",
        "kaitiaki": {"purpose": "benefit-uptake", "destination": ["internal"]},
        "stderr": "a destination is a kind",
    },
    {
        "name": "meta_destination_unknown_key",
        "kaitiaki": {"purpose": "benefit-uptake", "destination": {"kind": "internal", "really": "external"}},
        "stderr": "unknown destination key",
    },
    {
        "name": "meta_column_category_none",
        "column": {"client_number": {"kaitiaki": {"categories": ["none"]}}},
        "stderr": "none",
    },
]
MANIFEST_MODEL = "model.nz_social.benefit_uptake_by_region"


@pytest.fixture(scope="module")
def attack_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The example with the attack models, checked once through dbt (``kaitiaki dbt check``)."""
    project = copy_example(tmp_path_factory.mktemp("meta") / "nz_social")
    shutil.copytree(ATTACK_MODELS, project / "models" / "attacks")
    seeds = project / "seeds" / "_seeds.yml"
    seeds.write_text(seeds.read_text().replace("  - name: moh_patients\n", SEED_DECLASSIFIED, 1))
    config = project / "kaitiaki.yaml"
    config.write_text(config.read_text().replace("\nwaivers:\n", "\n" + EXTRA_PURPOSES, 1))
    with database_at(project / "nz_social.duckdb"):
        result = run_cli(
            [
                "dbt",
                "check",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--format",
                "json",
            ],
            cwd=project,
        )
    assert result.exit_code == 1, result.stderr
    verdicts = {j["job"]["name"]: j for j in json.loads(result.stdout)["jobs"]}
    return project, verdicts


@pytest.mark.parametrize("case", DBT_CASES, ids=[c["name"] for c in DBT_CASES])
def test_dbt_attack(case: dict[str, Any], attack_project: tuple[Path, dict[str, Any]]) -> None:
    project, verdicts = attack_project
    decision = verdicts[case["name"]]["decision"]
    rules = {v["rule"] for v in decision["violations"] if not v["waived"]}
    assert decision["allow"] is case["allow"], (case["attack"], rules)
    assert set(case.get("rules", [])) <= rules, (case["attack"], rules)
    records = [
        json.loads(line)
        for line in (project / ".kaitiaki" / "decisions.jsonl").read_text().splitlines()
        if f'"dbt:model.nz_social.{case["name"]}"' in line
    ]
    assert records, "every decision is logged"
    for key, value in case.get("visible", {}).items():
        assert records[-1]["labels"][key] == value


@pytest.mark.parametrize("case", MANIFEST_CASES, ids=[c["name"] for c in MANIFEST_CASES])
def test_dbt_meta_attack_is_refused(
    case: dict[str, Any], attack_project: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    project, _ = attack_project
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    node = manifest["nodes"][MANIFEST_MODEL]
    if "kaitiaki" in case:
        node["config"]["meta"] = {"kaitiaki": case["kaitiaki"]}
        node["meta"] = {"kaitiaki": case["kaitiaki"]}
    for column, meta in case.get("column", {}).items():
        node.setdefault("columns", {})[column] = {"name": column, "meta": meta, "config": {"meta": meta}}
        consumer = manifest["nodes"]["model.nz_social.stg_msd_clients"]
        consumer.setdefault("columns", {})[column] = {"name": column, "meta": meta, "config": {"meta": meta}}
    path = write_manifest(tmp_path, manifest)
    result = run_cli(["dbt", "check", "--manifest", str(path), "--config", str(project / "kaitiaki.yaml")])
    assert result.exit_code == 2, (result.stdout[-1000:], result.stderr)
    assert case["stderr"] in result.stderr
    assert "Traceback" not in result.stderr
