"""Scaling curve: `kaitiaki dbt check --manifest` time and peak memory from 100 to 10,000 models.

For each size a synthetic project (`bench/gen_manifest.py`, seed 7) is checked by a fresh
`kaitiaki` process, cold (no verdict cache) and warm (the cache of the cold run), with the default
worker processes; wall time, CPU time of the whole process tree, the largest single process's
peak RSS (exact) and the tree's sampled peak RSS are recorded. A straight line through CPU and
memory against the number of models separates the fixed cost (start-up, policy compile, worker
spawn) from the cost per model and shows whether anything grows faster than linearly.

Where the time goes: one more cold run at 2,000 and at 10,000 models under cProfile with
``KAITIAKI_WORKERS=1`` (every model in the one profiled process), reduced to the phases of a
check and the functions with the most time of their own, with the time the garbage collector
took per generation (``gc.callbacks``).

Writes bench/results/scaling.md.

    .venv/bin/python bench/scaling.py [--sizes 100 500 2000 10000] [--no-profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import shutil
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_manifest import write  # noqa: E402
from kaitiaki_dbt.workers import available_workers  # noqa: E402
from measure import Measured, load_average, memory_line, run_measured  # noqa: E402

WORK = HERE / ".cache" / "scaling"
RESULTS = HERE / "results" / "scaling.md"
SIZES = (100, 500, 2000, 10000)
PROFILE_SIZES = (2000, 10000)
LARGE = 10000  # one cold and one warm run only: each cold run takes minutes on shared cores
REPEATS = 3
SEED = 7
MEMORY_TARGET_MIB = 1024
TOP_SELF_TIME = 12

# The phases of one check, by (end of file path, function name) in the profile; cumulative seconds.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("manifest load (JSON)", "kaitiaki_dbt/manifest.py", "load_manifest"),
    ("analysis (`analyze_sql`)", "kaitiaki/analysis/analyze.py", "analyze_sql"),
    ("· sqlglot parse", "kaitiaki/analysis/parse.py", "parse_statement"),
    ("· sqlglot qualify (analysis)", "kaitiaki/analysis/resolve.py", "qualify_query"),
    ("model output columns for children (re-parse)", "kaitiaki_dbt/schema.py", "output_columns"),
    ("classification", "kaitiaki/classify/core.py", "classify"),
    ("Rego evaluation (embedded)", "kaitiaki/engine/embedded.py", "evaluate"),
    ("policy load and compile (once)", "kaitiaki/engine/__init__.py", "load_engine"),
    ("verdict cache: key digests", "kaitiaki_dbt/cache.py", "model_cache_key"),
    ("verdict cache: save", "kaitiaki_dbt/cache.py", "save"),
    ("JSON report", "kaitiaki/report/json_report.py", "render_json"),
)


@dataclass(frozen=True)
class SizeResult:
    models: int
    manifest_mb: float
    cache_mb: float
    cold: list[Measured]
    warm: list[Measured]
    allowed: int

    def median(self, runs: str, field: str) -> float:
        measured: list[Measured] = getattr(self, runs)
        return statistics.median(float(getattr(m, field)) for m in measured)


@dataclass(frozen=True)
class Profile:
    models: int
    total_s: float
    phases: dict[str, float | None]
    self_time: list[tuple[str, float]]
    gc_seconds: dict[str, float]  # generation → seconds spent collecting it
    gc_collections: dict[str, int]


class GcTimer:
    """Times every garbage collection, per generation, through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds = {"0": 0.0, "1": 0.0, "2": 0.0}
        self.collections = {"0": 0, "1": 0, "2": 0}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = str(info["generation"])
        self.seconds[generation] += time.perf_counter() - self._started
        self.collections[generation] += 1


def kaitiaki_exe() -> str:
    return shutil.which("kaitiaki", path=str(Path(sys.executable).parent)) or "kaitiaki"


def check_command(project: Path) -> list[str]:
    manifest = project / "target" / "manifest.json"
    return [
        *("dbt", "check", "--manifest", str(manifest), "--format", "json"),
        *("--config", str(project / "kaitiaki.yaml")),
    ]


def checked(measured: Measured, what: str) -> Measured:
    if measured.returncode not in (0, 1):
        sys.exit(f"scaling bench: {what} exited {measured.returncode}:\n{measured.stderr[-2000:]}")
    return measured


def run_size(models: int) -> SizeResult:
    """Cold runs (cache removed before each), then warm runs; the warm report must equal the cold."""
    project = WORK / str(models)
    shutil.rmtree(project, ignore_errors=True)
    manifest = write(project, models, seed=SEED)
    cache = project / "target" / "kaitiaki-cache.json"
    repeats = 1 if models >= LARGE else REPEATS
    command = [kaitiaki_exe(), *check_command(project)]
    cold: list[Measured] = []
    for _ in range(repeats):
        cache.unlink(missing_ok=True)
        cold.append(checked(run_measured(command), f"cold check of {models} models"))
    warm = [checked(run_measured(command), f"warm check of {models} models") for _ in range(repeats)]
    report = json.loads(cold[-1].stdout)
    for run in warm:
        if json.loads(run.stdout) != report:
            different_reports(project, report, json.loads(run.stdout))
    allowed = sum(1 for job in report["jobs"] if job["decision"]["allow"])
    print(f"{models} models: cold {cold[-1].wall_s:.1f} s, warm {warm[-1].wall_s:.1f} s", flush=True)
    return SizeResult(models, manifest.stat().st_size / 1e6, cache.stat().st_size / 1e6, cold, warm, allowed)


def different_reports(project: Path, cold: dict[str, Any], warm: dict[str, Any]) -> None:
    """Stop, keeping both reports and naming the jobs whose decisions differ."""
    (project / "cold.json").write_text(json.dumps(cold, indent=1))
    (project / "warm.json").write_text(json.dumps(warm, indent=1))
    warm_jobs = {job["job"]["id"]: job for job in warm["jobs"]}
    differing = [job["job"]["id"] for job in cold["jobs"] if warm_jobs.get(job["job"]["id"]) != job]
    sys.exit(
        f"scaling bench: the warm report differs from the cold one for {len(differing)} jobs "
        f"(first: {', '.join(differing[:3])}); both reports are in {project}. Were policies or code "
        "edited while the benchmark ran?"
    )


def profile_size(models: int) -> Profile:
    """One cold check of the size's project, profiled in a child process with every model in it."""
    project = WORK / str(models)
    (project / "target" / "kaitiaki-cache.json").unlink(missing_ok=True)
    output = WORK / f"cold-{models}.prof"
    collections = WORK / f"cold-{models}.gc.json"
    command = [sys.executable, __file__, "--profile-child", str(output), str(collections)]
    env = {**os.environ, "KAITIAKI_WORKERS": "1"}
    checked(run_measured([*command, *check_command(project)], env=env), f"profile of {models} models")
    stats = pstats.Stats(str(output))
    timer = json.loads(collections.read_text())
    print(f"{models} models profiled", flush=True)
    return Profile(
        models,
        stats.total_tt,  # type: ignore[attr-defined]
        phase_times(stats),
        top_self_time(stats),
        timer["seconds"],
        timer["collections"],
    )


def profile_child(output: str, collections: str, arguments: Sequence[str]) -> None:
    """Child: `kaitiaki ARGUMENTS` under cProfile, garbage collections timed; both written out."""
    from kaitiaki.cli import main as kaitiaki_main

    timer = GcTimer()
    gc.callbacks.append(timer)
    profiler = cProfile.Profile()
    try:
        profiler.runcall(kaitiaki_main, list(arguments))
    finally:
        profiler.dump_stats(output)
        Path(collections).write_text(json.dumps({"seconds": timer.seconds, "collections": timer.collections}))


def phase_times(stats: pstats.Stats) -> dict[str, float | None]:
    """Cumulative seconds of each phase's function (None when the function is not in the profile)."""
    entries = stats.stats  # type: ignore[attr-defined]
    found: dict[str, float | None] = {}
    for label, path_end, function in PHASES:
        times = [
            cumulative
            for (path, _, name), (_, _, _, cumulative, _) in entries.items()
            if name == function and path.endswith(path_end)
        ]
        found[label] = max(times) if times else None
    return found


def top_self_time(stats: pstats.Stats) -> list[tuple[str, float]]:
    """The functions with the most time of their own (not counting what they call)."""
    entries = stats.stats  # type: ignore[attr-defined]
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:TOP_SELF_TIME]
    return [(f"{short_path(path)}:{line}({name})", own) for (path, line, name), (_, _, own, _, _) in ranked]


def short_path(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def linear_fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares intercept and slope."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    return mean_y - slope * mean_x, slope


# --- the report ----------------------------------------------------------------------------------


def curve_table(results: Sequence[SizeResult]) -> list[str]:
    lines = [
        "| models | manifest | cold wall | cold CPU | cold CPU per model | warm wall | warm CPU "
        "| largest process peak RSS (cold / warm) | tree peak RSS, sampled (cold / warm) | cache file |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cold_cpu = r.median("cold", "cpu_s")
        lines.append(
            f"| {r.models:,} | {r.manifest_mb:.1f} MB | {r.median('cold', 'wall_s'):.2f} s "
            f"| {cold_cpu:.1f} s "
            f"| {cold_cpu / r.models * 1000:.1f} ms | {r.median('warm', 'wall_s'):.2f} s "
            f"| {r.median('warm', 'cpu_s'):.1f} s "
            f"| {r.median('cold', 'peak_rss_mib'):.0f} / {r.median('warm', 'peak_rss_mib'):.0f} MiB "
            f"| {r.median('cold', 'tree_peak_mib'):.0f} / {r.median('warm', 'tree_peak_mib'):.0f} MiB "
            f"| {r.cache_mb:.1f} MB |"
        )
    return lines


def fit_lines(results: Sequence[SizeResult]) -> list[str]:
    """Fixed cost and cost per model, fitted on the smaller sizes; how far the largest is off the line."""
    if len(results) < 3:
        return ["- (a line needs at least two sizes besides the largest; run more sizes to fit one)"]
    smaller, largest = results[:-1], results[-1]
    lines = []
    for label, runs, field, unit in (
        ("cold CPU", "cold", "cpu_s", "ms"),
        ("warm CPU", "warm", "cpu_s", "ms"),
        ("cold peak RSS of the largest process", "cold", "peak_rss_mib", "KiB"),
        ("cold peak RSS of the process tree", "cold", "tree_peak_mib", "KiB"),
        ("warm peak RSS of the largest process", "warm", "peak_rss_mib", "KiB"),
    ):
        fixed, per_model = linear_fit([(float(r.models), r.median(runs, field)) for r in smaller])
        expected = fixed + per_model * largest.models
        measured = largest.median(runs, field)
        lines.append(
            f"- {label}: fixed **{fixed:.1f} {'s' if unit == 'ms' else 'MiB'}** + "
            f"**{per_model * 1024 if unit == 'KiB' else per_model * 1000:.2f} {unit}** per model "
            f"(fitted up to {smaller[-1].models:,}); at {largest.models:,} models the line says "
            f"{expected:.1f}, measured {measured:.1f} ({measured / expected - 1:+.0%})."
        )
    fixed, per_model = linear_fit([(float(r.models), r.median("cold", "tree_peak_mib")) for r in results])
    if per_model > 0:
        lines.append(
            f"- Fitted over every size, the checking tree (main process and workers) reaches "
            f"{MEMORY_TARGET_MIB} MiB at about **{(MEMORY_TARGET_MIB - fixed) / per_model:,.0f} models**."
        )
    return lines


def reading_lines(results: Sequence[SizeResult], profiles: Sequence[Profile]) -> list[str]:
    """What bends and why, from the figures above (the mechanisms are how the check is built)."""
    largest = results[-1]
    lines = [
        "## Reading the curve",
        "",
        "- Small projects are dominated by the fixed cost (interpreter start-up, imports, and each "
        "worker process importing kaitiaki and compiling the policies): wall time per model falls "
        "as projects grow, then flattens at the per-model cost.",
        "- Memory grows with the project, linearly: the main process holds the manifest and every "
        "model's outcome (verdict, policy input, facts) until the report is written, and the "
        "verdict cache holds an entry per model; each worker process holds its own copy of the "
        "whole project, sent to it when it starts.",
        f"- The warm run reads the whole cache file ({largest.cache_mb:.1f} MB at {largest.models:,} models, "
        f"{largest.cache_mb * 1e3 / largest.models:.1f} kB per model: each entry keeps the model's policy "
        "input and facts) and the manifest, and rebuilds every verdict: that is its cost per model.",
    ]
    if len(profiles) >= 2:
        first, last = profiles[0], profiles[-1]
        per_model = [p.gc_seconds["2"] / p.models * 1000 for p in (first, last)]
        lines.append(
            f"- Collections of the oldest generation walk the whole heap, which grows with the "
            f"project: {per_model[0]:.2f} ms per model at {first.models:,} models, {per_model[1]:.2f} ms "
            f"at {last.models:,}, in the single profiled process. With worker processes, a worker's "
            "heap holds the project but not the outcomes, which accumulate in the main process while "
            "it waits for the workers."
        )
    return [*lines, ""]


def per_model_wall(results: Sequence[SizeResult]) -> list[str]:
    cells = ", ".join(
        f"{r.models:,}: {r.median('cold', 'wall_s') / r.models * 1000:.1f} ms cold / "
        f"{r.median('warm', 'wall_s') / r.models * 1000:.2f} ms warm"
        for r in results
    )
    return [f"- Wall time per model: {cells}."]


def profile_table(profiles: Sequence[Profile]) -> list[str]:
    if not profiles:
        return ["Profiles not taken (`--no-profile`)."]
    header = " | ".join(f"{p.models:,} models: s (ms per model, share)" for p in profiles)
    lines = [f"| phase | {header} |", "|---|" + "---:|" * len(profiles)]
    rows: list[tuple[str, dict[int, float | None]]] = [("whole run", {p.models: p.total_s for p in profiles})]
    rows += [(label, {p.models: p.phases[label] for p in profiles}) for label, _, _ in PHASES]
    for label, by_size in rows:
        cells = []
        for p in profiles:
            value = by_size[p.models]
            cells.append(
                "—"
                if value is None
                else f"{value:.1f} ({value / p.models * 1000:.2f}, {value / p.total_s:.0%})"
            )
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def gc_lines(profiles: Sequence[Profile]) -> list[str]:
    lines = [
        "",
        "Garbage collection in those runs (`gc.callbacks`; collections and seconds per generation):",
        "",
        "| models | generation 0 | generation 1 | generation 2 (whole heap) | all, share of the run |",
        "|---:|---:|---:|---:|---:|",
    ]
    for p in profiles:
        cells = [f"{p.gc_collections[g]} in {p.gc_seconds[g]:.2f} s" for g in ("0", "1", "2")]
        spent = sum(p.gc_seconds.values())
        lines.append(f"| {p.models:,} | {' | '.join(cells)} | {spent:.1f} s, {spent / p.total_s:.0%} |")
    return lines


def self_time_lists(profiles: Sequence[Profile]) -> list[str]:
    lines: list[str] = []
    for p in profiles:
        lines += [
            "",
            f"Most time of their own at {p.models:,} models (cProfile `tottime`, s):",
            "",
            *[f"- `{name}` {seconds:.1f}" for name, seconds in p.self_time],
        ]
    return lines


def report(results: Sequence[SizeResult], profiles: Sequence[Profile], machine: Mapping[str, str]) -> str:
    lines = [
        "# Scaling: `kaitiaki dbt check --manifest` from 100 to 10,000 models",
        "",
        "Produced by `bench/scaling.py`. Synthetic projects from `bench/gen_manifest.py` (seed 7; "
        "15 % staging, 35 % intermediate joins with stars over upstream models, 50 % marts). Each "
        f"run is a fresh `kaitiaki` process with {available_workers()} worker processes, start-up and "
        f"imports included; median of {REPEATS} runs up to 2,000 models, one cold and one warm run at "
        f"{LARGE:,}. CPU is user + system time of the process and its workers (`wait4`). Peak RSS, sampled "
        "every 50 ms from /proc: the largest single process's high-water mark (`VmHWM`), and the "
        "highest sum of the RSS of the process and its workers "
        "(shared pages counted once per process: an upper bound).",
        "",
        f"Machine: {machine['start']} when the runs began; {machine['end']} at the end. "
        "Wall times depend on that load; CPU times much less.",
        "",
        "## The curve",
        "",
        *curve_table(results),
        "",
        *fit_lines(results),
        *per_model_wall(results),
        "",
        *reading_lines(results, profiles),
        "## Where the time goes (cProfile, one process, cold)",
        "",
        "`KAITIAKI_WORKERS=1` so every model is checked in the profiled process; profiling roughly "
        "doubles the times, so read the shares and the per-model column, not the seconds. A phase "
        "nested in another is marked ·.",
        "",
        *profile_table(profiles),
        *(gc_lines(profiles) if profiles else []),
        *self_time_lists(profiles),
        "",
        memory_line(),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 3 and sys.argv[1] == "--profile-child":
        profile_child(sys.argv[2], sys.argv[3], sys.argv[4:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--no-profile", action="store_true", help="skip the two cProfile runs")
    args = parser.parse_args()
    machine = {"start": load_average()}
    results = [run_size(models) for models in sorted(args.sizes)]
    sizes = {r.models for r in results}
    profiles = [] if args.no_profile else [profile_size(m) for m in PROFILE_SIZES if m in sizes]
    machine["end"] = load_average()
    text = report(results, profiles, machine)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
