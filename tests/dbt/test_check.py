"""``kaitiaki dbt check``: the compiled example decided model by model, and bad input failing closed."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.dbt.conftest import BuiltProject, copy_example, run_dbt_command, write_manifest
from tests.e2e.cli_runner import CliResult, run_cli

pytestmark = pytest.mark.dbt

PROJECT = "nz_social"
MODELS = {
    "stg_msd_clients",
    "stg_moh_patients",
    "stg_moe_students",
    "stg_ot_children_in_care",
    "int_client_keys",
    "int_child_health_link",
    "int_student_enrolments",
    "benefit_uptake_by_region",
    "children_in_care_by_placement",
    "senior_students_by_region",
    "winter_energy_outreach",
    "nhi_benefit_match",
    "benefit_health_summary",
    "client_snapshot",
    "school_ethnicity_report",
    "client_profile_offshore",
}
SEEDS = {"msd_clients", "moh_patients", "moe_students", "ot_children_in_care", "idi_spine"}
DENIED = {
    "nhi_benefit_match": "PM-11",
    "client_snapshot": "PM-05",
    "school_ethnicity_report": "SV-06",
    "client_profile_offshore": "SV-02",
}


def check(built: BuiltProject, *args: str, manifest: Path | None = None) -> CliResult:
    """``kaitiaki dbt check --manifest …`` with the example's kaitiaki.yaml."""
    return run_cli(
        [
            "dbt",
            "check",
            "--manifest",
            str(manifest or built.manifest),
            "--config",
            str(built.path / "kaitiaki.yaml"),
            *args,
        ]
    )


def jobs_by_name(result: CliResult) -> dict[str, dict[str, Any]]:
    document = json.loads(result.stdout)
    return {job["job"]["name"]: job for job in document["jobs"]}


def rules(job: dict[str, Any]) -> set[str]:
    return {v["rule"] for v in job["decision"]["violations"] if not v["waived"]}


def test_every_model_is_decided_with_the_json_shape_of_check(built: BuiltProject) -> None:
    result = check(built, "--format", "json")
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"allow", "jobs"} and document["allow"] is False
    jobs = jobs_by_name(result)
    assert set(jobs) == MODELS | SEEDS
    for name, job in jobs.items():
        kind, folder = ("seed", "seeds/") if name in SEEDS else ("model", "models/")
        assert job["job"]["id"] == f"dbt:{kind}.{PROJECT}.{name}"
        assert job["job"]["kind"] == f"dbt_{kind}"
        assert job["job"]["dialect"] == "duckdb"
        assert job["job"]["source"]["path"].startswith(folder) and name in job["job"]["source"]["path"]
    denied = {name for name, job in jobs.items() if not job["decision"]["allow"]}
    assert denied == set(DENIED)
    for name, rule in DENIED.items():
        assert rule in rules(jobs[name]), (name, jobs[name]["decision"]["violations"])


def test_the_manifest_path_decides_exactly_as_compiling_through_dbt(built: BuiltProject) -> None:
    assert built.check.exit_code == 1, built.check.stderr
    through_dbt = json.loads(built.check.stdout)
    from_manifest = json.loads(check(built, "--format", "json", "--no-cache").stdout)
    assert from_manifest == through_dbt


def test_purpose_destination_owner_and_upstream_come_from_dbt(built: BuiltProject) -> None:
    jobs = jobs_by_name(check(built, "--format", "json"))
    staging = jobs["stg_moh_patients"]["job"]
    assert staging["purpose"] == "health-service-planning"  # folder +meta in dbt_project.yml
    assert staging["upstream"] == ["dbt:seed.nz_social.moh_patients"]
    offshore = jobs["client_profile_offshore"]["job"]
    assert offshore["purpose"] == "vendor-benchmarking"  # the model's own config meta
    assert offshore["destination"] == {
        "kind": "external",
        "region": "offshore",
        "name": "overseas analytics vendor",
    }
    assert offshore["upstream"] == ["dbt:model.nz_social.int_client_keys"]
    outreach = jobs["winter_energy_outreach"]
    assert outreach["job"]["owner"] == "outreach-team"
    assert "retention:P3M" in outreach["job"]["tags"]
    assert outreach["decision"]["allow"] is True
    assert any(v["rule"] == "PM-07" and v["waived"] for v in outreach["decision"]["violations"])


def test_categories_flow_along_the_dag(built: BuiltProject) -> None:
    """int_client_keys hashes client_number; downstream, its person_key arrives classified."""
    jobs = jobs_by_name(check(built, "--format", "json"))
    offshore = jobs["client_profile_offshore"]["decision"]["violations"]
    assert any("person_key" in " ".join(v["columns"]) for v in offshore), offshore


def test_manifest_path_never_runs_dbt(built: BuiltProject, tmp_path: Path) -> None:
    """A broken profile changes nothing, and dbt is not even imported, without a selection."""
    (tmp_path / "profiles.yml").write_text("nz_social: {target: dev, outputs: {dev: {type: nosuchdb}}}\n")
    script = textwrap.dedent(
        f"""
        import sys
        from kaitiaki.cli import main
        try:
            main(["dbt", "check", "--manifest", {str(built.manifest)!r}, "--config",
                  {str(built.path / "kaitiaki.yaml")!r}, "--profiles-dir", {str(tmp_path)!r},
                  "--format", "json", "--no-cache"])
        except SystemExit as exit_:
            loaded = sorted(m for m in sys.modules if m == "dbt" or m.startswith("dbt."))
            print("DBT-MODULES:", loaded, file=sys.stderr)
            raise
        """
    )
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert process.returncode == 1, process.stderr
    assert "DBT-MODULES: []" in process.stderr
    assert set(jobs_by_name(CliResult(1, process.stdout, ""))) == MODELS | SEEDS


def test_help_does_not_import_dbt() -> None:
    """Importing dbt costs seconds: only a dbt command that needs it may do so."""
    script = (
        "import sys\nfrom kaitiaki.cli import main\n"
        "try:\n    main(['dbt', 'build', '--help'])\nfinally:\n"
        "    print(sorted(m for m in sys.modules if m == 'dbt' or m.startswith('dbt.')))\n"
    )
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert process.returncode == 0, process.stderr
    assert "--no-cache" in process.stdout and process.stdout.rstrip().endswith("[]")


def test_catalog_json_beside_the_manifest_gives_the_columns(built: BuiltProject, tmp_path: Path) -> None:
    """A star over a relation with no known columns is SYS-01; catalog.json makes it readable."""

    def edit(data: dict[str, Any]) -> None:
        spine = data["nodes"]["seed.nz_social.idi_spine"]
        spine["columns"], spine["root_path"] = {}, "/nonexistent"
        model = data["nodes"]["model.nz_social.client_snapshot"]
        model["compiled_code"] = f"select *\nfrom {spine['relation_name']}\n"
        model["depends_on"]["nodes"] = ["seed.nz_social.idi_spine"]

    manifest = edited_manifest(built, tmp_path, edit)
    blind = jobs_by_name(check(built, "--select", "client_snapshot", "--format", "json", manifest=manifest))
    assert rules(blind["client_snapshot"]) == {"SYS-01"}
    columns = {
        name: {"name": name, "type": "VARCHAR", "index": i} for i, name in enumerate(["client_number", "nhi"])
    }
    catalog = {"nodes": {"seed.nz_social.idi_spine": {"columns": columns}}, "sources": {}}
    (manifest.parent / "catalog.json").write_text(json.dumps(catalog))
    seeing = jobs_by_name(check(built, "--select", "client_snapshot", "--format", "json", manifest=manifest))
    assert "PM-05" in rules(seeing["client_snapshot"]) and "SYS-01" not in rules(seeing["client_snapshot"])


def test_selection_over_a_manifest_uses_dbt_selector_syntax(built: BuiltProject) -> None:
    result = check(built, "--select", "+benefit_health_summary", "tag:retention:P3M", "--format", "json")
    assert set(jobs_by_name(result)) == {
        "msd_clients",
        "idi_spine",
        "moh_patients",
        "nhi_benefit_match",
        "benefit_health_summary",
        "winter_energy_outreach",
    }
    excluded = check(built, "-s", "path:models/marts", "--exclude", "nhi_benefit_match+", "--format", "json")
    assert set(jobs_by_name(excluded)) == {
        "benefit_uptake_by_region",
        "children_in_care_by_placement",
        "senior_students_by_region",
        "winter_energy_outreach",
        "client_snapshot",
    }


def test_selection_through_dbt_ls(built: BuiltProject, tmp_path: Path) -> None:
    project = copy_example(tmp_path / PROJECT)
    result = run_dbt_command(project, "check", "--select", "staging.moh", "intermediate", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert set(jobs_by_name(result)) == {
        "stg_moh_patients",
        "int_client_keys",
        "int_child_health_link",
        "int_student_enrolments",
    }
    assert '{"unique_id"' not in result.stdout + result.stderr  # dbt ls's listing is held back


def test_audit_mode_reports_denials_and_exits_0(built: BuiltProject) -> None:
    result = check(built, "--mode", "audit", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["allow"] is False


def test_text_report_on_stdout_names_the_rule_and_file(built: BuiltProject) -> None:
    result = check(built, "--select", "client_snapshot")
    assert result.exit_code == 1
    assert "PM-05" in result.stdout and "models/marts/client_snapshot.sql" in result.stdout


def test_missing_manifest_is_a_usage_error_naming_it(built: BuiltProject, tmp_path: Path) -> None:
    missing = tmp_path / "target" / "manifest.json"
    result = check(built, manifest=missing)
    assert result.exit_code == 2
    assert f"{missing}: dbt manifest not found." in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_manifest_names_file_and_line(built: BuiltProject, tmp_path: Path) -> None:
    corrupt = tmp_path / "manifest.json"
    corrupt.write_text('{"metadata": {},\n "nodes": {"model.x": \n')
    result = check(built, manifest=corrupt)
    assert result.exit_code == 2
    assert f"{corrupt}:3: dbt manifest is not valid JSON" in result.stderr
    not_a_manifest = tmp_path / "other.json"
    not_a_manifest.write_text("[1, 2]")
    result = check(built, manifest=not_a_manifest)
    assert result.exit_code == 2 and "not a dbt manifest" in result.stderr


def edited_manifest(built: BuiltProject, tmp_path: Path, edit: Any) -> Path:
    data = copy.deepcopy(built.manifest_data())
    edit(data)
    return write_manifest(tmp_path, data)


def test_unknown_purpose_in_meta_is_blocked_by_policy(built: BuiltProject, tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        node = data["nodes"]["model.nz_social.benefit_uptake_by_region"]
        node["config"]["meta"]["kaitiaki"]["purpose"] = "no-such-purpose"
        node["meta"]["kaitiaki"]["purpose"] = "no-such-purpose"

    manifest = edited_manifest(built, tmp_path, edit)
    result = check(built, "--select", "benefit_uptake_by_region", "--format", "json", manifest=manifest)
    assert result.exit_code == 1
    job = jobs_by_name(result)["benefit_uptake_by_region"]
    assert job["job"]["purpose"] == "no-such-purpose"
    assert "PM-02" in rules(job)


def test_unmappable_adapter_type_blocks_with_a_clear_message(built: BuiltProject, tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["metadata"]["adapter_type"] = "cobolbase"
        node = data["nodes"]["model.nz_social.benefit_uptake_by_region"]
        node["config"]["meta"]["kaitiaki"]["dialect"] = "duckdb"
        node["meta"]["kaitiaki"]["dialect"] = "duckdb"

    manifest = edited_manifest(built, tmp_path, edit)
    result = check(built, "--format", "json", manifest=manifest)
    assert result.exit_code == 1
    jobs = jobs_by_name(result)
    for name in MODELS - {"benefit_uptake_by_region"}:
        violations = jobs[name]["decision"]["violations"]
        assert jobs[name]["decision"]["allow"] is False
        assert any(v["rule"] == "SYS-01" and "'cobolbase'" in v["message"] for v in violations), violations
    assert jobs["benefit_uptake_by_region"]["decision"]["allow"] is True  # meta.kaitiaki.dialect


def test_python_and_uncompiled_models_are_blocked_not_skipped(built: BuiltProject, tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["nodes"]["model.nz_social.stg_msd_clients"]["language"] = "python"
        del data["nodes"]["model.nz_social.stg_moe_students"]["compiled_code"]

    manifest = edited_manifest(built, tmp_path, edit)
    result = check(
        built, "--select", "stg_msd_clients", "stg_moe_students", "--format", "json", manifest=manifest
    )
    assert result.exit_code == 1
    jobs = jobs_by_name(result)
    assert "SYS-01" in rules(jobs["stg_msd_clients"]) and "SYS-01" in rules(jobs["stg_moe_students"])
    messages = " ".join(v["message"] for job in jobs.values() for v in job["decision"]["violations"])
    assert "python model" in messages and "dbt compile" in messages


def test_invalid_destination_in_meta_names_the_properties_file(built: BuiltProject, tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        node = data["nodes"]["model.nz_social.client_snapshot"]
        node["config"]["meta"]["kaitiaki"]["destination"] = "the moon"
        node["meta"]["kaitiaki"]["destination"] = "the moon"

    result = check(built, manifest=edited_manifest(built, tmp_path, edit))
    assert result.exit_code == 2
    assert "models/marts/_marts.yml" in result.stderr and "the moon" in result.stderr


def test_dbt_compile_failure_is_shown_and_exits_2(tmp_path: Path) -> None:
    project = copy_example(tmp_path / PROJECT)
    (project / "models" / "marts" / "broken.sql").write_text("select * from {{ ref('no_such_model') }}\n")
    result = run_dbt_command(project, "check")
    assert result.exit_code == 2
    assert "no_such_model" in result.stderr  # dbt's own error
    assert "kaitiaki: error: " in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_manifest_older_than_a_model_is_refused_unless_allowed(built: BuiltProject, tmp_path: Path) -> None:
    import os
    import shutil
    import time

    project = tmp_path / PROJECT
    shutil.copytree(built.path, project, ignore=shutil.ignore_patterns("*.duckdb", "*.wal", ".kaitiaki"))
    model = project / "models" / "marts" / "nhi_benefit_match.sql"
    later = time.time() + 60
    os.utime(model, (later, later))
    stale = check(built, "--format", "json", manifest=project / "target" / "manifest.json")
    assert stale.exit_code == 2 and stale.stdout == ""
    message = stale.stderr.strip()
    assert "stale" in message and "models/marts/nhi_benefit_match.sql changed after it was written" in message
    assert "--allow-stale" in message and "Traceback" not in message
    allowed = check(built, "--format", "json", "--allow-stale", manifest=project / "target" / "manifest.json")
    assert allowed.exit_code == 1 and json.loads(allowed.stdout)["allow"] is False


def test_a_manifest_older_than_a_unit_test_file_is_refused(built: BuiltProject, tmp_path: Path) -> None:
    """A unit test's YAML may hold nothing but unit tests: its change makes the manifest stale too."""
    import os
    import shutil
    import time

    project = tmp_path / PROJECT
    shutil.copytree(built.path, project, ignore=shutil.ignore_patterns("*.duckdb", "*.wal", ".kaitiaki"))
    (project / "models" / "marts" / "_unit_tests.yml").write_text("version: 2\n")
    later = time.time() + 60
    os.utime(project / "models" / "marts" / "_unit_tests.yml", (later, later))
    manifest = project / "target" / "manifest.json"
    data = json.loads(manifest.read_text())
    literal = {"input": "ref('stg_msd_clients')", "format": "sql", "rows": "select 1 as client_number"}
    node = unit_test_node("uptake_unit", [literal])
    data["unit_tests"] = {node["unique_id"]: node}
    manifest.write_text(json.dumps(data))
    stale = check(built, "--format", "json", manifest=manifest)
    assert stale.exit_code == 2, stale.stderr
    assert "models/marts/_unit_tests.yml changed after it was written" in stale.stderr


def test_a_manifest_from_another_dbt_version_is_refused(built: BuiltProject, tmp_path: Path) -> None:
    data = copy.deepcopy(built.manifest_data())
    data["metadata"]["dbt_version"] = "1.7.4"
    result = check(built, "--format", "json", manifest=write_manifest(tmp_path, data))
    assert result.exit_code == 2, result.stderr
    assert "written by dbt 1.7.4" in result.stderr


def test_a_model_compiled_to_select_from_on_an_empty_target_says_why(
    built: BuiltProject, tmp_path: Path
) -> None:
    """dbt_utils.star / get_columns_in_relation over a relation that does not exist yet compile to
    `select from …`; dbt compiles the model again, with columns, once upstream is built: blocked."""

    def edit(data: dict[str, Any]) -> None:
        node = data["nodes"]["model.nz_social.benefit_uptake_by_region"]
        node["raw_code"] = (
            "select {{ dbt_utils.star(ref('stg_msd_clients')) }} from {{ ref('stg_msd_clients') }}"
        )
        node["compiled_code"] = 'select\n    \nfrom "nz_social"."staging"."stg_msd_clients"\n'

    result = check(
        built,
        "--select",
        "benefit_uptake_by_region",
        "--format",
        "json",
        manifest=edited_manifest(built, tmp_path, edit),
    )
    job = jobs_by_name(result)["benefit_uptake_by_region"]
    assert rules(job) == {"SYS-01"}
    message = job["decision"]["violations"][0]["message"]
    assert (
        "select from" in message
        and "dbt_utils.star" in message
        and "--select +benefit_uptake_by_region" in message
    )


def test_meta_dialect_may_narrow_the_adapter_but_not_switch_engines(
    built: BuiltProject, tmp_path: Path
) -> None:
    def switch(data: dict[str, Any]) -> None:
        node = data["nodes"]["model.nz_social.benefit_uptake_by_region"]
        node["config"]["meta"]["kaitiaki"]["dialect"] = "mysql"  # "full_name" would be a string
        node["meta"]["kaitiaki"]["dialect"] = "mysql"

    result = check(built, "--format", "json", manifest=edited_manifest(built, tmp_path / "switch", switch))
    assert result.exit_code == 2
    assert "meta.kaitiaki.dialect" in result.stderr and "'mysql'" in result.stderr
    assert "not switch engines" in result.stderr and "Traceback" not in result.stderr

    def same(data: dict[str, Any]) -> None:
        node = data["nodes"]["model.nz_social.benefit_uptake_by_region"]
        node["config"]["meta"]["kaitiaki"]["dialect"] = data["metadata"]["adapter_type"]
        node["meta"]["kaitiaki"]["dialect"] = data["metadata"]["adapter_type"]

    twin = check(built, "--format", "json", manifest=edited_manifest(built, tmp_path / "same", same))
    assert twin.exit_code in (0, 1), twin.stderr
    assert jobs_by_name(twin)["benefit_uptake_by_region"]["decision"]["allow"] is True


def test_dbt_report_writes_the_estate_report(built: BuiltProject, tmp_path: Path) -> None:
    """``kaitiaki dbt report``: the same decisions as check, as the HTML estate report, with the
    model downstream of a blocked one shown as not run and the project's waiver in force."""
    out = tmp_path / "estate.html"
    result = run_cli(
        [
            "dbt", "report", "--manifest", str(built.manifest),
            "--config", str(built.path / "kaitiaki.yaml"), "--out", str(out),
        ]
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert f"wrote {out}" in result.stderr and result.stdout == ""
    page = out.read_text(encoding="utf-8")
    for name in DENIED:
        assert 'data-decision="blocked"' in page and name in page
    assert 'data-decision="not-run"' in page  # benefit_health_summary reads nhi_benefit_match
    panel = page.split('<section id="waivers"', 1)[1].split("</section>", 1)[0]
    assert "dbt:model.nz_social.winter_energy_outreach" in panel and ">in force</span>" in panel


def unit_test_node(name: str, given: list[dict[str, Any]]) -> dict[str, Any]:
    """A dbt unit test of benefit_uptake_by_region as manifest.json holds it (dbt >= 1.8)."""
    return {
        "unique_id": f"unit_test.nz_social.benefit_uptake_by_region.{name}",
        "resource_type": "unit_test",
        "name": name,
        "model": "benefit_uptake_by_region",
        "package_name": "nz_social",
        "original_file_path": "models/marts/_unit_tests.yml",
        "fqn": ["nz_social", "marts", "benefit_uptake_by_region", name],
        "depends_on": {"nodes": ["model.nz_social.benefit_uptake_by_region"], "macros": []},
        "config": {"meta": {}, "tags": [], "enabled": True},
        "given": given,
        "expect": {"rows": [], "format": "dict", "fixture": None},
    }


def test_a_unit_test_whose_sql_fixture_is_jinja_is_blocked_by_sys01(
    built: BuiltProject, tmp_path: Path
) -> None:
    """What a Jinja fixture reads is known only when dbt renders it as the test runs: blocked.
    Its twin, a SQL fixture of literals, reads nothing from the warehouse and is allowed."""
    ref = "input: ref('stg_msd_clients')"
    jinja = {"input": ref, "format": "sql", "rows": "select * from {{ ref('stg_msd_clients') }}"}
    literals = {
        "input": ref,
        "format": "sql",
        "rows": "select 'Otago' as region, 'WINTER' as benefit_type, '1' as client_number",
    }

    def edit(data: dict[str, Any]) -> None:
        data["unit_tests"] = {
            node["unique_id"]: node
            for node in (
                unit_test_node("jinja_fixture", [jinja]),
                unit_test_node("literal_fixture", [literals]),
            )
        }

    result = check(
        built, "--format", "json", "--allow-stale", manifest=edited_manifest(built, tmp_path, edit)
    )
    jobs = jobs_by_name(result)
    assert rules(jobs["jinja_fixture"]) == {"SYS-01"}
    message = jobs["jinja_fixture"]["decision"]["violations"][0]["message"]
    assert "jinja_fixture is Jinja" in message and "format dict or csv" in message
    assert jobs["literal_fixture"]["decision"]["allow"] is True
    assert jobs["literal_fixture"]["job"]["purpose"] == "benefit-uptake"


def test_hooks_read_from_a_manifest_are_decided_or_blocked_when_only_dbt_can_render_them(
    built: BuiltProject, tmp_path: Path
) -> None:
    """With --manifest dbt does not run: a plain-SQL hook is decided as it is (a leak is blocked
    naming its column), ``{{ this }}`` is the node's relation (its twin is allowed), and any other
    Jinja is SYS-01 saying why and what to do, never read as if it were SQL."""
    hooks = [
        "create table exports.hook_leak as select full_name from msd.clients",
        "create table marts.uptake_audit as select count(*) as cells from {{ this }}",
        "create table marts.uptake_copy as select * from {{ ref('stg_msd_clients') }}",
    ]

    def edit(data: dict[str, Any]) -> None:
        node = data["nodes"]["model.nz_social.benefit_uptake_by_region"]
        node["config"]["post-hook"] = [{"sql": sql, "transaction": True, "index": None} for sql in hooks]

    manifest = edited_manifest(built, tmp_path, edit)
    result = check(built, "--select", "benefit_uptake_by_region", "--format", "json", manifest=manifest)
    assert result.exit_code == 1, result.stderr
    jobs = {job["job"]["id"]: job for job in json.loads(result.stdout)["jobs"]}
    uid = "dbt:model.nz_social.benefit_uptake_by_region"
    leak, this, jinja = (jobs[f"{uid}#post-hook.{index}"] for index in range(3))
    assert leak["job"]["kind"] == "dbt_hook" and not leak["decision"]["allow"]
    assert any("full_name" in c for v in leak["decision"]["violations"] for c in v["columns"])
    assert this["decision"]["allow"] is True
    assert rules(jinja) == {"SYS-01"}
    message = " ".join(jinja["decision"]["violations"][0]["message"].split())
    assert "only dbt can render" in message and "drop --manifest" in message
    assert jobs[uid]["decision"]["allow"] is True
