"""The fail-closed matrix: every failure of docs/security.md × every entry point, as one table.

For each cell the job must not run (``kaitiaki check`` exits non-zero, the dbt model is not
built, the Airflow task fails before its operator starts and writes nothing), the user must be
told in one paragraph what could not be verified and where (file:line when there is one), the
exit status must follow README.md (1 for a denial, SYS-01/SYS-02 included; 2 for a usage,
configuration or policy error), no traceback may reach the user, and a decision that was made
must be in the decision log. A combination that cannot occur is listed in ``NOT_APPLICABLE``
with the reason, and reported as skipped with it.

Entry points: ``kaitiaki check``; ``kaitiaki dbt check``, in-process and (a project wide enough)
in worker processes; ``kaitiaki dbt build``; the Airflow runtime guard; and Airflow's parse-time
check with ``warn`` (a warning, then the runtime guard blocks) and ``block`` (the DAG file is an
import error). With ``block`` a check is a preview: no decision-log record is expected.

Everything is real: sqlglot, the embedded regorus engine and regopy, the OPA engine against the
local OPA-API server with injected faults, dbt-core with dbt-duckdb, spawn worker processes, and
Airflow 3 (``DagBag``, ``dag.test()``).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import Scenario
from tests.e2e.cli_runner import run_cli
from tests.policies.engines import bundle_for, free_port
from tests.reliability.entry_points import (
    CONTROL,
    PARSE_BLOCK,
    PARSE_OFF,
    PARSE_WARN,
    compile_wide_project,
    dag_id_for,
    job_name,
    load_blocking_dags,
    run_airflow,
    run_check,
    run_dbt,
    run_dbt_broken_project,
    run_dbt_manifest_check,
    run_dbt_workers,
    write_dbt_project,
    write_wide_project,
)
from tests.reliability.faults import (
    BROKEN_POLICY_LINE,
    DENIED,
    LIMITS,
    LOG_BLOCKER,
    OPA_TIMEOUT_MS,
    REGOPY_STRAY_URL,
    SYS_ANALYSIS,
    SYS_ENGINE,
    USAGE,
    Failure,
    Outcome,
    decision_records,
    invalid_config_line,
    sql_for,
    write_config,
)
from tests.support.opa_server import OpaTestServer

CHECK, DBT_CHECK, DBT_BUILD, AIRFLOW = "check", "dbt check", "dbt build", "airflow"
AIRFLOW_WARN, AIRFLOW_BLOCK = "airflow parse (warn)", "airflow parse (block)"
DBT_WORKERS = "dbt check (workers)"
ENTRY_POINTS = (CHECK, DBT_CHECK, DBT_WORKERS, DBT_BUILD, AIRFLOW, AIRFLOW_WARN, AIRFLOW_BLOCK)
PARSE_CHECK = {AIRFLOW: PARSE_OFF, AIRFLOW_WARN: PARSE_WARN, AIRFLOW_BLOCK: PARSE_BLOCK}

FAILING_POLICY_LINE = 7
TRACEBACK_EXCEPTION = re.compile(
    r"Traceback \(most recent call last\):.*?\n(\w[\w.]*(?:Exception|Error)\b)", re.S
)
CORRUPT_MANIFEST_LINE = 40
OVERSIZED = (
    "select region\nfrom {clients}\nwhere region in (" + ", ".join(f"'r{i:03}'" for i in range(600)) + ")"
)
NESTED = "select " + "(" * 40 + "region" + ")" * 40 + " as region\nfrom {clients}"

FAILURES = (
    Failure(
        "unparseable_sql",
        "SQL that does not parse",
        SYS_ANALYSIS,
        ("cannot be parsed",),
        config="limits",
        sql="select region,\n  count(* as clients\nfrom {clients}",
        located=("sql", 2),
    ),
    Failure(
        "star_without_schema",
        "`SELECT *` over a table whose columns are unknown",
        SYS_ANALYSIS,
        ("its columns are not in the schema",),
        config="limits",
        sql="select *\nfrom {spine}",
        located=("sql", 1),
    ),
    Failure(
        "ambiguous_column",
        "an unqualified column that two unknown tables could hold",
        SYS_ANALYSIS,
        ("could belong to any of",),
        config="limits",
        sql="select full_name\nfrom {patients} p\njoin {spine} s on s.nhi = p.nhi",
        located=("sql", 1),
    ),
    Failure(
        "over_size_limit",
        f"SQL over limits.max_sql_bytes ({LIMITS['max_sql_bytes']})",
        SYS_ANALYSIS,
        ("limits.max_sql_bytes",),
        config="limits",
        sql=OVERSIZED,
        located=("sql", None),
    ),
    Failure(
        "over_depth_limit",
        f"SQL nested deeper than limits.max_depth ({LIMITS['max_depth']})",
        SYS_ANALYSIS,
        ("limits.max_depth",),
        config="limits",
        sql=NESTED,
        located=("sql", None),
    ),
    Failure(
        "over_statement_limit",
        f"more statements than limits.max_statements ({LIMITS['max_statements']})",
        SYS_ANALYSIS,
        ("limits.max_statements",),
        config="limits",
        sql="select 1 as a;\nselect 2 as b;\nselect 3 as c",
        located=("sql", None),
    ),
    Failure(
        "unknown_table_strict_catalog",
        "with `strict_catalog: true`, a table the catalog does not know",
        SYS_ANALYSIS,
        ("is not in the catalog",),
        config="strict",
        sql="select count(distinct nhi) as linked\nfrom {spine}",
        located=("sql", None),
    ),
    Failure(
        "unknown_table_no_column_strict_catalog",
        "with `strict_catalog: true`, an unknown table read without naming a column (`count(*)`)",
        SYS_ANALYSIS,
        ("is not in the catalog",),
        config="strict",
        sql="select count(*) as linked\nfrom {spine}",
        located=("sql", None),
    ),
    Failure(
        "policy_does_not_compile",
        "a policy that does not compile",
        USAGE,
        ("the policy does not compile",),
        config="broken_policy",
        located=("policy", BROKEN_POLICY_LINE),
    ),
    Failure(
        "engine_errors",
        "the embedded engine fails while deciding (a rule conflict at run time)",
        SYS_ENGINE,
        ("failed while deciding",),
        config="failing_policy",
        located=("policy", FAILING_POLICY_LINE),
    ),
    Failure(
        "opa_times_out",
        f"the OPA server answers after the timeout ({OPA_TIMEOUT_MS} ms)",
        SYS_ENGINE,
        (f"no answer within {OPA_TIMEOUT_MS} ms",),
        config="opa_slow",
    ),
    Failure(
        "opa_answers_500", "the OPA server answers HTTP 500", SYS_ENGINE, ("HTTP 500",), config="opa_500"
    ),
    Failure(
        "opa_answers_undefined",
        "the OPA server answers an undefined decision",
        SYS_ENGINE,
        ("decision is undefined",),
        config="opa_undefined",
    ),
    Failure(
        "opa_wrong_shape",
        'the OPA server answers a decision of the wrong shape (`"allow": "true"`)',
        SYS_ENGINE,
        ("decision is malformed",),
        config="opa_wrong_shape",
    ),
    Failure(
        "opa_contradicts_itself",
        "the OPA server answers `allow: true` while listing a hard violation",
        SYS_ENGINE,
        ("allows the job yet lists blocking violations (PM-03 (hard))",),
        config="opa_contradiction",
    ),
    Failure(
        "engine_misconfigured",
        "`engine: {kind: opa}` with no server to ask",
        USAGE,
        ("engine kind 'opa' needs the servers to ask",),
        config="engine_misconfigured",
        located=("config", None),
    ),
    Failure(
        "opa_unreachable",
        "no OPA server listens at the configured URL",
        SYS_ENGINE,
        ("cannot connect",),
        config="opa_down",
    ),
    Failure(
        "corrupt_manifest",
        "a manifest.json that is not valid JSON",
        USAGE,
        ("dbt manifest is not valid JSON",),
        located=("manifest", CORRUPT_MANIFEST_LINE),
    ),
    Failure(
        "manifest_wrong_shape",
        "a manifest.json whose nodes are not an object",
        USAGE,
        ("not a dbt manifest",),
        located=("manifest", None),
    ),
    Failure(
        "manifest_not_compiled",
        "a manifest.json from `dbt parse` (no compiled SQL)",
        SYS_ANALYSIS,
        ("has no compiled SQL",),
    ),
    Failure(
        "project_does_not_compile",
        "a dbt project dbt cannot parse (no manifest can be made)",
        USAGE,
        ("dbt parse failed",),
    ),
    Failure(
        "invalid_config",
        "an invalid kaitiaki.yaml (a setting of the wrong type)",
        USAGE,
        ("strict_catalog must be true or false",),
        config="invalid",
        located=("config", None),
    ),
    Failure(
        "decision_log_unwritable",
        "a decision log that cannot be written",
        USAGE,
        ("cannot open the decision log",),
        config="log_unwritable",
        located=("log", None),
    ),
    Failure(
        "regopy_denied",
        "regopy: a job the policies deny (a direct identifier outside its purpose), the control",
        DENIED,
        ("direct_identifier",),
        config="regopy",
        sql="select full_name, region\nfrom {clients}\nwhere not opted_out",
        located=("sql", 1),
    ),
    Failure(
        "regopy_policy_does_not_compile",
        "regopy: a policy that does not compile",
        USAGE,
        ("the policy does not compile (regopy engine)",),
        config="regopy_broken_policy",
        located=("policy", BROKEN_POLICY_LINE),
    ),
    Failure(
        "regopy_engine_errors",
        "regopy: the engine fails while deciding (rego-cpp names no file or line)",
        SYS_ENGINE,
        ("the regopy engine failed while deciding",),
        config="regopy_failing_policy",
    ),
    Failure(
        "regopy_engine_misconfigured",
        "regopy: `engine: {kind: regopy, url: …}`, a server regopy would never ask",
        USAGE,
        ("engine kind 'regopy' asks no server", REGOPY_STRAY_URL),
        config="regopy_engine_misconfigured",
        located=("config", None),
    ),
    Failure(
        "worker_killed",
        "a dbt worker process is killed (SIGKILL) while it decides a model",
        USAGE,
        ("worker process", "stopped"),
        worker_fault="killed",
    ),
    Failure(
        "worker_exits",
        "a dbt worker process exits (`os._exit`) while it decides a model",
        USAGE,
        ("worker process", "stopped"),
        worker_fault="exits",
    ),
    Failure(
        "worker_cannot_start",
        "a dbt worker process cannot start (a plugin fails to import in it)",
        USAGE,
        ("worker process", "could not start", "kt_reliability_faults"),
        worker_fault="cannot_start",
    ),
)
CONTRADICTION = {
    "allow": True,
    "violations": [
        {
            "rule": "PM-03",
            "title": "Use within declared purpose",
            "guideline": "Purpose Matters",
            "principle": "He Tāngata",
            "law": "Privacy Act 2020 IPP10",
            "level": "hard",
            "message": "m",
        }
    ],
    "policy_revision": "",
}
MANIFEST_ROWS = ("corrupt_manifest", "manifest_wrong_shape", "manifest_not_compiled")
DBT_PROJECT_ROW = "project_does_not_compile"
WORKER_ROWS = ("worker_killed", "worker_exits", "worker_cannot_start")
LOG_ROW = "decision_log_unwritable"

NO_MANIFEST = {
    CHECK: "`kaitiaki check` reads SQL files; no dbt manifest is involved",
    DBT_BUILD: "`dbt build` never reads a manifest file: it parses the project with dbt in-process "
    "(a project dbt cannot read is the row project_does_not_compile)",
    AIRFLOW: "the Airflow guard checks a task's rendered SQL; no dbt manifest is involved",
    AIRFLOW_WARN: "the parse-time check reads a task's literal SQL; no dbt manifest is involved",
    AIRFLOW_BLOCK: "the parse-time check reads a task's literal SQL; no dbt manifest is involved",
}
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    **{(row, entry): reason for row in MANIFEST_ROWS for entry, reason in NO_MANIFEST.items()},
    (DBT_PROJECT_ROW, CHECK): "`kaitiaki check` reads SQL files; no dbt project is involved",
    **{
        (DBT_PROJECT_ROW, entry): "Airflow checks a task's SQL; no dbt project is involved"
        for entry in (AIRFLOW, AIRFLOW_WARN, AIRFLOW_BLOCK)
    },
    **{
        (LOG_ROW, entry): "a parse-time check is a preview and writes no decision log (docs/airflow.md); "
        "the runtime guard, which writes it, is the airflow column"
        for entry in (AIRFLOW_WARN, AIRFLOW_BLOCK)
    },
    **{
        (row, DBT_WORKERS): "the manifest is read before any worker starts; a manifest that cannot be "
        "read is the dbt check column's"
        for row in MANIFEST_ROWS[:2]
    },
    (DBT_PROJECT_ROW, DBT_WORKERS): "workers decide a compiled manifest; dbt parses the project before "
    "any worker starts (the dbt check column)",
    **{
        (row, entry): reason
        for row in WORKER_ROWS
        for entry, reason in {
            CHECK: "`kaitiaki check` decides in its own process; it starts no workers",
            DBT_CHECK: "a wave this narrow is decided in kaitiaki's own process; no worker starts",
            DBT_BUILD: "`dbt build` decides through the same checker as `dbt check`; its workers are "
            "the dbt check (workers) column's",
            AIRFLOW: "the Airflow guard decides inside the task's own process; it starts no workers",
            AIRFLOW_WARN: "Airflow decides inside its own process; it starts no workers",
            AIRFLOW_BLOCK: "Airflow decides inside its own process; it starts no workers",
        }.items()
    },
}
ENTRY_MARKS = {
    CHECK: (),
    DBT_CHECK: (pytest.mark.dbt, pytest.mark.slow),
    DBT_WORKERS: (pytest.mark.dbt, pytest.mark.slow),
    DBT_BUILD: (pytest.mark.dbt, pytest.mark.slow),
    AIRFLOW: (pytest.mark.airflow, pytest.mark.slow),
    AIRFLOW_WARN: (pytest.mark.airflow, pytest.mark.slow),
    AIRFLOW_BLOCK: (pytest.mark.airflow, pytest.mark.slow),
}


def entry_id(entry: str) -> str:
    return entry.replace(" (", "_").replace(")", "").replace(" ", "_")


CELLS = [
    pytest.param(
        failure,
        entry,
        id=f"{failure.id}-{entry_id(entry)}",
        marks=ENTRY_MARKS[entry],
    )
    for failure in FAILURES
    for entry in ENTRY_POINTS
]


def applicable(entry: str) -> list[Failure]:
    return [f for f in FAILURES if (f.id, entry) not in NOT_APPLICABLE]


def by_id(failure_id: str) -> Failure:
    (found,) = [f for f in FAILURES if f.id == failure_id]
    return found


# --- the failing parts -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def opa_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Local OPA-API servers, each with one fault, and the URL of one that does not exist."""
    bundle = bundle_for(tmp_path_factory.mktemp("reliability-opa") / "bundle.tar.gz")
    faults: dict[str, Callable[[OpaTestServer], None]] = {
        "opa_slow": lambda s: setattr(s.faults, "delay_s", 1.0),
        "opa_500": lambda s: setattr(s.faults, "status", 500),
        "opa_undefined": lambda s: setattr(s.faults, "undefined", True),
        "opa_wrong_shape": lambda s: setattr(
            s.faults, "answer", {"allow": "true", "violations": [], "policy_revision": ""}
        ),
        "opa_contradiction": lambda s: setattr(s.faults, "answer", CONTRADICTION),
    }
    servers = {kind: OpaTestServer(bundle) for kind in faults}
    for kind, inject in faults.items():
        inject(servers[kind])
        # The slow server's late answer meets a closed socket; keep its traceback out of the
        # in-process CLI's captured stderr (it is the test server's, never kaitiaki's).
        servers[kind]._http.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        servers[kind].start()
    try:
        yield {**{k: s.url for k, s in servers.items()}, "opa_down": f"http://127.0.0.1:{free_port()}"}
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fail-closed")


@pytest.fixture(scope="module")
def dbt_project(root: Path) -> Path:
    project_rows = [f for f in applicable(DBT_CHECK) if f.id not in (*MANIFEST_ROWS, DBT_PROJECT_ROW)]
    return write_dbt_project(root / "project", project_rows)


# --- what each entry point did ----------------------------------------------------------------


@pytest.fixture(scope="module")
def check_outcomes(root: Path, opa_urls: dict[str, str]) -> dict[str, Outcome]:
    return run_check(root, applicable(CHECK), opa_urls)


def dbt_outcomes(command: str, root: Path, project: Path, opa_urls: dict[str, str]) -> dict[str, Outcome]:
    special = (*MANIFEST_ROWS, DBT_PROJECT_ROW)
    rows = [f for f in applicable(f"dbt {command}") if f.id not in special]
    outcomes = run_dbt(project, root, rows, command, opa_urls)
    broken = root / f"broken-project-{command}"
    shutil.copytree(project, broken, ignore=shutil.ignore_patterns("target", "logs"))
    (broken / "models" / "needs_missing.sql").write_text("select * from {{ ref('no_such_model') }}\n")
    outcomes[DBT_PROJECT_ROW] = run_dbt_broken_project(broken, root, by_id(DBT_PROJECT_ROW), command)
    return outcomes


@pytest.fixture(scope="module")
def dbt_check_outcomes(root: Path, dbt_project: Path, opa_urls: dict[str, str]) -> dict[str, Outcome]:
    outcomes = dbt_outcomes("check", root, dbt_project, opa_urls)
    compiled = json.loads((root / "dbt-check" / "limits" / "target" / "manifest.json").read_text())
    for row, text in manifests(compiled).items():
        outcomes[row] = run_dbt_manifest_check(root, by_id(row), text)
    return outcomes


@pytest.fixture(scope="module")
def dbt_build_outcomes(root: Path, dbt_project: Path, opa_urls: dict[str, str]) -> dict[str, Outcome]:
    return dbt_outcomes("build", root, dbt_project, opa_urls)


@pytest.fixture(scope="module")
def dbt_workers_outcomes(root: Path, opa_urls: dict[str, str]) -> dict[str, Outcome]:
    """The wide project, compiled once by dbt; every row checked from its manifest by two workers."""
    rows = applicable(DBT_WORKERS)
    project = write_wide_project(root / "wide-project", rows)
    compiled = compile_wide_project(project, root)
    special = {
        "": compiled,
        "manifest_not_compiled": manifests(json.loads(compiled))["manifest_not_compiled"],
    }
    return run_dbt_workers(project, root, rows, special, opa_urls)


@pytest.fixture(scope="module")
def airflow_outcomes(new_scenario: Callable[[str], Scenario], opa_urls: dict[str, str]) -> dict[str, Outcome]:
    return run_airflow(new_scenario("fail-closed"), applicable(AIRFLOW), opa_urls)


@pytest.fixture(scope="module")
def airflow_warn_outcomes(
    new_scenario: Callable[[str], Scenario], opa_urls: dict[str, str]
) -> dict[str, Outcome]:
    return run_airflow(new_scenario("fail-closed-warn"), applicable(AIRFLOW_WARN), opa_urls, PARSE_WARN)


@pytest.fixture(scope="module")
def airflow_block_outcomes(
    new_scenario: Callable[[str], Scenario], opa_urls: dict[str, str]
) -> dict[str, Outcome]:
    return load_blocking_dags(new_scenario("fail-closed-block"), applicable(AIRFLOW_BLOCK), opa_urls)


OUTCOMES = {
    CHECK: "check_outcomes",
    DBT_CHECK: "dbt_check_outcomes",
    DBT_WORKERS: "dbt_workers_outcomes",
    DBT_BUILD: "dbt_build_outcomes",
    AIRFLOW: "airflow_outcomes",
    AIRFLOW_WARN: "airflow_warn_outcomes",
    AIRFLOW_BLOCK: "airflow_block_outcomes",
}


def manifests(compiled: dict[str, Any]) -> dict[str, str]:
    """The broken manifests, made from the real one dbt compiled for the control model."""
    pretty = json.dumps(compiled, indent=1).splitlines()
    pretty[CORRUPT_MANIFEST_LINE - 1] += " }{"
    parsed_only = json.loads(json.dumps(compiled))
    for node in parsed_only["nodes"].values():
        node.pop("compiled_code", None)
        node["compiled"] = False
    return {
        "corrupt_manifest": "\n".join(pretty),
        "manifest_wrong_shape": json.dumps({**compiled, "nodes": list(compiled["nodes"].values())}),
        "manifest_not_compiled": json.dumps(parsed_only),
    }


# --- what must hold in every cell -------------------------------------------------------------


def location(failure: Failure, entry: str, opa_urls: dict[str, str]) -> str | None:
    """The file (and line) the message must name, as the entry point names it."""
    if failure.located is None:
        return None
    kind, line = failure.located
    if kind == "sql":
        if entry in PARSE_CHECK:  # lines of the task's SQL, whose first line is the create table
            job = airflow_job(failure, entry)
            return f"--> {job}:{line + 1}" if line else f"--> {job}"
        prefix = "jobs" if entry == CHECK else "models"
        return f"{prefix}/{failure.id}.sql" + (f":{line}" if line else "")
    files = {
        "policy": "custom/broken.rego" if failure.config.endswith("broken_policy") else "custom/failing.rego",
        "config": "kaitiaki.yaml",
        "manifest": "manifest.json",
        "log": f"{LOG_BLOCKER}/decisions.jsonl",
    }
    if kind == "config" and failure.config == "invalid":
        line = invalid_config_line(opa_urls)
    return files[kind] + (f":{line}" if line else "")


def airflow_job(failure: Failure, entry: str) -> str:
    """``airflow:dag.task`` of a failure's task (with ``block``, each failure has a DAG file of its own)."""
    by = failure.id if entry == AIRFLOW_BLOCK else failure.config
    return f"airflow:{dag_id_for(by, PARSE_CHECK[entry])}.{job_name(failure)}"


def task_excerpt(output: str, failure: Failure, entry: str) -> str:
    """The lines of an Airflow run's output about one task (its kaitiaki messages)."""
    job = airflow_job(failure, entry)
    start = output.find(f"kaitiaki blocked {job}.")
    if start < 0:
        start = output.find(f"kaitiaki could not check {job}")
    assert start >= 0, f"no kaitiaki message about {job} in the Airflow output"
    end = output.find("kaitiaki blocked airflow:", start + 1)
    return output[start : end if end > 0 else None]


def assert_no_traceback(outcome: Outcome, entry: str) -> None:
    if entry not in PARSE_CHECK:
        assert "Traceback" not in outcome.output, outcome.output[-3000:]
        return
    # Airflow logs every failed task, and every DAG file that failed to load, with the traceback
    # of the exception that failed it: that must be kaitiaki's one AirflowFailException /
    # AirflowException / AirflowClusterPolicyViolation, raised without a chain.
    log = outcome.log or outcome.output
    allowed = ("AirflowFailException", "AirflowException", "AirflowClusterPolicyViolation")
    for raised in TRACEBACK_EXCEPTION.findall(log):
        assert raised.split(".")[-1] in allowed, log[-6000:]
    assert "During handling of the above exception" not in log
    assert "The above exception was the direct cause" not in log
    if outcome.log:  # the import error itself, as the UI shows it
        assert "Traceback" not in outcome.output


def assert_warned_at_parse(output: str, failure: Failure) -> None:
    """``warn``: the DAG processor logged a warning about the task before the runtime guard blocked it."""
    task = airflow_job(failure, AIRFLOW_WARN).removeprefix("airflow:")
    denied = f"kaitiaki parse-time check of task {task} in "
    unchecked = f"kaitiaki did not check task {task} in "
    assert denied in output or unchecked in output, output[-6000:]


def assert_one_paragraph_error(outcome: Outcome) -> str:
    errors = [line for line in outcome.output.splitlines() if line.startswith("kaitiaki: error: ")]
    assert len(errors) == 1, outcome.output[-3000:]
    return errors[0]


@pytest.mark.parametrize(("failure", "entry"), CELLS)
def test_fail_closed(failure: Failure, entry: str, request: pytest.FixtureRequest) -> None:
    reason = NOT_APPLICABLE.get((failure.id, entry))
    if reason:
        pytest.skip(f"not applicable: {reason}")
    opa_urls: dict[str, str] = request.getfixturevalue("opa_urls")
    outcome: Outcome = request.getfixturevalue(OUTCOMES[entry])[failure.id]

    assert not outcome.ran, f"{failure.what}: the job ran through {entry}"
    if entry == AIRFLOW_BLOCK:
        said = outcome.output
        assert said.startswith("AirflowClusterPolicyViolation: kaitiaki (parse_time_check: block) "), said
        if failure.expect == USAGE:
            assert "\n" not in said.strip(), said
    elif entry in PARSE_CHECK:
        assert (outcome.task_state, outcome.try_number) == ("failed", 1)
        said = task_excerpt(outcome.output, failure, entry)
        if entry == AIRFLOW_WARN:
            assert_warned_at_parse(outcome.output, failure)
    elif failure.expect == USAGE:
        assert outcome.exit_code == 2, outcome.output[-3000:]
        said = assert_one_paragraph_error(outcome)
    else:
        assert outcome.exit_code == 1, outcome.output[-3000:]
        said = outcome.output
    for text in failure.says:
        assert text in said, f"{text!r} not in:\n{said[-3000:]}"
    where = location(failure, entry, opa_urls)
    if where is not None:
        assert where in said, f"{where!r} not in:\n{said[-3000:]}"
    assert_no_traceback(outcome, entry)

    if failure.expect == USAGE:
        assert not outcome.records, "nothing was decided, yet the log has a record"
    elif entry == AIRFLOW_BLOCK:
        assert not outcome.records, "a parse-time check is a preview: it writes no decision log"
    else:
        rules = [{v["rule"] for v in r["result"]["violations"]} for r in outcome.records]
        assert rules and all(failure.expect in found for found in rules), outcome.records
        assert all(r["result"]["allow"] is False for r in outcome.records)
        if entry == DBT_WORKERS:
            assert set(outcome.decided_in) == {"worker"}, outcome.decided_in


@pytest.mark.parametrize(
    "entry", [pytest.param(e, id=entry_id(e), marks=ENTRY_MARKS[e]) for e in ENTRY_POINTS[1:]]
)
def test_the_control_job_runs_where_nothing_fails(entry: str, request: pytest.FixtureRequest) -> None:
    """The blocks above are the gate's: the same control job runs under a sound configuration."""
    outcomes: dict[str, Outcome] = request.getfixturevalue(OUTCOMES[entry])
    for kind in ("limits", "strict", "regopy"):
        assert outcomes[f"{CONTROL}@{kind}"].ran, outcomes[f"{CONTROL}@{kind}"].output[-3000:]
        if entry == DBT_WORKERS:
            assert outcomes[f"{CONTROL}@{kind}"].decided_in == ("worker",)


def test_the_control_sql_file_is_allowed(root: Path, opa_urls: dict[str, str]) -> None:
    control = Failure("control", "the control job", "", ())
    (outcome,) = run_check(root / "control", [control], opa_urls).values()
    assert outcome.exit_code == 0 and outcome.ran, outcome.output
    assert [r["result"]["allow"] for r in outcome.records] == [True]


def test_every_row_of_the_matrix_is_documented() -> None:
    """docs/security.md lists the matrix; a row added here must be added there."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text(encoding="utf-8")
    assert [f.id for f in FAILURES if f"(`{f.id}`)" not in page] == []


def test_audit_mode_runs_the_job_but_still_logs_the_failure(root: Path, opa_urls: dict[str, str]) -> None:
    """Design §10: audit mode never blocks, and the decision log still records what failed."""
    folder = root / "audit"
    config = write_config(folder, "plain", opa_urls)
    (folder / "broken.sql").write_text(sql_for(by_id("unparseable_sql").sql), encoding="utf-8")
    result = run_cli(["check", "broken.sql", "--config", str(config), "--mode", "audit"], cwd=folder)
    assert result.exit_code == 0, result.stdout + result.stderr
    records = decision_records(folder, "sql:broken.sql")
    assert [(r["result"]["allow"], r["labels"]["mode"]) for r in records] == [(False, "audit")]
    assert "SYS-01" in {v["rule"] for v in records[0]["result"]["violations"]}
