"""Decision latency per policy engine, for a 50-column policy input (not a test).

Engines: embedded (regorus, in-process), regopy (rego-cpp, in-process), opa-local (the OPA engine
over loopback HTTP to the OPA-API test server, regorus underneath) and opa-binary (a real `opa`
server, when one is on PATH). Targets: embedded < 1 ms median; OPA over loopback < 10 ms p95.
Prints a table and writes bench/results/engines.md.

    .venv/bin/python bench/engines.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the OPA-API test server lives in tests/support

from kaitiaki.config import EngineSettings, Settings  # noqa: E402
from kaitiaki.engine import Engine, load_engine  # noqa: E402
from kaitiaki.engine.governance import build_bundle  # noqa: E402
from kaitiaki.engine.sources import bundled_policies_dir  # noqa: E402
from tests.policies.engines import opa_binary  # noqa: E402
from tests.support.opa_server import serve_bundle  # noqa: E402

ISSUERS = {"nhi": "moh", "ird": "ird", "nsn": "moe", "msd_client": "msd"}
CATEGORY_CYCLE = (
    ["unique_identifier:nhi"],
    ["direct_identifier"],
    ["quasi_identifier"],
    ["sensitive:ethnicity"],
    ["sensitive:health"],
    [],
    [],
    [],
)


def column(table: str, name: str, line: int, categories: list[str]) -> dict[str, Any]:
    return {
        "table": table,
        "column": name,
        "uses": ["select"],
        "transforms": ["none"],
        "outputs": [name],
        "lines": [line],
        "from_star": False,
        "categories": categories,
        "classified_by": ["catalog"],
    }


def output(table: str, name: str, categories: list[str]) -> dict[str, Any]:
    return {
        "table": "analytics.wide",
        "column": name,
        "categories": categories,
        "transforms": ["none"],
        "sources": [f"{table}.{name}"],
    }


def fifty_column_input(*, allowed: bool) -> dict[str, Any]:
    """A person-level job reading 50 columns of two joined tables (identifiers, sensitive, plain).

    ``allowed``: the purpose covers every category (a clean run, no blocking finding); otherwise
    the sensitive columns are outside the purpose and unapproved (26 violations to build).
    """
    document: dict[str, Any] = json.loads(
        (ROOT / "tests" / "policies" / "fixtures" / "base_input.json").read_text()
    )
    for index in range(50):
        table = "health.patients" if index < 30 else "health.visits"
        categories = CATEGORY_CYCLE[index % len(CATEGORY_CYCLE)]
        document["columns"].append(column(table, f"c{index:02d}", 2 + index, categories))
        document["outputs"].append(output(table, f"c{index:02d}", categories))
    document["joins"] = [
        {
            "left": {"table": "health.patients", "column": "c00"},
            "right": {"table": "health.visits", "column": "c40"},
            "kind": "inner",
            "line": 60,
        }
    ]
    if not allowed:
        document["purpose"]["allowed_categories"] = [
            "unique_identifier",
            "direct_identifier",
            "quasi_identifier",
        ]
        document["purpose"]["sensitive_approved"] = []
    return document


def settings(kind: str, urls: tuple[str, ...] = ()) -> Settings:
    return Settings(engine=EngineSettings(kind=kind, urls=urls, timeout_ms=5000), identifier_issuers=ISSUERS)


def timed_load(make: Callable[[], Engine]) -> tuple[Engine, float]:
    started = time.perf_counter()
    engine = make()
    return engine, (time.perf_counter() - started) * 1000


# rego-cpp takes hundreds of milliseconds per decision on this library: fewer runs.
RUNS_FOR = {"regopy": 20}


def latencies_ms(engine: Engine, document: dict[str, Any], runs: int) -> list[float]:
    for _ in range(min(20, runs)):
        engine.evaluate(document)
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        engine.evaluate(document)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def engines(stack: ExitStack, bundle: Path) -> Iterator[tuple[str, Callable[[], Engine]]]:
    yield "embedded", lambda: load_engine(settings("embedded"))
    yield "regopy", lambda: load_engine(settings("regopy"))
    server = stack.enter_context(serve_bundle(bundle))
    yield "opa-local (loopback HTTP)", lambda: load_engine(settings("opa", (server.url,)))
    if shutil.which("opa"):
        url = stack.enter_context(opa_binary(bundle))
        yield "opa-binary (loopback HTTP)", lambda: load_engine(settings("opa", (url,)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="decisions per engine and input")
    args = parser.parse_args()
    inputs = {"allowed": fifty_column_input(allowed=True), "denied": fifty_column_input(allowed=False)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        bundle_path = Path(tmp) / "bundle.tar.gz"
        bundle = build_bundle([bundled_policies_dir()], bundle_path, settings=settings("embedded"))
        for name, make in engines(stack, bundle):
            engine, load_ms = timed_load(make)
            runs = RUNS_FOR.get(name.split()[0], args.runs)
            for label, document in inputs.items():
                samples = latencies_ms(engine, document, runs)
                violations = len(engine.evaluate(document).violations)
                p95, p99 = percentile(samples, 0.95), percentile(samples, 0.99)
                rows.append((name, label, runs, load_ms, statistics.median(samples), p95, p99, violations))
                print(
                    f"{name} {label}: median {statistics.median(samples):.3f} ms, p95 {p95:.3f} ms",
                    flush=True,
                )
    from measure import memory_line

    report = render(rows) + f"\n{memory_line()}\n"
    print(report)
    out = ROOT / "bench" / "results" / "engines.md"
    out.write_text(report)
    print(f"wrote {out.relative_to(ROOT)}")


def render(rows: list[tuple[str, str, int, float, float, float, float, int]]) -> str:
    lines = [
        "# Policy engine decision latency",
        "",
        "One 50-column policy input (two joined tables; identifiers, quasi-identifiers, sensitive and",
        "plain columns) against the bundled DPUP library: `allowed` (the purpose covers everything: two",
        "findings) and `denied` (sensitive columns outside the purpose: 26 violations). Wall-clock times",
        "in ms from `bench/engines.py`, per decision (input serialisation, evaluation, validation).",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}, "
        f"{os.cpu_count()} cores shared with other work (load average {os.getloadavg()[0]:.1f} at the end):",
        "treat the numbers as upper bounds.",
        "",
        "| engine | input | runs | load (compile) | median | p95 | p99 | violations |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label, runs, load_ms, median, p95, p99, violations in rows:
        timings = f"{load_ms:.1f} | {median:.3f} | {p95:.3f} | {p99:.3f}"
        lines.append(f"| {name} | {label} | {runs} | {timings} | {violations} |")
    lines.append("")
    for name, label, _, _, median, p95, _, _ in rows:
        if name == "embedded":
            verdict = "met" if median < 1 else "NOT met"
            lines.append(f"- embedded, {label}: median {median:.3f} ms (target < 1 ms): {verdict}.")
        elif name.startswith("opa"):
            verdict = "met" if p95 < 10 else "NOT met"
            lines.append(f"- {name}, {label}: p95 {p95:.3f} ms (target < 10 ms): {verdict}.")
    if not any(row[0].startswith("opa-binary") for row in rows):
        lines.append("- No `opa` binary on PATH: a real OPA server was not measured.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
