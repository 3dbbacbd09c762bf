"""Memory and cold start of one guarded worker process: what each Celery or Kubernetes worker pays.

Each configuration runs in a fresh Python process (as a worker starts): the process's resident
memory and elapsed time are taken after its imports, after its first decision (which loads the
policies: compiled in-process for the embedded engine, nothing to compile for the OPA engine),
and after 200 more decisions; the per-decision time is the median of those 200. Configurations:
a bare interpreter; kaitiaki with the embedded engine; kaitiaki with the OPA engine (loopback
server loading the same bundle); `import airflow` alone; and `import airflow` then kaitiaki with
the embedded engine, which is what the guard adds to an Airflow task process. The decisions use
the example DAGs' kaitiaki.yaml (decision log off: its cost is in decision_log.md) and three
task SQLs of the Airflow benchmark. Writes bench/results/memory.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO))  # the OPA-API test server lives in tests/support

from measure import load_average, memory_line, run_measured  # noqa: E402

RESULTS = HERE / "results" / "memory.md"
EXAMPLE_CONFIG = REPO / "examples" / "nz_social" / "dags" / "kaitiaki.yaml"
DECISIONS = 200
CONFIGURATIONS = ("bare", "embedded", "opa", "airflow", "airflow+embedded")
SQL = (
    "create table analytics.uptake as select region, count(distinct client_number) as clients "
    "from msd.clients where not opted_out group by region having count(distinct client_number) >= {n}",
    "create table exports.extract as select client_number, full_name, phone, region "
    "from msd.clients where region = 'Region {n}' and not opted_out",
    "create table analytics.benefit_health as select c.client_number, c.benefit_type, p.diagnosis_code "
    "from msd.clients c join stats.spine s on s.client_number = c.client_number "
    "join health.patients p on p.nhi = s.nhi where c.region <> 'Region {n}'",
)


def status_mib(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS now, VmHWM the high-water mark) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- measured inside a child process -----------------------------------------------------------


def child(configuration: str, config_path: str, opa_url: str) -> dict[str, Any]:
    """Child: imports, first decision, then DECISIONS more; memory and time after each stage."""
    started = time.perf_counter()
    stages: dict[str, dict[str, float]] = {}

    def stage(name: str) -> None:
        stages[name] = {"rss_mib": status_mib("VmRSS"), "elapsed_s": time.perf_counter() - started}

    if configuration.startswith("airflow"):
        import airflow  # noqa: F401
    decisions_ms: list[float] = []
    if configuration in ("bare", "airflow"):
        stage("imports")
    else:
        engine = "opa" if configuration == "opa" else "embedded"
        decisions_ms = decide_many(config_path, engine, opa_url, stage)
    return {
        "stages": stages,
        "decision_ms": statistics.median(decisions_ms) if decisions_ms else None,
        "peak_mib": status_mib("VmHWM"),
    }


def decide_many(config_path: str, engine: str, opa_url: str, stage: Any) -> list[float]:
    from dataclasses import replace

    from kaitiaki.config import EngineSettings, load_settings
    from kaitiaki.gate import Gate
    from kaitiaki.model import Job

    settings = replace(load_settings(config_path), decision_log=None)
    if engine == "opa":
        settings = replace(settings, engine=EngineSettings(kind="opa", urls=(opa_url,), timeout_ms=5000))
    gate = Gate(settings, entry_point="airflow")
    stage("imports")

    def job(n: int) -> Job:
        sql = SQL[n % len(SQL)].format(n=n)
        return Job(id=f"airflow:bench.t{n % 3}", kind="airflow_task", name=f"t{n % 3}", sql=sql)

    gate.decide(job(0))
    stage("first decision")
    timings = []
    for n in range(1, DECISIONS + 1):
        begin = time.perf_counter()
        gate.decide(job(n))
        timings.append((time.perf_counter() - begin) * 1000)
    stage(f"{DECISIONS} more decisions")
    return timings


# --- the parent --------------------------------------------------------------------------------


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KAITIAKI_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "RUST_BACKTRACE": "0",
            "RUST_LIB_BACKTRACE": "0",
        }
    )
    return env


def measure_all(home: Path, opa_url: str) -> dict[str, dict[str, Any]]:
    env = environment(home)
    config = home / "kaitiaki.yaml"
    results: dict[str, dict[str, Any]] = {}
    for configuration in CONFIGURATIONS:
        done = run_measured(
            [sys.executable, __file__, "--child", configuration, str(config), opa_url], env=env
        )
        if done.returncode != 0:
            sys.exit(f"memory bench: {configuration} failed:\n{done.stderr[-2000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        results[configuration] = figures
        print(f"{configuration}: peak {figures['peak_mib']:.0f} MiB in {done.wall_s:.1f} s", flush=True)
    return results


def report(results: Mapping[str, Mapping[str, Any]], machine: str) -> str:
    lines = [
        "# One guarded worker process: memory and cold start",
        "",
        "Produced by `bench/memory.py`. Each row is a fresh Python process; RSS is the resident set "
        "after each stage and peak is the process's RSS high-water mark (`VmRSS`, `VmHWM` "
        "of `/proc/self/status`), elapsed counts from the start of the measured code (interpreter start-up "
        "excluded, it is the same for every row). The OPA engine's server is another process "
        f"on loopback, not counted. Machine: {machine}.",
        "",
        "| process | after imports | after first decision | after 200 more | peak | median decision |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, figures in results.items():
        cells = []
        for stage in ("imports", "first decision", f"{DECISIONS} more decisions"):
            value = figures["stages"].get(stage)
            cells.append("—" if value is None else f"{value['rss_mib']:.0f} MiB, {value['elapsed_s']:.2f} s")
        decision = figures["decision_ms"]
        decision_cell = "—" if decision is None else f"{decision:.1f} ms"
        lines.append(f"| {name} | {' | '.join(cells)} | {figures['peak_mib']:.0f} MiB | {decision_cell} |")
    airflow = results["airflow"]["peak_mib"]
    guarded = results["airflow+embedded"]["peak_mib"]
    embedded = results["embedded"]
    lines += [
        "",
        f"- The guard adds **{guarded - airflow:.0f} MiB** to an Airflow task process "
        f"({airflow:.0f} → {guarded:.0f} MiB peak) with the embedded engine.",
        f"- Cold start of the embedded engine (imports, policy compile, first decision): "
        f"**{embedded['stages']['first decision']['elapsed_s']:.2f} s**, paid once per worker process.",
        f"- The OPA engine needs no compile in the worker: first decision after "
        f"**{results['opa']['stages']['first decision']['elapsed_s']:.2f} s**, peak "
        f"{results['opa']['peak_mib']:.0f} MiB.",
        "",
        memory_line(),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(*sys.argv[2:5])))
        return 0
    from kaitiaki.config import load_settings
    from kaitiaki.engine.governance import build_bundle
    from kaitiaki.engine.sources import bundled_policies_dir
    from tests.support.opa_server import serve_bundle

    machine = load_average()
    home = Path(tempfile.mkdtemp(prefix="kaitiaki-memory-bench-"))
    try:
        (home / "dags").mkdir()
        shutil.copy(EXAMPLE_CONFIG, home / "kaitiaki.yaml")
        settings = load_settings(home / "kaitiaki.yaml")
        bundle = build_bundle([bundled_policies_dir()], home / "bundle.tar.gz", settings=settings)
        with serve_bundle(bundle) as server:
            results = measure_all(home, server.url)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    text = report(results, machine)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
