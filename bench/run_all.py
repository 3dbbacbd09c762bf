"""`make bench`: run every benchmark in this folder, each in its own process.

Each benchmark writes its figures to bench/results/<name>.md; this runner records the machine and
versions once in bench/results/README.md, each benchmark's exit status, wall time, load average
and peak memory in bench/results/runs.json, then writes bench/results/summary.md
(bench/summary.py), and fails if any benchmark fails. Benchmarks are never part of `make test`:
figures are measured here and reported, not asserted in unit tests.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from measure import load_average, run_measured

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SKIP = {"run_all.py", "measure.py", "summary.py"}
PACKAGES = ("kaitiaki", "sqlglot", "gordon-to-regorus", "regopy", "sqllineage", "dbt-core", "apache-airflow")


def machine_summary() -> str:
    lines = [
        "# Benchmark machine",
        "",
        f"- platform: {platform.platform()}",
        f"- python: {platform.python_version()}",
        f"- cores: {os.cpu_count()}",
    ]
    for name in PACKAGES:
        try:
            lines.append(f"- {name}: {version(name)}")
        except PackageNotFoundError:
            lines.append(f"- {name}: not installed")
    return "\n".join(lines) + "\n"


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "README.md").write_text(machine_summary())
    benchmarks: dict[str, object] = {}
    runs = {"started_load": load_average(), "benchmarks": benchmarks}
    failures = []
    for script in sorted(HERE.glob("*.py")):
        if script.name in SKIP or script.name.startswith("gen_"):
            continue
        print(f"== {script.name}", flush=True)
        load = os.getloadavg()
        run = run_measured([sys.executable, str(script)], capture=False)
        print(
            f"== {script.name}: exit {run.returncode} in {run.wall_s:.1f} s, peak RSS "
            f"{run.peak_rss_mib:.0f} MiB (largest process), {run.tree_peak_mib:.0f} MiB (tree)",
            flush=True,
        )
        benchmarks[script.name] = {
            "exit": run.returncode,
            "wall_s": run.wall_s,
            "load": load,
            "peak_mib": run.peak_rss_mib,
            "tree_peak_mib": run.tree_peak_mib,
        }
        (RESULTS / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
        if run.returncode != 0:
            failures.append(script.name)
    subprocess.run([sys.executable, str(HERE / "summary.py")], check=False, stdout=subprocess.DEVNULL)
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
