"""Benchmark: `kaitiaki dbt check` against plain `dbt compile` of the same 720-model dbt project.

The project is real dbt (dbt-duckdb): `bench/gen_manifest.py`'s synthetic estate (seed 7) written
out as model files with `ref()`/`source()` and `config(meta=…)`, sources in YAML. Both commands
run as fresh processes, after one warm-up each (dbt's partial parse and kaitiaki's verdict cache
are then as they are in daily use), alternating: each round runs `dbt compile`, `kaitiaki dbt
check` and `kaitiaki dbt check --no-cache` once (the cold figure), 3 rounds. Target: the check
costs at most 15% more wall time than the compile. `--quick` leaves out the cold rows: 3.5
minutes at a load average of 4 on 2 cores, against 4.5 for the full run. Figures go to
bench/results/dbt_compile.md with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_manifest import CONFIG, generate  # noqa: E402

WORK = HERE / ".cache" / "dbt_compile"
RESULTS = HERE / "results" / "dbt_compile.md"
MODELS = 720
REPEATS = 3
TARGET = 0.15
BIN = Path(sys.executable).parent
SCHEMA_MACRO = """{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
"""


def raw_sql(node: dict[str, Any], names: dict[str, str]) -> str:
    """The model's compiled SQL with each relation written back as ref() or source()."""
    sql = str(node["compiled_code"])
    for relation, jinja in sorted(names.items(), key=lambda item: -len(item[0])):
        sql = sql.replace(relation, jinja)
    config = {"meta": node["config"]["meta"], "tags": node["config"]["tags"]}
    return f"{{{{ config({json.dumps(config)}) }}}}\n{sql}"


def write_project(root: Path) -> None:
    manifest = generate(MODELS, 7)
    names: dict[str, str] = {}
    sources: dict[str, list[dict[str, Any]]] = {}
    for source in manifest["sources"].values():
        names[source["relation_name"]] = f"{{{{ source('{source['source_name']}', '{source['name']}') }}}}"
        columns = [{"name": c, "meta": v.get("meta", {})} for c, v in source["columns"].items()]
        sources.setdefault(source["source_name"], []).append(
            {"name": source["name"], "meta": source.get("meta", {}), "columns": columns}
        )
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    for node in models:
        names[node["relation_name"]] = f"{{{{ ref('{node['name']}') }}}}"
    for node in models:
        path = root / node["original_file_path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(raw_sql(node, names))
    folders = sorted({n["fqn"][1] for n in models})
    (root / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: bench\nmodels:\n  bench:\n"
        + "".join(f"    {f}:\n      +schema: {f}\n" for f in folders)
    )
    (root / "profiles.yml").write_text(
        "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n"
    )
    (root / "macros").mkdir(exist_ok=True)
    (root / "macros" / "schema.sql").write_text(SCHEMA_MACRO)
    yaml_sources = [
        {"name": name, "database": "warehouse", "schema": name, "tables": tables}
        for name, tables in sources.items()
    ]
    (root / "models" / "_sources.yml").write_text(json.dumps({"version": 2, "sources": yaml_sources}))
    (root / "kaitiaki.yaml").write_text(CONFIG.format(decision_log="false"))


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + system of the process and its children: what the shared machine does not change
    stdout: str
    load: float  # the 1-minute load average when the run began


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], root: Path) -> Run:
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return Run(elapsed, children_cpu() - cpu, done.stdout, load)


def cells(runs: list[Run]) -> str:
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    listed = ", ".join(f"{r.wall:.1f}/{r.cpu:.1f} @{r.load:.1f}" for r in runs)
    return f"{wall:.2f} s | {cpu:.2f} s | {listed}"


COMMANDS = {
    "compile": "`dbt compile` (partial parse warm)",
    "check": "`kaitiaki dbt check` (the default: verdict cache warm)",
    "cold": "`kaitiaki dbt check --no-cache` (every node decided afresh)",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="compile and the default check only (no cold rows): 3.5 minutes at load 4 on 2 cores",
    )
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs of each command (default 3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    write_project(WORK)
    common = ["--project-dir", str(WORK), "--profiles-dir", str(WORK)]
    check_cmd = [str(BIN / "kaitiaki"), "dbt", "check", *common, "--format", "json", "--quiet"]
    argvs = {
        "compile": [str(BIN / "dbt"), "compile", *common, "--quiet"],
        "check": check_cmd,
        "cold": [*check_cmd, "--no-cache"],
    }
    names = ["compile", "check"] if options.quick else ["compile", "check", "cold"]
    load = os.getloadavg()
    timed(argvs["compile"], WORK)  # warm-up: partial parse, target/
    timed(argvs["check"], WORK)  # warm-up: the verdict cache
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for _ in range(options.repeats):  # alternating: each round runs every command once
        for name in names:
            runs[name].append(timed(argvs[name], WORK))
    load_after = os.getloadavg()
    report = json.loads(runs["check"][-1].stdout)
    denied = sum(1 for job in report["jobs"] if not job["decision"]["allow"])
    if "cold" in runs:
        assert json.loads(runs["cold"][-1].stdout)["jobs"] == report["jobs"], "cold and cached checks differ"
    ratios = {name: ratio(runs[name], runs["compile"]) for name in names if name != "compile"}
    wall_ratio = ratios["check"][0]
    verdict = "target met" if wall_ratio <= TARGET else "target missed"
    lines = [
        "# `kaitiaki dbt check` against plain `dbt compile` (720-model dbt project)",
        "",
        f"Project: `bench/dbt_compile.py` writes `bench/gen_manifest.py`'s estate (seed 7) as a real "
        f"dbt-duckdb project: {MODELS} models with `ref()`/`source()` and `config(meta=…)`, "
        f"{len(report['jobs'])} jobs decided, {denied} denied. Each command is a fresh process; after "
        f"one warm-up of the compile and of the check, the commands ran in turn, {options.repeats} "
        f"rounds (`{' → '.join(names)}` in each), median of {options.repeats}"
        f"{' (`--quick`: no cold rows)' if options.quick else ''}. Machine: {os.cpu_count()} cores, "
        f"shared; load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} when the runs began and "
        f"{load_after[0]:.1f}, {load_after[1]:.1f}, {load_after[2]:.1f} when they ended. CPU = user + "
        "system time of the command and its children, which other work on the machine barely changes.",
        "",
        "What is compared: **both commands parse and compile the whole project with dbt** (dbt's partial "
        "parse warm for both, as in daily use). The check does it in-process and decides every node, "
        "most of them while dbt compiles (docs/dbt.md, *Large projects*); with its verdict cache warm "
        "(the default: `target/kaitiaki-cache.json`, kept between runs like dbt's "
        "`partial_parse.msgpack`) a node whose compiled SQL and inputs did not change is "
        "answered from the cache. The cold row (`--no-cache`) decides every node afresh: what a CI job "
        "pays when it does not keep `target/` between runs.",
        "",
        "| command | median wall time | median CPU | each run, wall/CPU (s) @ load average |",
        "|---|---|---|---|",
        *(f"| {COMMANDS[name]} | {cells(runs[name])} |" for name in names),
        "",
        f"**Overhead of the check over the compile: {wall_ratio:+.1%} wall time ({verdict}: ≤ "
        f"+{TARGET:.0%}), {ratios['check'][1]:+.1%} CPU time.**"
        + (
            f" Cold (`--no-cache`): {ratios['cold'][0]:+.1%} wall, {ratios['cold'][1]:+.1%} CPU."
            if "cold" in ratios
            else ""
        )
        + " At a high load average the wall times of single runs vary a lot; the CPU figures are the "
        "steadier comparison. The cold check decides nodes in a worker process while dbt compiles "
        "on one core, so its wall time holds only while a second core is free: at a load average "
        "near the number of cores the worker's CPU is taken from dbt's and adds to the wall time. "
        "Rerun: `.venv/bin/python bench/dbt_compile.py` (all three rows), or "
        "`--quick` for the compile and the default check only.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if wall_ratio <= TARGET else 1


def ratio(runs: list[Run], baseline: list[Run]) -> tuple[float, float]:
    """(wall, CPU) of ``runs`` over ``baseline``, minus one, from the medians."""
    wall = statistics.median(r.wall for r in runs) / statistics.median(r.wall for r in baseline) - 1
    cpu = statistics.median(r.cpu for r in runs) / statistics.median(r.cpu for r in baseline) - 1
    return wall, cpu


if __name__ == "__main__":
    raise SystemExit(main())
