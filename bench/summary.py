"""bench/results/summary.md: every headline figure against its target, read from the results files.

Each benchmark writes its own results file; this reads the headline figures back out of them
(and, when `make bench` ran them, bench/results/runs.json: exit status, load average and memory
of each benchmark process, recorded by run_all.py). A figure that cannot be found, because a
benchmark failed or its file changed shape, is reported as not measured, never as met.

    .venv/bin/python bench/summary.py
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import load_average, parse_memory_line  # noqa: E402

RESULTS = HERE / "results"
SUMMARY = RESULTS / "summary.md"
RUNS = RESULTS / "runs.json"
MEMORY_TARGET_MIB = 1024
NUMBER = r"([\d,]+(?:\.\d+)?)"


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str
    met: bool | None  # None: not measured, or nothing to compare with
    source: str  # the results file (its benchmark script has the same stem, see BENCHMARK_OF)


BENCHMARK_OF = {
    "analysis.md": "analysis.py",
    "engines.md": "engines.py",
    "dbt.md": "dbt_manifest.py",
    "airflow.md": "airflow_guard.py",
    "decision_log.md": "decision_log.py",
    "memory.md": "memory.py",
    "scaling.md": "scaling.py",
}


def number(text: str) -> float:
    return float(text.replace(",", ""))


def find(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, flags=re.MULTILINE)


def missing(figure: str, target: str, source: str) -> Row:
    return Row(figure, f"not measured (no figure in results/{source})", target, None, source)


def at_least(figure: str, value: float | None, target: float, unit: str, source: str) -> Row:
    label = f"≥ {target:g}{unit}"
    if value is None:
        return missing(figure, label, source)
    return Row(figure, f"{value:g}{unit}", label, value >= target, source)


def at_most(figure: str, value: float | None, target: float, unit: str, source: str) -> Row:
    label = f"< {target:g}{unit}" if unit.strip() != "×" else f"≤ {target:g}{unit}"
    if value is None:
        return missing(figure, label, source)
    met = value <= target if unit.strip() == "×" else value < target
    return Row(figure, f"{value:g}{unit}", label, met, source)


# --- one reader per results file ----------------------------------------------------------------


def analysis_rows(text: str) -> list[Row]:
    speed = find(rf"sqllineage / kaitiaki on the cases both ran: \*\*{NUMBER}×\*\*", text)
    parse = find(rf"kaitiaki / parse, median of per-case ratios: \*\*{NUMBER}×\*\*", text)
    return [
        at_least(
            "SQL analysis vs sqllineage column lineage (median ratio)",
            number(speed[1]) if speed else None,
            20,
            "×",
            "analysis.md",
        ),
        at_most(
            "SQL analysis vs bare sqlglot parse (median of per-case ratios)",
            number(parse[1]) if parse else None,
            3,
            "×",
            "analysis.md",
        ),
    ]


def engine_table(text: str) -> list[list[str]]:
    """The rows of the engines table: engine, input, runs, load, median, p95, p99, violations (and,
    since the engines are compared with each other, whether each decided as the embedded one)."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) in (8, 9) and re.fullmatch(NUMBER, cells[4]) and re.fullmatch(NUMBER, cells[5]):
            rows.append(cells)
    return rows


def engine_rows(text: str) -> list[Row]:
    begin, end = "<!-- bench/engines.py: begin -->", "<!-- bench/engines.py: end -->"
    if begin in text and end in text:  # the measured block; the prose around it may quote older runs
        text = text.split(begin, 1)[1].split(end, 1)[0]
    table = engine_table(text)
    embedded = [number(r[4]) for r in table if r[0] == "embedded"]
    out = [
        at_most(
            "Embedded Rego decision, 50-column input (median, worst of allowed/denied)",
            max(embedded) if embedded else None,
            1,
            " ms",
            "engines.md",
        )
    ]
    for engine in sorted({r[0] for r in table if r[0].startswith("opa")}):
        p95 = [number(r[5]) for r in table if r[0] == engine]
        out.append(at_most(f"OPA engine, {engine} (p95, worst input)", max(p95), 10, " ms", "engines.md"))
    if len(out) == 1:
        out.append(missing("OPA engine over loopback (p95)", "< 10 ms", "engines.md"))
    return out


def dbt_rows(text: str) -> list[Row]:
    cold = find(rf"^\| cold \(no cache\)[^|]*\| {NUMBER} s", text)
    warm = find(rf"^\| warm \(cache, nothing changed\)[^|]*\| {NUMBER} s", text)
    return [
        at_most(
            "`kaitiaki dbt check`, 2,000 models, cold (median wall)",
            number(cold[1]) if cold else None,
            20,
            " s",
            "dbt.md",
        ),
        at_most(
            "`kaitiaki dbt check`, 2,000 models, warm (median wall)",
            number(warm[1]) if warm else None,
            2,
            " s",
            "dbt.md",
        ),
    ]


def airflow_rows(text: str) -> list[Row]:
    everything = find(rf"^\| \*\*all\*\* \| \d+ \| \*\*{NUMBER}\*\* \| \*\*{NUMBER}\*\* \|", text)
    module = find(rf"importing `kaitiaki_airflow.policy`.*?median \*\*{NUMBER} ms\*\*", text)
    return [
        at_most(
            "Airflow runtime guard per task, engine warm (p95)",
            number(everything[2]) if everything else None,
            50,
            " ms",
            "airflow.md",
        ),
        at_most(
            "Airflow: policy module added to `import airflow` (median)",
            number(module[1]) if module else None,
            100,
            " ms",
            "airflow.md",
        ),
    ]


def decision_log_rows(text: str, dbt: str) -> list[Row]:
    """No number was set as the target: the log must keep up with the decisions a check makes."""
    single = find(rf"^\| 1 process \| \d+ \| {NUMBER} \|", text)
    many = find(rf"^\| (\d+) processes \| \d+ \| {NUMBER} \|", text)
    models = find(r"\): (\d[\d,]*) models", dbt)
    cold = find(rf"^\| cold \(no cache\)[^|]*\| {NUMBER} s", dbt)
    if single is None or many is None:
        return [missing("Decision-log appends per second", "keeps up with decisions", "decision_log.md")]
    measured = f"{number(single[1]):,.0f}/s (1 writer), {number(many[2]):,.0f}/s ({many[1]} writers)"
    if models is None or cold is None:
        return [Row("Decision-log appends per second", measured, "no number set", None, "decision_log.md")]
    needed = number(models[1]) / number(cold[1])
    target = f"> decisions/s of a cold dbt check ({needed:,.0f}/s)"
    met = min(number(single[1]), number(many[2])) > needed
    return [Row("Decision-log appends per second (fsync each)", measured, target, met, "decision_log.md")]


def scaling_rows(text: str) -> list[Row]:
    """Points of the curve: 10,000 models' times, and the memory of the whole checking tree."""
    rows: list[Row] = []
    for models in ("2,000", "10,000"):
        figure = f"Peak memory, {models}-model check: main process + workers (sampled RSS sum, cold)"
        found = find(rf"^\| {models} \|(.*)$", text)
        if found is None:
            rows.append(missing(figure, f"< {MEMORY_TARGET_MIB} MiB", "scaling.md"))
            continue
        cells = [c.strip() for c in found[1].split("|")]
        if models == "10,000":
            figure_time = f"`kaitiaki dbt check`, {models} models, cold / warm wall"
            rows.append(Row(figure_time, f"{cells[1]} / {cells[4]}", "no target set", None, "scaling.md"))
        tree = re.match(rf"{NUMBER} / {NUMBER} MiB", cells[7])
        rows.append(
            at_most(figure, number(tree[1]) if tree else None, MEMORY_TARGET_MIB, " MiB", "scaling.md")
        )
    return rows


def memory_rows(texts: Mapping[str, str]) -> list[Row]:
    """Peak RSS of every benchmark's processes (upper bounds from getrusage) against 1 GB."""
    peaks = {name: parse_memory_line(text) for name, text in texts.items()}
    found = {name: peak.largest_mib for name, peak in peaks.items() if peak is not None}
    if not found:
        return [missing("Peak memory of any benchmark process", f"< {MEMORY_TARGET_MIB} MiB", "*.md")]
    worst = max(found, key=lambda name: found[name])
    return [
        at_most(
            f"Peak memory of any benchmark process (largest: {worst})",
            round(found[worst]),
            MEMORY_TARGET_MIB,
            " MiB",
            worst,
        )
    ]


# --- the page ----------------------------------------------------------------------------------


def read_results() -> dict[str, str]:
    return {name: path.read_text() for name in BENCHMARK_OF if (path := RESULTS / name).is_file()}


def read_runs() -> dict[str, Any]:
    try:
        runs: dict[str, Any] = json.loads(RUNS.read_text())
    except (OSError, ValueError):
        return {}
    return runs


def all_rows(texts: Mapping[str, str]) -> list[Row]:
    readers: list[tuple[str, Callable[[str], list[Row]]]] = [
        ("analysis.md", analysis_rows),
        ("engines.md", engine_rows),
        ("dbt.md", dbt_rows),
        ("airflow.md", airflow_rows),
        ("decision_log.md", lambda text: decision_log_rows(text, texts.get("dbt.md", ""))),
        ("scaling.md", scaling_rows),
    ]
    rows: list[Row] = []
    for name, reader in readers:
        rows += reader(texts[name]) if name in texts else reader("")
    return rows + memory_rows(texts)


def status(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "—"}[met]


def load_of(source: str, runs: Mapping[str, Any]) -> str:
    run = runs.get("benchmarks", {}).get(BENCHMARK_OF.get(source, ""))
    return f"{run['load'][0]:.1f}" if run else "—"


def memory_table(texts: Mapping[str, str], runs: Mapping[str, Any]) -> list[str]:
    lines = [
        "| benchmark | exit | wall | this process (getrusage) | largest child (getrusage, upper bound) "
        "| largest process (sampled VmHWM) | process tree (sampled RSS sum) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, script in BENCHMARK_OF.items():
        peak = parse_memory_line(texts.get(name, ""))
        run = runs.get("benchmarks", {}).get(script)
        own = f"{peak.self_mib:.0f} MiB" if peak else "—"
        child = f"{peak.children_mib:.0f} MiB" if peak else "—"
        if run:
            measured = f"{run['exit']} | {run['wall_s']:.0f} s | {own} | {child} | "
            measured += f"{run['peak_mib']:.0f} MiB | {run['tree_peak_mib']:.0f} MiB"
        else:
            measured = f"— | — | {own} | {child} | — | —"
        lines.append(f"| `{script}` | {measured} |")
    return lines


def render(rows: list[Row], texts: Mapping[str, str], runs: Mapping[str, Any]) -> str:
    met = sum(1 for r in rows if r.met is True)
    judged = sum(1 for r in rows if r.met is not None)
    started = runs.get("started_load")
    lines = [
        "# Benchmark summary: headline figures against their targets",
        "",
        "Produced by `bench/summary.py` from the results files beside it (`make bench` runs every "
        "benchmark, then this). The machine has 2 cores **shared with other engineers' work** while "
        "these figures were taken: wall-clock figures are upper bounds, CPU figures in the files are "
        "steadier. The load column is the 1-minute load average when that benchmark started.",
        "",
        f"- Load when `make bench` started: {started}."
        if started
        else "- `make bench` did not record its start (figures from the last run of each benchmark).",
        f"- Load when this summary was written: {load_average()}.",
        f"- {met} of {judged} targets met.",
        "",
        "| figure | measured | target | status | from | load |",
        "|---|---:|---:|---|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.figure} | {r.measured} | {r.target} | {status(r.met)} | `results/{r.source}` "
            f"| {load_of(r.source, runs)} |"
        )
    lines += [
        "",
        "## Peak memory of each benchmark",
        "",
        "From each results file's memory line (`getrusage` `ru_maxrss`: exact for the benchmark's "
        "own process; for children an upper bound, as Linux starts a child's high-water mark at its "
        "parent's size) and, when run by `make bench`, from run_all.py's sampling of the benchmark's "
        "process tree every 50 ms. The analysis benchmark holds sqllineage, and the Airflow and "
        "memory benchmarks Airflow itself, in the measured processes.",
        "",
        *memory_table(texts, runs),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    texts = read_results()
    runs = read_runs()
    text = render(all_rows(texts), texts, runs)
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
