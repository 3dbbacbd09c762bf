"""Run failing jobs through each real entry point and record what happened to each.

``kaitiaki check`` and ``kaitiaki dbt check|build`` run in-process through the real CLI; dbt is
real dbt-core with dbt-duckdb on a tiny project; the Airflow guard runs in real Airflow 3
(``DagBag`` → ``dag.test()``) through the Airflow tests' own harness (``tests/airflow``). Each
entry point is given every failure it applies to, grouped by configuration so that one dbt
invocation or one Airflow DAG covers every failure that shares a kaitiaki.yaml.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
from kaitiaki_dbt.checker import MIN_PARALLEL

from tests.airflow.conftest import Scenario
from tests.airflow.warehouse import build_warehouse, query
from tests.e2e.cli_runner import CliResult, run_cli
from tests.reliability.faults import (
    CONTROL_SQL,
    LOG_BLOCKER,
    Failure,
    Outcome,
    decision_records,
    sql_for,
    write_config,
)

CONTROL = "control"
DBT_PROJECT_NAME = "reliability"
DBT_ENV = "RELIABILITY_DUCKDB"
AIRFLOW_CONN = "nz_social_duckdb"
RUN_TIME_TEMPLATE = "\n-- {{ 'rendered when the task runs' }}"

DBT_PROJECT_YML = f"""name: {DBT_PROJECT_NAME}
version: "1.0.0"
config-version: 2
profile: {DBT_PROJECT_NAME}
model-paths: ["models"]
models:
  {DBT_PROJECT_NAME}:
    +materialized: table
"""
DBT_PROFILES_YML = f"""{DBT_PROJECT_NAME}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{{{ env_var('{DBT_ENV}') }}}}"
      threads: 1
"""
DBT_SOURCES_YML = """version: 2
sources:
  - {name: msd, schema: msd, tables: [{name: clients}]}
  - {name: health, schema: health, tables: [{name: patients}]}
  - {name: stats, schema: stats, tables: [{name: spine}]}
"""

DAG_FILE = '''"""Fail-closed matrix: one task per failing job under this folder's kaitiaki.yaml."""

import json
import os
from datetime import datetime
from pathlib import Path

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

SPEC = json.loads((Path(__file__).parent / "tasks.json").read_text(encoding="utf-8"))


def mark_execution(context):
    """The DAG author's own pre-execute hook: runs only after kaitiaki let the task through."""
    task = context["task"]
    Path(os.environ["KT_MARKERS"], f"{task.dag_id}.{task.task_id}").write_text("ran", encoding="utf-8")


with DAG(SPEC["dag_id"], schedule=None, start_date=datetime(2026, 1, 1), default_args={"retries": 0}):
    for task_id, sql in SPEC["tasks"].items():
        SQLExecuteQueryOperator(task_id=task_id, conn_id=SPEC["conn_id"], sql=sql, pre_execute=mark_execution)
'''


def by_config(failures: Iterable[Failure]) -> dict[str, list[Failure]]:
    groups: dict[str, list[Failure]] = {}
    for failure in failures:
        groups.setdefault(failure.config, []).append(failure)
    return groups


def job_name(failure: Failure) -> str:
    """The model or task a failure is tried on: its own SQL, or the control job under its config."""
    return failure.id if failure.is_sql_row else CONTROL


def combined(result: CliResult) -> str:
    return result.stdout + result.stderr


def allowed_somewhere(records: Sequence[dict[str, Any]]) -> bool:
    return any(isinstance(r.get("result"), dict) and r["result"].get("allow") is True for r in records)


# --- kaitiaki check ---------------------------------------------------------------------------


def run_check(root: Path, failures: Iterable[Failure], opa_urls: dict[str, str]) -> dict[str, Outcome]:
    """``kaitiaki check jobs/<id>.sql --config …`` per failure, each in a folder of its own."""
    outcomes: dict[str, Outcome] = {}
    for failure in failures:
        folder = root / "check" / failure.id
        config = write_config(folder, failure.config, opa_urls)
        relative = f"jobs/{failure.id}.sql"
        (folder / "jobs").mkdir()
        (folder / relative).write_text(sql_for(failure.sql) + "\n", encoding="utf-8")
        result = run_cli(["check", relative, "--config", str(config)], cwd=folder)
        records = decision_records(folder, f"sql:{relative}")
        outcomes[failure.id] = Outcome(
            ran=result.exit_code == 0 or allowed_somewhere(records),
            output=combined(result),
            records=records,
            exit_code=result.exit_code,
        )
    return outcomes


# --- kaitiaki dbt check | build ---------------------------------------------------------------


def write_dbt_project(folder: Path, failures: Iterable[Failure]) -> Path:
    """The tiny project: the control model and one model per failing SQL, over three sources."""
    models = folder / "models"
    models.mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(DBT_PROJECT_YML, encoding="utf-8")
    (folder / "profiles.yml").write_text(DBT_PROFILES_YML, encoding="utf-8")
    (models / "sources.yml").write_text(DBT_SOURCES_YML, encoding="utf-8")
    for failure in failures:
        (models / f"{job_name(failure)}.sql").write_text(
            sql_for(failure.sql, dbt=True) + "\n", encoding="utf-8"
        )
    return folder


@contextlib.contextmanager
def dbt_database(path: Path) -> Iterator[Path]:
    """Point the project's profile at ``path`` (a fresh warehouse) for one invocation."""
    before = os.environ.get(DBT_ENV)
    os.environ[DBT_ENV] = str(build_warehouse(path))
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop(DBT_ENV, None)
        else:
            os.environ[DBT_ENV] = before


def built_models(database: Path) -> set[str]:
    """Models dbt materialised (dbt-duckdb's default schema ``main``). Not read-only: dbt-duckdb
    may still hold its connection in this process, with another configuration."""
    connection = duckdb.connect(str(database))
    try:
        rows = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    finally:
        connection.close()
    return {str(name) for (name,) in rows}


def run_dbt(
    project: Path, root: Path, failures: Iterable[Failure], command: str, opa_urls: dict[str, str]
) -> dict[str, Outcome]:
    """``kaitiaki dbt check|build`` once per configuration, selecting its failing models and the control."""
    outcomes: dict[str, Outcome] = {}
    for kind, rows in by_config(failures).items():
        folder = root / f"dbt-{command}" / kind
        config = write_config(folder, kind, opa_urls)
        models = sorted({CONTROL, *(job_name(f) for f in rows)})
        args = ["dbt", command, "--config", str(config), "--project-dir", str(project)]
        args += ["--profiles-dir", str(project), "--target-path", str(folder / "target"), "--select", *models]
        with dbt_database(folder / "warehouse.duckdb") as database:
            result = run_cli(args, cwd=folder)
            built = built_models(database)
        for failure in rows:
            records = decision_records(folder, f"dbt:model.{DBT_PROJECT_NAME}.{job_name(failure)}")
            ran = job_name(failure) in built if command == "build" else allowed_somewhere(records)
            outcomes[failure.id] = Outcome(
                ran=ran or result.exit_code == 0,
                output=combined(result),
                records=records,
                exit_code=result.exit_code,
            )
        outcomes[f"{CONTROL}@{kind}"] = Outcome(
            ran=CONTROL in built
            if command == "build"
            else allowed_somewhere(decision_records(folder, f"dbt:model.{DBT_PROJECT_NAME}.{CONTROL}")),
            output=combined(result),
            exit_code=result.exit_code,
        )
    return outcomes


def run_dbt_manifest_check(root: Path, failure: Failure, manifest_text: str) -> Outcome:
    """``kaitiaki dbt check --manifest`` on a manifest file with the given content."""
    folder = root / "dbt-manifest" / failure.id
    config = write_config(folder, failure.config, {})
    manifest = folder / "target" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(manifest_text, encoding="utf-8")
    result = run_cli(["dbt", "check", "--config", str(config), "--manifest", str(manifest)], cwd=folder)
    records = decision_records(folder, f"dbt:model.{DBT_PROJECT_NAME}.{CONTROL}")
    return Outcome(
        ran=result.exit_code == 0 or allowed_somewhere(records),
        output=combined(result),
        records=records,
        exit_code=result.exit_code,
    )


def run_dbt_broken_project(project: Path, root: Path, failure: Failure, command: str) -> Outcome:
    """``kaitiaki dbt check|build`` on a copy of the project with one model dbt cannot compile."""
    folder = root / f"dbt-{command}" / failure.id
    config = write_config(folder, failure.config, {})
    args = ["dbt", command, "--config", str(config), "--project-dir", str(project)]
    args += ["--profiles-dir", str(project), "--target-path", str(folder / "target"), "--select", CONTROL]
    with dbt_database(folder / "warehouse.duckdb") as database:
        result = run_cli(args, cwd=folder)
        built = built_models(database)
    records = decision_records(folder, f"dbt:model.{DBT_PROJECT_NAME}.{CONTROL}")
    return Outcome(
        ran=CONTROL in built or result.exit_code == 0 or allowed_somewhere(records),
        output=combined(result),
        records=records,
        exit_code=result.exit_code,
    )


# --- kaitiaki dbt check, in worker processes -------------------------------------------------

WORKERS = "2"
WORKER_TIMEOUT_S = 240
FAULT_PLUGIN = "kt_reliability_faults"
FAULT_PLUGIN_PY = '''"""Faults for kaitiaki's dbt workers, and a record of where each decision was made."""

import multiprocessing
import os
import signal
from pathlib import Path

from kaitiaki.hookspecs import hookimpl

FAULT = os.environ.get("KT_WORKER_FAULT", "")
IN_WORKER = multiprocessing.parent_process() is not None

if IN_WORKER and FAULT == "cannot_start":
    raise ImportError("kt_reliability_faults: this worker cannot start (injected fault)")


@hookimpl
def kaitiaki_enrich_input(job, input):
    if IN_WORKER and job.name == os.environ.get("KT_WORKER_FAULT_MODEL"):
        if FAULT == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        if FAULT == "exits":
            os._exit(3)


@hookimpl
def kaitiaki_decision_made(job, input, decision):
    name = job.id.replace(":", "_").replace("/", "_")
    with open(Path(os.environ["KT_DECIDED"], name), "a", encoding="utf-8") as out:
        out.write(("worker" if IN_WORKER else "main") + "\\n")
'''
FILLERS = MIN_PARALLEL


def write_fault_plugin(folder: Path) -> Path:
    """An installed-looking kaitiaki plugin (a dist-info with its entry point) on its own path."""
    info = folder / f"{FAULT_PLUGIN}-0.dist-info"
    info.mkdir(parents=True)
    (folder / f"{FAULT_PLUGIN}.py").write_text(FAULT_PLUGIN_PY, encoding="utf-8")
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {FAULT_PLUGIN}\nVersion: 0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[kaitiaki]\n{FAULT_PLUGIN} = {FAULT_PLUGIN}\n", encoding="utf-8")
    return folder


def write_wide_project(folder: Path, failures: Iterable[Failure]) -> Path:
    """The tiny project plus enough control-like models that its one wave goes to the workers."""
    project = write_dbt_project(folder, failures)
    for index in range(FILLERS):
        (project / "models" / f"filler_{index:02}.sql").write_text(
            sql_for(CONTROL_SQL, dbt=True) + "\n", encoding="utf-8"
        )
    return project


def compile_wide_project(project: Path, root: Path) -> str:
    """The project's manifest as dbt compiles it (in this process, no workers: ``KAITIAKI_WORKERS=1``)."""
    folder = root / "dbt-workers-compile"
    config = write_config(folder, "plain", {})
    args = ["dbt", "check", "--config", str(config), "--project-dir", str(project)]
    args += ["--profiles-dir", str(project), "--target-path", str(folder / "target")]
    before = os.environ.get("KAITIAKI_WORKERS")
    os.environ["KAITIAKI_WORKERS"] = "1"
    try:
        with dbt_database(folder / "warehouse.duckdb"):
            result = run_cli(args, cwd=folder)
    finally:
        if before is None:
            os.environ.pop("KAITIAKI_WORKERS", None)
        else:
            os.environ["KAITIAKI_WORKERS"] = before
    manifest = folder / "target" / "manifest.json"
    assert manifest.is_file(), combined(result)[-3000:]
    return manifest.read_text(encoding="utf-8")


def worker_group(failure: Failure) -> str:
    return failure.config + (f"-{failure.worker_fault}" if failure.worker_fault else "")


def kaitiaki_command() -> list[str]:
    """The installed ``kaitiaki`` console script of this interpreter's environment."""
    return [str(Path(sys.executable).with_name("kaitiaki"))]


def run_worker_check(
    folder: Path, project: Path, manifest_text: str, env: dict[str, str]
) -> tuple[int | None, str, Path]:
    """``kaitiaki dbt check --manifest`` in a process of its own, so its workers' stderr is seen."""
    manifest = folder / "target" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(manifest_text, encoding="utf-8")
    decided = folder / "decided"
    decided.mkdir()
    args = ["dbt", "check", "--config", str(folder / "kaitiaki.yaml"), "--manifest", str(manifest)]
    args += ["--project-dir", str(project)]
    try:
        done = subprocess.run(
            [*kaitiaki_command(), *args],
            cwd=folder,
            env={**env, "KT_DECIDED": str(decided)},
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        return None, f"hung: no exit within {WORKER_TIMEOUT_S} s\n{hung.stdout!r}{hung.stderr!r}", decided
    return done.returncode, done.stdout + done.stderr, decided


def worker_env(plugin_dir: Path, failure: Failure) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAITIAKI_LOAD_PLUGINS", "KAITIAKI_DEBUG")}
    path = os.pathsep.join(p for p in (str(plugin_dir), env.get("PYTHONPATH", "")) if p)
    env.update(KAITIAKI_WORKERS=WORKERS, PYTHONPATH=path, NO_COLOR="1")
    if failure.worker_fault:
        env.update(KT_WORKER_FAULT=failure.worker_fault, KT_WORKER_FAULT_MODEL=job_name(failure))
    return env


def decided_in(decided: Path, job_id: str) -> tuple[str, ...]:
    marker = decided / job_id.replace(":", "_").replace("/", "_")
    return tuple(marker.read_text(encoding="utf-8").split()) if marker.is_file() else ()


def run_dbt_workers(
    project: Path,
    root: Path,
    failures: Iterable[Failure],
    manifests: dict[str, str],
    opa_urls: dict[str, str],
) -> dict[str, Outcome]:
    """``kaitiaki dbt check`` with two worker processes, once per configuration (and worker fault).

    ``manifests``: the manifest each failure is checked from (``""`` the compiled project's).
    """
    assert len(list((project / "models").glob("*.sql"))) >= MIN_PARALLEL, "the wave would stay in-process"
    plugin_dir = write_fault_plugin(root / "dbt-workers-plugin")
    groups: dict[str, list[Failure]] = {}
    for failure in failures:
        own_manifest = f"-{failure.id}" if failure.id in manifests else ""
        groups.setdefault(worker_group(failure) + own_manifest, []).append(failure)
    outcomes: dict[str, Outcome] = {}
    for group, rows in groups.items():
        folder = root / "dbt-workers" / group
        write_config(folder, rows[0].config, opa_urls)
        manifest_text = manifests.get(rows[0].id, manifests[""])
        exit_code, output, decided = run_worker_check(
            folder, project, manifest_text, worker_env(plugin_dir, rows[0])
        )
        for failure in rows:
            job_id = f"dbt:model.{DBT_PROJECT_NAME}.{job_name(failure)}"
            records = decision_records(folder, job_id)
            outcomes[failure.id] = Outcome(
                ran=exit_code == 0 or allowed_somewhere(records),
                output=output,
                records=records,
                exit_code=exit_code,
                decided_in=decided_in(decided, job_id),
            )
        control_id = f"dbt:model.{DBT_PROJECT_NAME}.{CONTROL}"
        outcomes[f"{CONTROL}@{group}"] = Outcome(
            ran=allowed_somewhere(decision_records(folder, control_id)),
            output=output,
            exit_code=exit_code,
            decided_in=decided_in(decided, control_id),
        )
    return outcomes


# --- the Airflow guard, and the parse-time check ---------------------------------------------

PARSE_OFF, PARSE_WARN, PARSE_BLOCK = "off", "warn", "block"
DAG_PREFIX = {PARSE_OFF: "rel", PARSE_WARN: "relwarn", PARSE_BLOCK: "relblock"}


def airflow_sql(failure: Failure, dag_id: str, *, literal: bool = False) -> str:
    """The task writes a table, so a task that ran leaves a trace. Its SQL renders at run time,
    or is ``literal`` (final in the DAG file, so the parse-time check sees it)."""
    target = f"msd.{dag_id}_{job_name(failure)}"
    return f"create table {target} as\n{sql_for(failure.sql)}" + ("" if literal else RUN_TIME_TEMPLATE)


def dag_id_for(kind: str, parse_check: str = PARSE_OFF) -> str:
    """The DAG of one configuration's tasks (with ``block``: of one failure's task, by its id)."""
    return f"{DAG_PREFIX[parse_check]}_{kind}"


def write_dag(folder: Path, dag_id: str, tasks: dict[str, str]) -> None:
    spec = {"dag_id": dag_id, "conn_id": AIRFLOW_CONN, "tasks": tasks}
    (folder / "tasks.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    (folder / f"{dag_id}.py").write_text(DAG_FILE, encoding="utf-8")


def write_airflow_dags(
    scenario: Scenario, failures: Iterable[Failure], opa_urls: dict[str, str], parse_check: str = PARSE_OFF
) -> list[str]:
    """One team folder per configuration: its kaitiaki.yaml and a DAG of its failing tasks."""
    dag_ids = []
    for kind, rows in by_config(failures).items():
        folder = scenario.dags / kind
        config = write_config(folder, kind, opa_urls, parse_check)
        if kind == "log_unwritable":
            block_log_outside_dags(scenario, config)
        dag_id = dag_id_for(kind, parse_check)
        control = Failure(id=CONTROL, what="", expect="", says=())
        literal = parse_check != PARSE_OFF
        write_dag(
            folder, dag_id, {job_name(f): airflow_sql(f, dag_id, literal=literal) for f in (control, *rows)}
        )
        dag_ids.append(dag_id)
    return dag_ids


def block_log_outside_dags(scenario: Scenario, config: Path) -> None:
    """The adapter moves a decision log named inside the DAGs folder to ``$AIRFLOW_HOME/logs``
    (that folder is read-only in real deployments), so the unwritable log is named outside it."""
    blocked = scenario.home / LOG_BLOCKER / "decisions.jsonl"
    blocked.parent.write_text("a file where the decision log's folder should be\n", encoding="utf-8")
    text = config.read_text(encoding="utf-8")
    relative = f"decision_log: {LOG_BLOCKER}/decisions.jsonl"
    assert relative in text, f"{relative!r} not in {config}"
    config.write_text(text.replace(relative, f"decision_log: {blocked}"), encoding="utf-8")


def run_airflow(
    scenario: Scenario, failures: Sequence[Failure], opa_urls: dict[str, str], parse_check: str = PARSE_OFF
) -> dict[str, Outcome]:
    """Every failing task in one Airflow process: ``DagBag`` → ``dag.test()`` for each team's DAG.

    With ``parse_check`` ``warn`` the SQL is literal, so each task is also checked (and warned
    about) when its file is parsed, before the runtime guard decides it.
    """
    markers = scenario.home / "markers"
    markers.mkdir()
    scenario.env["KT_MARKERS"] = str(markers)
    dag_ids = write_airflow_dags(scenario, failures, opa_urls, parse_check)
    run = scenario.load_and_run(*({"dag_id": dag_id} for dag_id in dag_ids))
    tables = {
        str(name) for (name,) in query(scenario.warehouse, "select table_name from information_schema.tables")
    }
    ran_markers = {path.name for path in markers.iterdir()}
    logged = scenario.decision_log()
    outcomes: dict[str, Outcome] = {}
    for kind, rows in by_config(failures).items():
        dag_id = dag_id_for(kind, parse_check)
        tasks = run.tasks(dag_id)
        for failure in (Failure(id=f"{CONTROL}@{kind}", what="", expect="", says=()), *rows):
            task_id = CONTROL if failure.id.startswith(CONTROL) else job_name(failure)
            records = [
                r
                for r in logged
                if r.get("labels", {}).get("job") == f"airflow:{dag_id}.{task_id}" and "run_id" in r["labels"]
            ]
            state = tasks.get(task_id, {})
            outcomes[failure.id] = Outcome(
                ran=f"{dag_id}.{task_id}" in ran_markers or f"{dag_id}_{task_id}" in tables,
                output=run.output,
                records=records,
                task_state=state.get("state"),
                try_number=state.get("try_number"),
            )
    return outcomes


def load_blocking_dags(
    scenario: Scenario, failures: Sequence[Failure], opa_urls: dict[str, str]
) -> dict[str, Outcome]:
    """``parse_time_check: block``: a DAG file per failing task (Airflow fails a whole file) and a
    control DAG file per configuration, all loaded by one ``DagBag``, as the DAG processor does."""
    files: dict[str, tuple[str, Path]] = {}
    for failure in failures:
        files[failure.id] = (job_name(failure), scenario.dags / failure.id)
        write_config(files[failure.id][1], failure.config, opa_urls, PARSE_BLOCK)
    for kind in by_config(failures):
        files[f"{CONTROL}@{kind}"] = (CONTROL, scenario.dags / f"{CONTROL}-{kind}")
        write_config(files[f"{CONTROL}@{kind}"][1], kind, opa_urls, PARSE_BLOCK)
    for key, (task_id, folder) in files.items():
        dag_id = dag_id_for(key.replace("@", "_"), PARSE_BLOCK)
        control = Failure(id=CONTROL, what="", expect="", says=())
        failure = next((f for f in failures if f.id == key), control)
        write_dag(folder, dag_id, {task_id: airflow_sql(failure, dag_id, literal=True)})
    bag = scenario.load_and_run()
    errors = {Path(path).name: message for path, message in bag.result["import_errors"].items()}
    outcomes: dict[str, Outcome] = {}
    for key, (_, folder) in files.items():
        dag_id = dag_id_for(key.replace("@", "_"), PARSE_BLOCK)
        outcomes[key] = Outcome(
            ran=dag_id in bag.result["dag_ids"],
            output=errors.get(f"{dag_id}.py", ""),
            records=decision_records(folder, f"airflow:{dag_id}.{files[key][0]}"),
            log=bag.output,
        )
    return outcomes
