"""Every dbt route that moves data is gated: one leak and its legitimate twin per route, on real
dbt-core + dbt-duckdb. The leak is blocked naming its columns, the twin runs, and the DuckDB file
shows that nothing the blocked node would have written exists. The same project built in warn
mode (everything runs) shows each leak really writes: the blocks are not vacuous.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.dbt.conftest import run_dbt_command
from tests.dbt.routes import count, route_project, tables
from tests.e2e.cli_runner import CliResult

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

# route → (blocked job id, the relation it would write, a column it is blocked for)
LEAKS: dict[str, tuple[str, str, str]] = {
    "snapshot": ("snapshot.nz_social.client_contacts", "snapshots.client_contacts", "full_name"),
    "model pre_hook": ("model.nz_social.route_pre_leak#pre-hook.0", "exports.pre_hook_leak", "full_name"),
    "model post_hook": ("model.nz_social.route_post_leak#post-hook.0", "exports.post_hook_leak", "phone"),
    "model sql_header": (
        "model.nz_social.route_header_leak#sql-header.0",
        "exports.header_leak",
        "ird_number",
    ),
    "seed post_hook": ("seed.nz_social.staff_contacts#post-hook.0", "exports.seed_hook_leak", "staff_name"),
    "seed": ("seed.nz_social.contact_list", "main.contact_list", "full_name"),
    "snapshot pre_hook": (
        "snapshot.nz_social.uptake_hooked#pre-hook.0",
        "exports.snapshot_pre_leak",
        "phone",
    ),
    "snapshot post_hook": (
        "snapshot.nz_social.uptake_hooked#post-hook.0",
        "exports.snapshot_post_leak",
        "full_name",
    ),
    "test store_failures": (
        "test.nz_social.missing_ird_numbers",
        "dbt_test__audit.missing_ird_numbers",
        "ird_number",
    ),
    "test sql_header": (
        "test.nz_social.route_test_header_leak#sql-header.0",
        "exports.test_header_leak",
        "ird_number",
    ),
}
# Nodes left out with a blocked hook: the hook's owner and what reads it.
LEFT_OUT = {
    "marts.route_pre_leak",
    "marts.route_header_leak",
    "marts.route_post_leak",
    "marts.route_post_leak_total",
    "main.staff_contacts",
    "snapshots.uptake_hooked",
}
TWINS = {
    "snapshot": "snapshots.uptake_history",
    "snapshot hooks": "snapshots.uptake_audit",
    "model hooks": "marts.route_audit",
    "model sql_header": "marts.route_header_ok",
    "hooked model": "marts.route_audited",
    "seed": "main.region_codes",
    "test store_failures": "dbt_test__audit.not_null_route_audited_region",
    "test sql_header": "dbt_test__audit.route_test_header_ok",
    "python model declared in the catalog": "marts.route_python_declared",
    "incremental": "marts.route_incremental_ok",
}


@dataclass(frozen=True)
class Built:
    path: Path
    result: CliResult
    ran: dict[str, str]  # unique id → status, from this build's run_results.json

    @property
    def database(self) -> Path:
        return self.path / "nz_social.duckdb"

    def jobs(self) -> dict[str, dict[str, Any]]:
        document = json.loads(self.result.stdout)
        return {job["job"]["id"].removeprefix("dbt:"): job for job in document["jobs"]}


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Built:
    project = route_project(tmp_path_factory.mktemp("routes") / "nz_social")
    result = run_dbt_command(project, "build", "--format", "json", "--quiet")
    return Built(project, result, run_statuses(project))


@pytest.fixture(scope="module")
def warned(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Everything but the unit tests (one of which fails by design, which would fail the build:
    ``test_a_unit_test_reads_and_prints_real_rows_when_nothing_blocks_it`` runs them)."""
    project = route_project(tmp_path_factory.mktemp("routes_warn") / "nz_social")
    result = run_dbt_command(
        project, "build", "--mode", "warn", "--exclude", "test_type:unit", "--format", "json", "--quiet"
    )
    return Built(project, result, run_statuses(project))


def run_statuses(project: Path) -> dict[str, str]:
    document = json.loads((project / "target" / "run_results.json").read_text())
    return {str(r["unique_id"]): str(r["status"]) for r in document["results"]}


def blocking_columns(job: dict[str, Any]) -> set[str]:
    return {
        column.rsplit(".", 1)[-1]
        for v in job["decision"]["violations"]
        if v["level"] != "advisory" and not v["waived"]
        for column in v["columns"]
    }


@pytest.mark.parametrize("route", sorted(LEAKS))
def test_a_leaking_route_is_blocked_naming_the_column_and_writes_nothing(enforced: Built, route: str) -> None:
    job_id, relation, column = LEAKS[route]
    assert enforced.result.exit_code == 1, enforced.result.stderr
    job = enforced.jobs()[job_id]
    assert job["decision"]["allow"] is False
    assert column in blocking_columns(job), job["decision"]["violations"]
    assert relation not in tables(enforced.database)


@pytest.mark.parametrize("route", sorted(LEAKS))
def test_the_same_route_writes_when_nothing_blocks_it(warned: Built, route: str) -> None:
    """warn mode runs everything: the leak really writes what the enforced build kept out."""
    _, relation, column = LEAKS[route]
    assert warned.result.exit_code == 0, warned.result.stderr
    assert column in tables(warned.database)[relation]
    assert count(warned.database, relation) > 0


def test_a_blocked_hook_leaves_out_its_node_and_descendants(enforced: Built) -> None:
    present = tables(enforced.database)
    assert not LEFT_OUT & set(present)
    excluded = next(line for line in enforced.result.stderr.splitlines() if "excluded with them" in line)
    assert "route_post_leak_total" in excluded


@pytest.mark.parametrize("route", sorted(TWINS))
def test_the_legitimate_twin_of_each_route_runs(enforced: Built, route: str) -> None:
    assert TWINS[route] in tables(enforced.database)


def test_allowed_hooks_and_project_hooks_are_decided_and_run(enforced: Built) -> None:
    jobs = enforced.jobs()
    for job_id in (
        "model.nz_social.route_audited#pre-hook.0",
        "model.nz_social.route_audited#post-hook.0",
        "snapshot.nz_social.uptake_history#pre-hook.0",
        "snapshot.nz_social.uptake_history#post-hook.0",
        "operation.nz_social.nz_social-on-run-start-0",
    ):
        assert jobs[job_id]["job"]["kind"] == "dbt_hook" and jobs[job_id]["decision"]["allow"], job_id
    connection = duckdb.connect(str(enforced.database))
    try:
        schemas = {
            row[0]
            for row in connection.execute("select schema_name from information_schema.schemata").fetchall()
        }
    finally:
        connection.close()
    assert "exports" in schemas  # created by the allowed on-run-start hook


# data tests with a sql_header (routes_fixture/tests/route_test_header_*.sql)
TEST_HEADER_LEAK = "test.nz_social.route_test_header_leak"
TEST_HEADER_TWIN = "test.nz_social.route_test_header_ok"
TEST_HEADER_UNSTORED = "test.nz_social.route_test_header_unstored"


def header_of(test: str) -> str:
    return f"{test}#sql-header.0"


def test_a_blocked_test_header_leaves_its_test_out_and_its_twin_runs(enforced: Built) -> None:
    """The leaking test's own query is allowed: its header alone keeps it from running, so it
    stores no failing rows either; the twin's harmless header is allowed and the test passes."""
    jobs = enforced.jobs()
    header = jobs[header_of(TEST_HEADER_LEAK)]
    assert header["job"]["kind"] == "dbt_hook" and header["job"]["purpose"] == "benefit-uptake"
    assert header["decision"]["allow"] is False and jobs[TEST_HEADER_LEAK]["decision"]["allow"] is True
    assert TEST_HEADER_LEAK not in enforced.ran
    assert "dbt_test__audit.route_test_header_leak" not in tables(enforced.database)
    assert jobs[header_of(TEST_HEADER_TWIN)]["decision"]["allow"] is True
    assert enforced.ran[TEST_HEADER_TWIN] == "pass"


def test_dbt_test_decides_a_test_header_too(enforced: Built, tmp_path: Path) -> None:
    """``dbt test`` runs no pre/post hooks, but it runs a test's sql_header: decided there too
    (its own target path, so the build's manifest stays whole for the other tests)."""
    target = tmp_path / "target"
    result = run_dbt_command(
        enforced.path, "test", "--select", "route_test_header_leak", "route_test_header_ok",
        "--target-path", str(target), "--format", "json", "-q",
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    jobs = {job["job"]["id"].removeprefix("dbt:"): job for job in json.loads(result.stdout)["jobs"]}
    assert "ird_number" in blocking_columns(jobs[header_of(TEST_HEADER_LEAK)])
    assert jobs[header_of(TEST_HEADER_TWIN)]["decision"]["allow"] is True
    statuses = run_statuses(tmp_path)
    assert TEST_HEADER_LEAK not in statuses and statuses[TEST_HEADER_TWIN] == "pass"
    assert "exports.test_header_leak" not in tables(enforced.database)


def test_a_header_dbt_does_not_run_is_decided_only_from_a_manifest_alone(
    enforced: Built, warned: Built, tmp_path: Path
) -> None:
    """A test that stores nothing runs its sql_header only under dbt's
    REQUIRE_SQL_HEADER_IN_TEST_CONFIGS, which dbt-core 1.10 and 1.11 never set: a build reads
    the flag from the dbt it runs and does not decide the header, and dbt does not run it (warn
    mode: the test ran, its header wrote nothing). A manifest alone cannot tell which dbt will
    run it, so there the header is decided, and this one is blocked."""
    assert header_of(TEST_HEADER_UNSTORED) not in enforced.jobs()
    assert enforced.ran[TEST_HEADER_UNSTORED] == warned.ran[TEST_HEADER_UNSTORED] == "pass"
    assert "exports.unstored_header_leak" not in tables(warned.database)
    manifest = tmp_path / "target" / "manifest.json"
    manifest.parent.mkdir()
    shutil.copy(enforced.path / "target" / "manifest.json", manifest)
    result = run_dbt_command(
        enforced.path, "check", "--manifest", str(manifest), "--allow-stale",
        "--select", "route_test_header_unstored", "--format", "json", "-q",
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    jobs = {job["job"]["id"].removeprefix("dbt:"): job for job in json.loads(result.stdout)["jobs"]}
    assert "full_name" in blocking_columns(jobs[header_of(TEST_HEADER_UNSTORED)])


@pytest.mark.parametrize("flag", [True, False])
def test_kaitiaki_reads_the_test_header_flag_as_dbts_test_materialization_does(
    tmp_path: Path, flag: bool
) -> None:
    """A project that sets ``require_sql_header_in_test_configs`` (and its twin, which does not),
    built by plain dbt: the header of a test that stores nothing ran exactly when
    ``dbt_runs_test_headers`` says dbt runs such headers (dbt-core 1.10 and 1.11: never, whatever
    dbt_project.yml says)."""
    from dbt.cli.main import dbtRunner
    from kaitiaki_dbt.hooks import dbt_runs_test_headers

    (tmp_path / "models").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "dbt_project.yml").write_text(
        "name: flagged\nversion: '1.0'\nprofile: flagged\n"
        f"flags:\n  require_sql_header_in_test_configs: {flag}\n"
    )
    database = tmp_path / "flagged.duckdb"
    (tmp_path / "profiles.yml").write_text(
        f"flagged:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{database}'}}\n"
    )
    (tmp_path / "models" / "m.sql").write_text("select 1 as id\n")
    (tmp_path / "tests" / "t.sql").write_text(
        "{{ config(sql_header='create table main.header_ran as select 1 as x;') }}\n"
        "select * from {{ ref('m') }} where id is null\n"
    )
    args = ["build", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path), "--quiet"]
    assert dbtRunner().invoke(args).success
    assert run_statuses(tmp_path)["test.flagged.t"] == "pass"
    assert ("main.header_ran" in tables(database)) is dbt_runs_test_headers()


def test_an_undeclared_python_model_is_blocked_by_sys01(enforced: Built) -> None:
    job = enforced.jobs()["model.nz_social.route_python_undeclared"]
    violations = job["decision"]["violations"]
    assert {v["rule"] for v in violations} == {"SYS-01"}
    assert "python model" in violations[0]["message"] and "catalog" in violations[0]["message"]
    assert "marts.route_python_undeclared" not in tables(enforced.database)
    declared = enforced.jobs()["model.nz_social.route_python_declared"]
    assert declared["decision"]["allow"] is True


def test_a_manifest_alone_decides_both_incremental_branches(enforced: Built, tmp_path: Path) -> None:
    """A manifest holds the is_incremental() branch dbt compiled against the warehouse of that
    moment, and a run elsewhere (an Airflow cosmos task, a pod per model) may take the other:
    decided from the manifest alone, both branches are. The person-level branch blocks whichever
    one was compiled; the twin, whose incremental branch only filters, stays allowed."""
    from kaitiaki_dbt.decide import decide_node

    manifest = tmp_path / "target" / "manifest.json"
    manifest.parent.mkdir()
    shutil.copy(enforced.path / "target" / "manifest.json", manifest)
    result = run_dbt_command(
        enforced.path, "check", "--manifest", str(manifest), "--allow-stale",
        "--select", "route_incremental", "route_incremental_ok", "--format", "json", "-q",
    )  # fmt: skip
    jobs = {job["job"]["name"]: job for job in json.loads(result.stdout)["jobs"]}
    assert "ethnicity" in blocking_columns(jobs["route_incremental"])
    assert jobs["route_incremental_ok"]["decision"]["allow"] is True
    config = enforced.path / "kaitiaki.yaml"
    assert decide_node(manifest, "model.nz_social.route_incremental", config=config, allow_stale=True).blocked
    ok = decide_node(manifest, "model.nz_social.route_incremental_ok", config=config, allow_stale=True)
    assert ok.allowed


def test_the_incremental_branch_is_checked_against_the_table_that_exists(enforced: Built) -> None:
    """First build: no table, so is_incremental() is false and the aggregate branch is allowed.
    Second run: the table exists, the person-level branch compiles, and it is blocked; the
    table keeps only what the first build wrote, while the legitimate incremental twin merges."""
    assert enforced.jobs()["model.nz_social.route_incremental"]["decision"]["allow"] is True
    rerun = run_dbt_command(
        enforced.path,
        "run",
        "--select",
        "route_incremental",
        "route_incremental_ok",
        "--format",
        "json",
        "-q",
    )
    assert rerun.exit_code == 1, rerun.stderr
    jobs = {job["job"]["name"]: job for job in json.loads(rerun.stdout)["jobs"]}
    assert "ethnicity" in blocking_columns(jobs["route_incremental"])
    assert jobs["route_incremental_ok"]["decision"]["allow"] is True
    assert count(enforced.database, "marts.route_incremental", "label <> 'all'") == 0
    assert "route_incremental_ok (success)" in rerun.stderr


def test_run_operation_runs_only_allowlisted_macros(enforced: Built) -> None:
    blocked = run_dbt_command(enforced.path, "run-operation", "copy_names")
    assert blocked.exit_code == 1, blocked.stderr
    said = " ".join(blocked.stderr.split())
    assert "SYS-01" in said and "operations: [copy_names]" in said
    assert "exports.operation_leak" not in tables(enforced.database)
    allowed = run_dbt_command(enforced.path, "run-operation", "count_clients")
    assert allowed.exit_code == 0, allowed.stderr
    assert "marts.operation_counts" in tables(enforced.database)


def test_a_blocked_project_hook_stops_the_whole_command(tmp_path: Path) -> None:
    project = route_project(tmp_path / "nz_social")
    with (project / "dbt_project.yml").open("a") as handle:
        handle.write(
            'on-run-end: ["create table exports.run_end_leak as select full_name from msd.clients"]\n'
        )
    result = run_dbt_command(project, "run", "--select", "stg_msd_clients", "--format", "json", "-q")
    assert result.exit_code == 1, result.stderr
    jobs = {job["job"]["id"]: job for job in json.loads(result.stdout)["jobs"]}
    end = jobs["dbt:operation.nz_social.nz_social-on-run-end-0"]
    assert "full_name" in blocking_columns(end)
    assert "dbt run was not run" in result.stderr
    assert not (project / "nz_social.duckdb").exists() or not tables(project / "nz_social.duckdb")


CLONE_PROFILE = """nz_social:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{{{ env_var('NZ_SOCIAL_DUCKDB', 'nz_social.duckdb') }}}}"
      threads: 1
    clone:
      type: duckdb
      path: "{clone}"
      threads: 1
      attach:
        - {{path: "{prod}", alias: nz_social}}
"""


def test_clone_copies_only_the_nodes_that_are_allowed(tmp_path: Path) -> None:
    """Production holds a denied model (built in warn mode); a clone into another target leaves
    it out, while its allowed sibling is cloned."""
    project = route_project(tmp_path / "nz_social")
    prod, clone = project / "nz_social.duckdb", project / "dev_clone.duckdb"
    (project / "profiles.yml").write_text(CLONE_PROFILE.format(prod=prod, clone=clone))
    selection = ("--select", "client_snapshot", "benefit_uptake_by_region")
    built = run_dbt_command(
        project, "build", "--mode", "warn", "--select", "+client_snapshot", "+benefit_uptake_by_region", "-q"
    )
    assert built.exit_code == 0, built.stderr
    assert {"marts.client_snapshot", "marts.benefit_uptake_by_region"} <= set(tables(prod))
    state = project / "prod-state"
    state.mkdir()
    shutil.copy(project / "target" / "manifest.json", state / "manifest.json")
    cloned = run_dbt_command(
        project, "clone", "--state", str(state), "--target", "clone", *selection, "--format", "json", "-q"
    )
    assert cloned.exit_code == 1, cloned.stderr
    jobs = {job["job"]["name"]: job for job in json.loads(cloned.stdout)["jobs"]}
    assert jobs["client_snapshot"]["decision"]["allow"] is False
    present = set(tables(clone))
    assert "marts.benefit_uptake_by_region" in present
    assert "marts.client_snapshot" not in present


# dbt unit tests of route_audited (routes_fixture/models/marts/_route_unit_tests.yml)
UNIT_LEAKS = {
    "unit_test.nz_social.route_audited.route_audited_on_real_clients": "a `format: sql` fixture",
    "unit_test.nz_social.route_audited.route_audited_expects_real_names": "a `format: sql` expectation",
}
UNIT_TWIN = "unit_test.nz_social.route_audited.route_audited_suppresses_small_cells"
UNIT_OF_BLOCKED_MODEL = "unit_test.nz_social.route_post_leak.route_post_leak_on_rows"


@pytest.mark.parametrize("unit_test", sorted(UNIT_LEAKS))
def test_a_unit_test_reading_real_rows_is_blocked_naming_the_column_and_does_not_run(
    enforced: Built, unit_test: str
) -> None:
    job = enforced.jobs()[unit_test]
    assert job["job"]["kind"] == "dbt_test" and job["job"]["meta"]["resource_type"] == "unit_test"
    assert job["job"]["purpose"] == "benefit-uptake"  # the tested model's
    assert job["decision"]["allow"] is False
    assert "full_name" in blocking_columns(job), job["decision"]["violations"]
    assert unit_test not in enforced.ran


def test_a_unit_test_finding_points_at_its_sql_in_the_yaml(enforced: Built) -> None:
    """Line and column of ``full_name`` in each leaking SQL text of the YAML, not the SQL's own 1:8."""
    path = "models/marts/_route_unit_tests.yml"
    lines = (enforced.path / path).read_text().splitlines()
    for marker in ("full_name as region, client_number", "full_name as region, 1 as clients"):
        line = next(index for index, text in enumerate(lines, 1) if marker in text)
        column = lines[line - 1].index(marker) + 1
        assert f"--> {path}:{line}:{column}" in enforced.result.stderr, marker


def test_a_unit_test_on_rows_written_for_it_is_allowed_and_runs(enforced: Built) -> None:
    assert enforced.jobs()[UNIT_TWIN]["decision"]["allow"] is True
    assert enforced.ran[UNIT_TWIN] == "pass"
    assert enforced.ran["model.nz_social.route_audited"] == "success"


def test_the_unit_tests_of_a_blocked_model_are_left_out_with_it(enforced: Built) -> None:
    assert enforced.jobs()[UNIT_OF_BLOCKED_MODEL]["decision"]["allow"] is True
    assert "model.nz_social.route_post_leak" not in enforced.ran
    assert UNIT_OF_BLOCKED_MODEL not in enforced.ran


def test_a_unit_test_reads_and_prints_real_rows_when_nothing_blocks_it(warned: Built) -> None:
    """Unblocked, the expectation's real names reach dbt's output (the test fails and prints the
    rows that differ), and the DuckDB file is left as it was: a unit test writes nothing."""
    before = tables(warned.database)
    ran = run_dbt_command(warned.path, "test", "--select", "test_type:unit", "--mode", "warn", "-q")
    assert ran.exit_code == 2, ran.stderr  # the expectation of real names fails, by design
    connection = duckdb.connect(str(warned.database))
    try:
        names = [row[0] for row in connection.execute("select full_name from msd.clients").fetchall()]
    finally:
        connection.close()
    assert sum(name in ran.stderr for name in names) >= 10
    assert tables(warned.database) == before
    statuses = run_statuses(warned.path)
    assert {uid for uid in statuses if uid.startswith("unit_test.")} == {
        *UNIT_LEAKS,
        UNIT_TWIN,
        UNIT_OF_BLOCKED_MODEL,
    }
    assert statuses[UNIT_TWIN] == "pass"


@pytest.mark.parametrize(
    ("args", "env", "stored"),
    [
        ([], "true", True),  # dbt reads --store-failures from DBT_STORE_FAILURES too
        ([], "1", True),
        (["--store-failures"], None, True),
        ([], "false", False),  # the twins: nothing asks for stored failures
        ([], None, False),
    ],
)
def test_store_failures_in_the_environment_gates_every_test(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: str | None, stored: bool
) -> None:
    """`DBT_STORE_FAILURES=true kaitiaki dbt test` stored every test's failing rows while kaitiaki
    decided only the tests configured to store them (it read the flag alone)."""
    from kaitiaki_dbt.commands import stores_failures_requested

    if env is None:
        monkeypatch.delenv("DBT_STORE_FAILURES", raising=False)
    else:
        monkeypatch.setenv("DBT_STORE_FAILURES", env)
    assert stores_failures_requested(args) is stored
