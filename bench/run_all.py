"""`make bench`: run every benchmark in this folder, each in its own process.

Each benchmark writes its figures to bench/results/<name>.md; this runner records the machine and
versions once in bench/results/README.md and fails if any benchmark fails. Benchmarks are never
part of `make test`: figures are measured here and reported, not asserted in unit tests.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SKIP = {"run_all.py"}
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
    failures = []
    for script in sorted(HERE.glob("*.py")):
        if script.name in SKIP or script.name.startswith("gen_"):
            continue
        print(f"== {script.name}", flush=True)
        started = time.perf_counter()
        status = subprocess.run([sys.executable, str(script)], check=False).returncode
        print(f"== {script.name}: exit {status} in {time.perf_counter() - started:.1f} s", flush=True)
        if status != 0:
            failures.append(script.name)
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
