"""Airflow guard cost: per-task check time (engine warm), first check in a fresh process, import cost.

1. Warm: the runtime guard (`check_before_execute`) on real SQLExecuteQueryOperator tasks of
   the example DAGs, in one process after a first decision: render → connection type → analysis
   → classification → embedded Rego → explanation → decision log append (fsync). SQL varies
   per call so nothing is served from a cache. The task instance is a plain namespace with the
   four ids the guard labels the decision with (the only part not from Airflow).
2. Cold: the first check in a new task process after `import airflow`, as a task process pays
   it; in COLD_RUNS rounds, each timing `import airflow` beside it: a process forked after
   `import airflow` (Airflow's supervisor on Linux; kaitiaki's warm_before_fork runs in the
   parent) and a process that imports everything itself (exec). Bytecode is cached (a temporary
   ``PYTHONPYCACHEPREFIX``, written by a first warm-up process) as an installed image has it:
   ``pip install`` compiles it, while this repository's own environment may not.
3. Import: `import airflow` with the policy module as installed, and with an empty module in
   its place (same entry point, no code), alternating, in fresh processes; and the time to
   import the real module afterwards in the stubbed processes (``-X importtime`` does not see
   modules that pluggy loads through ``importlib``).

Writes bench/results/airflow.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "airflow.md"
EXAMPLE_CONFIG = REPO / "examples" / "nz_social" / "dags" / "kaitiaki.yaml"
WARM_CALLS = 300
COLD_RUNS = 7
IMPORT_PAIRS = 15
PERCENTILE_95 = 0.95

SQL = {
    "allowed aggregate": """
        create or replace table analytics.benefit_uptake_by_region as
        select region, count(distinct client_number) as clients
        from msd.clients where not opted_out
        group by region having count(distinct client_number) >= {n}""",
    "denied extract": """
        create or replace table exports.client_extract as
        select client_number, full_name, phone, region
        from msd.clients where region = 'Region {n}' and not opted_out""",
    "denied linking": """
        create or replace table analytics.benefit_health as
        select c.client_number, c.benefit_type, p.diagnosis_code
        from msd.clients c
        join stats.spine s on s.client_number = c.client_number
        join health.patients p on p.nhi = s.nhi
        where c.region <> 'Region {n}'""",
}


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KAITIAKI_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "KAITIAKI_CONFIG": str(home / "kaitiaki.yaml"),
            "AIRFLOW_CONN_NZ_SOCIAL_DUCKDB": json.dumps(
                {"conn_type": "duckdb", "host": str(home / "wh.duckdb")}
            ),
            "RUST_BACKTRACE": "0",
            "RUST_LIB_BACKTRACE": "0",
        }
    )
    return env


def with_bytecode(env: dict[str, str], cache: Path) -> dict[str, str]:
    """The environment with bytecode written and read from ``cache`` (as in an installed image)."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = str(cache)
    return out


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- measured inside a child process -----------------------------------------------------------


def guard_calls(calls: int, fork: bool = False) -> dict[str, Any]:
    """Child: time the runtime guard on each example task, first call separately.

    ``fork``: the task process is forked from this one after ``import airflow``, as Airflow's
    supervisor starts it on Linux (kaitiaki's ``warm_before_fork`` runs in this process first);
    the forked process measures and reports through a pipe. Otherwise this process is the task
    process, as one started with ``exec`` is.
    """
    started = time.perf_counter()
    import airflow  # noqa: F401  (the policy entry point loads here, as in a worker)

    import_s = time.perf_counter() - started
    if not fork:
        return {"import_s": import_s, **task_process(calls)}
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            figures = json.dumps(task_process(calls)).encode()
        except BaseException as exc:
            figures = json.dumps({"error": repr(exc)}).encode()
        with os.fdopen(write_end, "wb") as out:
            out.write(figures)
        os._exit(0)
    fork_s = time.perf_counter() - started
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        figures = json.loads(reader.read())
    os.waitpid(pid, 0)
    if "error" in figures:
        raise RuntimeError(figures["error"])
    return {"import_s": import_s, "fork_s": fork_s, **figures}


def task_process(calls: int) -> dict[str, Any]:
    """What a task process does: parse the DAG (the cluster policy), then run one task's check."""
    import logging
    from types import SimpleNamespace

    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
    from airflow.sdk import DAG, BaseHook
    from airflow.sdk.exceptions import AirflowFailException
    from airflow.settings import get_policy_plugin_manager

    logging.disable(logging.CRITICAL)  # the explanation is rendered either way; not written to a terminal
    with DAG("bench", schedule=None, tags=["purpose:benefit-uptake", "retention:P1Y"]) as dag:
        tasks = {
            name: SQLExecuteQueryOperator(task_id=f"t{i}", conn_id="nz_social_duckdb", sql="select 1")
            for i, name in enumerate(SQL)
        }
    dag.fileloc = str(Path(os.environ["AIRFLOW_HOME"]) / "dags" / "bench.py")
    os.environ["_AIRFLOW_PARSING_CONTEXT_TASK_ID"] = "t0"  # a task process parses its DAG file
    started = time.perf_counter()
    for task in tasks.values():
        get_policy_plugin_manager().hook.task_policy(task=task)
    policy_s = time.perf_counter() - started
    started = time.perf_counter()
    BaseHook.get_connection("nz_social_duckdb").get_hook()  # the operator's own: its execute imports it
    hook_s = time.perf_counter() - started
    from kaitiaki_airflow.runtime import check_before_execute

    def check(name: str, n: int) -> tuple[float, bool]:
        task = tasks[name]
        task.sql = SQL[name].format(n=n)
        ti = SimpleNamespace(
            dag_id="bench", task_id=task.task_id, run_id="bench_run", try_number=1, map_index=-1
        )
        begin = time.perf_counter()
        try:
            check_before_execute({"task": task, "ti": ti, "run_id": "bench_run"})
            allowed = True
        except AirflowFailException:
            allowed = False
        return time.perf_counter() - begin, allowed

    first_s, _ = check("allowed aggregate", 6)
    timings: dict[str, list[float]] = {name: [] for name in SQL}
    outcomes: dict[str, bool] = {}
    for n in range(calls):
        for name in SQL:
            elapsed, allowed = check(name, 7 + n)
            timings[name].append(elapsed)
            outcomes[name] = allowed
    return {
        "policy_s": policy_s,
        "hook_s": hook_s,
        "first_s": first_s,
        "timings": timings,
        "outcomes": outcomes,
    }


def import_only(stub: bool) -> dict[str, float]:
    """Child: `import airflow`, optionally with an empty module in the policy's place.

    Records the wall time of `import airflow`, the time Airflow spends loading the
    ``airflow.policy`` entry points (where the policy module is imported), and, with the stub,
    the time to import the real module afterwards: what the entry point adds, without the noise
    of the rest of `import airflow`.
    """
    import importlib
    import types

    import pluggy

    figures: dict[str, float] = {}
    load = pluggy.PluginManager.load_setuptools_entrypoints

    def timed_load(manager: pluggy.PluginManager, group: str, name: str | None = None) -> int:
        started = time.perf_counter()
        try:
            return load(manager, group, name)
        finally:
            if group == "airflow.policy":
                figures["entry_points_s"] = time.perf_counter() - started

    pluggy.PluginManager.load_setuptools_entrypoints = timed_load  # type: ignore[method-assign]
    if stub:
        sys.modules["kaitiaki_airflow.policy"] = types.ModuleType("kaitiaki_airflow.policy")
    started = time.perf_counter()
    import airflow  # noqa: F401

    figures["import_airflow_s"] = time.perf_counter() - started
    if stub:
        del sys.modules["kaitiaki_airflow.policy"]
        started = time.perf_counter()
        importlib.import_module("kaitiaki_airflow.policy")
        figures["policy_module_s"] = time.perf_counter() - started
    return figures


# --- the parent ------------------------------------------------------------------------------


def child(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True, timeout=1800
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure() -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="kaitiaki-airflow-bench-"))
    try:
        (home / "dags").mkdir()
        shutil.copy(EXAMPLE_CONFIG, home / "kaitiaki.yaml")
        env = environment(home)
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, check=True
        )
        cached = with_bytecode(env, home / "pycache")
        child(cached, "--guard", "1")  # writes the bytecode cache
        cold_load = load_average()
        cold, forked = [], []
        for _ in range(COLD_RUNS):
            cold.append(child(cached, "--guard", "1"))
            forked.append(child(cached, "--fork", "1"))
        warm = child(env, "--guard", str(WARM_CALLS))
        with_policy, without_policy = [], []
        for _ in range(IMPORT_PAIRS):
            with_policy.append(child(env, "--import", "real"))
            without_policy.append(child(env, "--import", "stub"))
        decisions = (
            sum(1 for _ in (home / ".kaitiaki" / "decisions.jsonl").open())
            if (home / ".kaitiaki" / "decisions.jsonl").exists()
            else 0
        )
        return {
            "cold": cold,
            "forked": forked,
            "cold_load": cold_load,
            "warm": warm,
            "import_with": with_policy,
            "import_without": without_policy,
            "decisions_logged": decisions,
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def report(figures: dict[str, Any]) -> str:
    warm = figures["warm"]
    rows = []
    everything: list[float] = []
    for name, values in warm["timings"].items():
        everything += values
        outcome = "allowed" if warm["outcomes"][name] else "blocked"
        rows.append(
            f"| {name} ({outcome}) | {len(values)} | {statistics.median(values) * 1000:.1f} | "
            f"{percentile(values, PERCENTILE_95) * 1000:.1f} |"
        )
    rows.append(
        f"| **all** | {len(everything)} | **{statistics.median(everything) * 1000:.1f}** | "
        f"**{percentile(everything, PERCENTILE_95) * 1000:.1f}** |"
    )
    with_s = statistics.median(f["import_airflow_s"] for f in figures["import_with"])
    without_s = statistics.median(f["import_airflow_s"] for f in figures["import_without"])
    paired_ms = [
        (w["import_airflow_s"] - wo["import_airflow_s"]) * 1000
        for w, wo in zip(figures["import_with"], figures["import_without"], strict=True)
    ]
    module_ms = [f["policy_module_s"] * 1000 for f in figures["import_without"]]
    loads_with = statistics.median(f["entry_points_s"] for f in figures["import_with"]) * 1000
    loads_without = statistics.median(f["entry_points_s"] for f in figures["import_without"]) * 1000
    return "\n".join(
        [
            "# Airflow guard: cost per task and at import",
            "",
            f"`bench/airflow_guard.py` on {os.cpu_count()} shared cores; Airflow 3.3.2, embedded Rego, "
            "the example DAGs' kaitiaki.yaml, decision log on local disk (fsync per decision).",
            "",
            "## Runtime guard per task execution, engine warm",
            "",
            "One process, after its first decision; each call is the full guard on a real "
            "SQLExecuteQueryOperator: connection type, analysis, classification, Rego, explanation, "
            f"decision-log append. SQL varies per call. {figures['decisions_logged']} decisions logged.",
            "",
            "| task SQL | calls | median ms | p95 ms |",
            "|---|---|---|---|",
            *rows,
            "",
            "## First check in a fresh task process",
            "",
            f"{len(figures['cold'])} rounds (load average {figures['cold_load']} when they started), "
            "bytecode cached as in an installed image; each round starts a task process both ways, "
            "alternating. A task process pays this once, as it runs one task.",
            "",
            "- **forked** (how Airflow 3 starts a task on Linux: the local executor's worker, a Celery "
            "worker's pool process or a pod's `execute_workload` imports airflow and forks the task "
            "process from itself): kaitiaki's `warm_before_fork` imports its code in the parent first "
            "(`fork` row: paid once per worker process, not per task), and the task process starts "
            "with it loaded;",
            "- **exec** (a process that imports everything itself, as with `warm_before_fork = False` "
            "or on macOS, where Airflow execs the task process).",
            "",
            "Each row times, in the task process: the cluster policy on the DAG's tasks at parse, the "
            "connection's hook (DuckDB's here: imported by kaitiaki to ask the dialect, and by the "
            "operator to run, so the task pays it once either way; its own row), and the first check "
            "(kaitiaki.yaml, engine compile, analysis, decision, decision log).",
            "",
            "| | forked: median ms | min | max | exec: median ms | min | max |",
            "|---|---|---|---|---|---|---|",
            *cold_rows(figures["forked"], figures["cold"]),
            "",
            f"Target: first check ≤ 300 ms. Forked: **{median_ms(figures['forked'], 'first_s'):.0f} ms**, "
            f"kaitiaki in all {ratio(figures['forked']):.3f} of `import airflow` (median of the "
            f"per-process ratios); exec: {median_ms(figures['cold'], 'first_s'):.0f} ms, "
            f"{ratio(figures['cold']):.3f} of `import airflow`.",
            "",
            "## Added to `import airflow`",
            "",
            f"- importing `kaitiaki_airflow.policy` (with its package) after `import airflow`, in "
            f"{IMPORT_PAIRS} fresh processes: median **{statistics.median(module_ms):.2f} ms**, "
            f"max {max(module_ms):.2f} ms. This is what the entry point adds to every Airflow process.",
            f"- Airflow's loading of the `airflow.policy` entry points during `import airflow`, median of "
            f"{IMPORT_PAIRS} processes: {loads_with:.1f} ms with the policy module, {loads_without:.1f} ms "
            "with an empty module in its place.",
            f"- wall time of `import airflow`, {IMPORT_PAIRS} alternating pairs of fresh processes: "
            f"median {with_s * 1000:.0f} ms with the policy module, {without_s * 1000:.0f} ms with an "
            f"empty module in its place; median paired difference {statistics.median(paired_ms):+.0f} ms "
            f"(range {min(paired_ms):+.0f} to {max(paired_ms):+.0f} ms). On a shared machine this "
            "noise is far larger than the module's own import, measured directly above.",
            "",
            "Targets: p95 < 50 ms per task with the engine warm; < 100 ms added to `import airflow`.",
            "",
        ]
    )


def cold_rows(forked: list[dict[str, Any]], cold: list[dict[str, Any]]) -> list[str]:
    rows = []
    parts = (
        ("`import airflow`", "import_s"),
        ("`warm_before_fork` in the parent, once per worker process (the fork)", "fork_s"),
        ("the cluster policy on the DAG's tasks at parse (finds the SQL)", "policy_s"),
        ("the connection's hook (the operator's own import)", "hook_s"),
        ("**first check** (kaitiaki.yaml, engine, analysis, decision, log)", "first_s"),
        ("**kaitiaki in the task process** (policy + first check)", "kaitiaki_s"),
    )
    for c in (*forked, *cold):
        c["kaitiaki_s"] = c["policy_s"] + c["first_s"]
    for label, key in parts:
        cells = []
        for runs in (forked, cold):
            values = [c[key] * 1000 for c in runs if key in c]
            cells += (
                [f"{statistics.median(values):.0f}", f"{min(values):.0f}", f"{max(values):.0f}"]
                if values
                else ["—"] * 3
            )
        rows.append(f"| {label} | {' | '.join(cells)} |")
    return rows


def median_ms(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(c[key] for c in runs) * 1000


def ratio(runs: list[dict[str, Any]]) -> float:
    """kaitiaki in the task process against `import airflow`, median of the per-process ratios."""
    return statistics.median((c["policy_s"] + c["first_s"]) / c["import_s"] for c in runs)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("--guard", "--fork"):
        print(json.dumps(guard_calls(int(sys.argv[2]), fork=sys.argv[1] == "--fork")))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--import":
        print(json.dumps(import_only(sys.argv[2] == "stub")))
        return
    from measure import memory_line

    text = report(measure()) + f"{memory_line()}\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
