"""Decision latency per policy engine, for a 50-column policy input (not a test).

Engines: embedded (regorus, in-process), regopy (rego-cpp, in-process), opa-local (the OPA engine
over loopback HTTP to the OPA-API test server, run in its own process as an OPA server would be)
and opa-binary (the real `opa` server that `make opa` builds, or one on PATH); regorus-rvm is
regorus's compiled VM, measured for comparison only. Targets: embedded < 1 ms median; OPA over
loopback < 10 ms p95.

Per decision it records wall-clock time and the CPU time of the deciding thread (on a shared
machine the wall clock includes waiting for a core; the CPU time does not). It also splits the OPA
path into the bare HTTP round trip (http.client) and what the client library adds, and times what
one process pays to load an engine from cold. With --instructions (needs valgrind) it counts the
instructions of one embedded decision, which no other load on the machine changes.

Old vs new policies: the embedded engine also decides the same inputs with the policy tree of an
older revision (--old, default the last main commit before issue #18's meaning work; extracted
with ``git archive``), in alternating rounds so that the machine's load hits both alike, and with
--instructions both trees' instructions are counted. --embedded-only measures just that (no other
engine, no cold processes): about a minute, or two with --instructions.

The tables replace the parts of bench/results/engines.md between the bench markers; the analysis
around them is kept.

    .venv/bin/python bench/engines.py [--runs N] [--instructions] [--old REV] [--embedded-only]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the OPA-API test server lives in tests/support

from kaitiaki.config import EngineSettings, Settings  # noqa: E402
from kaitiaki.engine import Engine, load_engine  # noqa: E402
from kaitiaki.engine.governance import build_bundle  # noqa: E402
from kaitiaki.engine.sources import bundled_policies_dir  # noqa: E402
from kaitiaki.plugins import get_plugin_manager  # noqa: E402
from tests.support.real_opa import opa_executable  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "engines.md"
BEGIN, END = "<!-- bench/engines.py: begin -->", "<!-- bench/engines.py: end -->"
OLD_BEGIN, OLD_END = (
    "<!-- bench/engines.py old vs new: begin -->",
    "<!-- bench/engines.py old vs new: end -->",
)
# The last main commit with the DPUP policies before issue #18 (same analysis facts as today).
OLD = "446e8bd"
OLD_ROUNDS = 10
ISSUERS = {"nhi": "moh", "ird": "ird", "nsn": "moe", "msd_client": "msd"}
CATEGORY_CYCLE: tuple[list[str], ...] = (
    ["unique_identifier:nhi"],
    ["direct_identifier"],
    ["quasi_identifier"],
    ["sensitive:ethnicity"],
    ["sensitive:health"],
    [],
    [],
    [],
)
# rego-cpp takes about a hundred milliseconds per decision on this library: fewer runs.
RUNS_FOR = {"regopy": 20}
COLD_RUNS = 3
INSTRUCTION_DECISIONS = 20


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


def inputs() -> dict[str, dict[str, Any]]:
    return {"allowed": fifty_column_input(allowed=True), "denied": fifty_column_input(allowed=False)}


def settings(kind: str, urls: tuple[str, ...] = (), tree: Path | None = None) -> Settings:
    """The bench's kaitiaki.yaml settings; ``tree`` replaces the bundled policies (an old revision's)."""
    base = Settings(engine=EngineSettings(kind=kind, urls=urls, timeout_ms=5000), identifier_issuers=ISSUERS)
    return base if tree is None else replace(base, policies=(tree,))


def old_tree(rev: str, into: Path) -> Path:
    """The policies/ folder of ``rev``, extracted from git."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "policies"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "policies"


@dataclass(frozen=True)
class Row:
    """One engine and input: load time and per-decision wall-clock and CPU times, in ms."""

    engine: str
    label: str
    runs: int
    load_ms: float
    wall: list[float]
    cpu: list[float]
    violations: int
    same_as_embedded: bool = True


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(call: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and thread CPU milliseconds of ``runs`` calls, after a warm-up."""
    for _ in range(min(20, runs)):
        call()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        call()
        cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
        wall.append((time.perf_counter_ns() - started) / 1e6)
    return wall, cpu


# The embedded engine's decision per input (measured first): every other engine is compared to it.
REFERENCE: dict[str, object] = {}


def measure(name: str, make: Callable[[], Engine], runs: int) -> list[Row]:
    started = time.perf_counter()
    engine = make()
    load_ms = (time.perf_counter() - started) * 1000
    rows = []
    for label, document in inputs().items():
        wall, cpu = timed(partial(engine.evaluate, document), runs)
        decision = engine.evaluate(document)
        same = REFERENCE.setdefault(label, decision) == decision
        rows.append(Row(name, label, runs, load_ms, wall, cpu, len(decision.violations), same))
        print(
            f"{name} {label}: median {statistics.median(wall):.3f} ms wall, "
            f"{statistics.median(cpu):.3f} ms CPU",
            flush=True,
        )
    return rows


def raw_http(server: str, url: str, runs: int) -> list[Row]:
    """The same decisions as the OPA engine asks for, over a bare http.client connection: the
    round trip the server and the network cost, without the client library."""
    parts = urlsplit(url)
    rows = []
    for label, document in inputs().items():
        body = json.dumps({"input": document})

        def ask(body: str = body) -> object:
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
            connection.request(
                "POST", "/v1/data/kaitiaki/main/decision", body, {"Content-Type": "application/json"}
            )
            answer = json.loads(connection.getresponse().read())
            connection.close()
            return answer

        wall, cpu = timed(ask, runs)
        rows.append(Row(f"{server}: bare HTTP round trip (http.client)", label, runs, 0.0, wall, cpu, 0))
    return rows


@contextmanager
def server_process(bundle: Path) -> Iterator[str]:
    """The OPA-API test server in its own process (as OPA would be); yields its URL."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(bundle)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=10)


def serve(bundle: str) -> None:
    """Child mode: serve the bundle until the parent closes our stdin."""
    from tests.support.opa_server import serve_bundle

    with serve_bundle(Path(bundle)) as server:
        print(server.url, flush=True)
        sys.stdin.read()


# What one fresh process pays, step by step (run with -c: this module imports kaitiaki itself).
COLD_PROCESS = """
import json, sys, time
stamps = [time.perf_counter()]
from kaitiaki.config import EngineSettings, Settings
from kaitiaki.engine import load_engine
stamps.append(time.perf_counter())
from kaitiaki.plugins import get_plugin_manager
get_plugin_manager()
stamps.append(time.perf_counter())
settings = Settings(engine=EngineSettings(kind="embedded"), identifier_issuers=json.loads(sys.argv[1]))
engine = load_engine(settings)
stamps.append(time.perf_counter())
engine.evaluate(json.loads(sys.argv[2]))
stamps.append(time.perf_counter())
steps = ("imports", "plugin manager", "engine load", "first decision")
print(json.dumps({step: (b - a) * 1000 for step, a, b in zip(steps, stamps, stamps[1:])}))
"""


def cold_loads() -> dict[str, float]:
    """Median per step over a few fresh processes (the bench itself already imported everything)."""
    runs = []
    arguments = [json.dumps(ISSUERS), json.dumps(fifty_column_input(allowed=True))]
    for _ in range(COLD_RUNS):
        out = subprocess.run(
            [sys.executable, "-c", COLD_PROCESS, *arguments], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {step: statistics.median(run[step] for run in runs) for step in runs[0]}


def count_decisions(decisions: int, tree: Path | None) -> None:
    """Child mode, under callgrind: ``decisions`` embedded decisions per input between markers
    (a getppid call makes callgrind dump its counters)."""
    engine = load_engine(settings("embedded", tree=tree))
    for document in inputs().values():
        engine.evaluate(document)
        os.getppid()
        for _ in range(decisions):
            engine.evaluate(document)
        os.getppid()


def instructions_per_decision(tree: Path | None = None) -> dict[str, float]:
    """Instructions per embedded decision (regorus and the Python around it), from callgrind;
    ``tree``: another policy tree than the bundled one."""
    command = [sys.executable, __file__, "--count-decisions", str(INSTRUCTION_DECISIONS)]
    totals = callgrind_counts(
        [*command, *(["--tree", str(tree)] if tree is not None else [])],
        {**os.environ, "PYTHONHASHSEED": "0"},
    )
    # parts alternate: before a marker (setup), then the decisions between two markers
    return {label: totals[2 * i + 1] / INSTRUCTION_DECISIONS for i, label in enumerate(inputs())}


def callgrind_counts(command: list[str], environment: dict[str, str]) -> list[int]:
    """The instructions of each part of ``command``'s run under callgrind, the parts split at every
    getppid call (the children mark what they measure with one: callgrind dumps its counters there)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = ["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}"]
        done = subprocess.run([*run, *command], capture_output=True, text=True, env=environment, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the count failed:\n{done.stderr[-3000:]}")
        parts = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
        return [callgrind_total(p.read_text()) for p in parts]


def callgrind_total(dump: str) -> int:
    found = re.search(r"^(?:summary|totals): (\d+)", dump, re.MULTILINE)
    if found is None:
        raise ValueError("a callgrind dump without totals")
    return int(found.group(1))


class RvmProbe:
    """regorus's compiled VM (``regorus.Program`` + ``regorus.Rvm``) deciding the same policies and
    data as the embedded engine, measured only: kaitiaki does not use it, because a builtin that
    fails inside a rule (``to_number("x")``, a division by zero) makes that rule's body undefined
    there, silently dropping the violation, where the interpreter raises (a block)."""

    kind = "regorus-rvm"

    def __init__(self) -> None:
        import regorus

        from kaitiaki.engine import engine_data, policy_set
        from kaitiaki.engine.base import compute_revision, with_revision

        policies = policy_set(())
        modules = policies.modules()
        data = engine_data(policies, settings("embedded"))
        document = json.dumps(with_revision(data, compute_revision(modules, data)))
        program = regorus.Program.compile_from_modules(document, modules, ["data.kaitiaki.main.decision"])
        self.vm = regorus.Rvm()
        self.vm.load_program(program)
        self.vm.set_data_json(document)
        self.revision = ""

    def load(self, policies: list[tuple[str, str]], data: dict[str, Any]) -> None:
        """Compiled in __init__."""

    def evaluate(self, input: dict[str, Any]) -> Any:
        from kaitiaki.engine.base import decision_from_raw, input_json

        self.vm.set_input_json(input_json(input, self.kind))
        return decision_from_raw(json.loads(self.vm.execute()), engine=self.kind)


def engines(stack: ExitStack, bundle: Path) -> Iterator[tuple[str, Callable[[], Engine], str | None]]:
    """(name, factory, URL of the server for the OPA engines)."""
    yield "embedded", lambda: load_engine(settings("embedded")), None
    yield "regorus-rvm (measured, not used)", RvmProbe, None
    yield "regopy", lambda: load_engine(settings("regopy")), None
    url = stack.enter_context(server_process(bundle))
    yield "opa-local (loopback HTTP)", lambda: load_engine(settings("opa", (url,))), url
    if opa_executable():
        from tests.support.real_opa import opa_binary

        binary = stack.enter_context(opa_binary(bundle))
        yield "opa-binary (loopback HTTP)", lambda: load_engine(settings("opa", (binary,))), binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="decisions per engine and input")
    parser.add_argument("--instructions", action="store_true", help="count instructions (needs valgrind)")
    parser.add_argument("--old", default=OLD, help="git revision of the old policies (default %(default)s)")
    parser.add_argument(
        "--embedded-only", action="store_true", help="only the embedded engine, old vs new policies"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--count-decisions", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    elif args.count_decisions:
        count_decisions(args.count_decisions, args.tree)
    else:
        run(args.runs, instructions=args.instructions, old=args.old, embedded_only=args.embedded_only)


def run(runs: int, *, instructions: bool, old: str, embedded_only: bool) -> None:
    counting = instructions and shutil.which("valgrind") is not None
    with tempfile.TemporaryDirectory() as tmp:
        tree = old_tree(old, Path(tmp))
        compared = old_vs_new(tree, runs, counting)
        block = render_old_vs_new(old, compared)
        print(block)
        write_results(block, OLD_BEGIN, OLD_END)
    if not embedded_only:
        run_engines(runs, instructions=counting)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


@dataclass(frozen=True)
class Compared:
    """The embedded engine with the old and the new policies: CPU ms samples and instructions."""

    cpu: dict[tuple[str, str], list[float]]
    wall: dict[tuple[str, str], list[float]]
    instructions: dict[str, dict[str, float]]
    same_allow: dict[str, bool]
    loads: tuple[tuple[float, float, float], tuple[float, float, float]]


def old_vs_new(tree: Path, runs: int, instructions: bool) -> Compared:
    """Both trees decide both inputs in alternating rounds (the machine's load hits both alike)."""
    load_at_start = os.getloadavg()
    engines = {"old": load_engine(settings("embedded", tree=tree)), "new": load_engine(settings("embedded"))}
    cpu: dict[tuple[str, str], list[float]] = {}
    wall: dict[tuple[str, str], list[float]] = {}
    per_round = max(1, runs // OLD_ROUNDS)
    for round_ in range(OLD_ROUNDS):
        order = list(engines.items())[:: 1 if round_ % 2 == 0 else -1]  # neither always goes first
        for label, document in inputs().items():
            for name, engine in order:
                w, c = timed(partial(engine.evaluate, document), per_round)
                wall.setdefault((name, label), []).extend(w)
                cpu.setdefault((name, label), []).extend(c)
    same = {
        label: engines["old"].evaluate(document).allow == engines["new"].evaluate(document).allow
        for label, document in inputs().items()
    }
    counted = {}
    if instructions:  # one callgrind process per tree, side by side (one core each)
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = pool.map(instructions_per_decision, (tree, None))
            counted = dict(zip(("old", "new"), counts, strict=True))
    return Compared(cpu, wall, counted, same, (load_at_start, os.getloadavg()))


def render_old_vs_new(rev: str, compared: Compared) -> str:
    (start, *_), (end, *_) = compared.loads
    lines = [
        OLD_BEGIN,
        f"Embedded engine, old policies (`policies/` at {rev}) vs the checkout's, measured "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {OLD_ROUNDS} alternating rounds; 1-minute load average "
        f"{start:.1f} at the start and {end:.1f} at the end. Per decision: instructions (callgrind, "
        "load-independent, the whole `evaluate`), median CPU and wall ms.",
        "",
        "| input | instructions old | instructions new | new / old | CPU old | CPU new | new / old "
        "| wall old | wall new | same allow |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label in inputs():
        counts = [compared.instructions.get(tree, {}).get(label) for tree in ("old", "new")]
        old_n, new_n = counts
        shown = [f"{n / 1e6:.2f} M" if n else "not counted" for n in counts]
        ratio = f"{new_n / old_n:.3f}" if old_n and new_n else "—"
        cpu_old, cpu_new = (statistics.median(compared.cpu[(tree, label)]) for tree in ("old", "new"))
        wall_old, wall_new = (statistics.median(compared.wall[(tree, label)]) for tree in ("old", "new"))
        lines.append(
            f"| {label} | {shown[0]} | {shown[1]} | {ratio} | {cpu_old:.3f} | {cpu_new:.3f} "
            f"| {cpu_new / cpu_old:.3f} | {wall_old:.3f} | {wall_new:.3f} "
            f"| {'yes' if compared.same_allow[label] else 'NO'} |"
        )
    lines.append(OLD_END)
    return "\n".join(lines) + "\n"


def opa_evaluator(bundle: Path) -> dict[str, float]:
    """OPA's own evaluator without HTTP: ``opa bench`` on the same bundle and inputs, ms per
    decision as OPA times it (Go; its garbage collector may run on another core). An undefined
    decision fails the run (opa bench's --fail, the default)."""
    executable = opa_executable()
    if executable is None:
        return {}
    timed: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, document in inputs().items():
            path = Path(tmp) / f"{label}.json"
            path.write_text(json.dumps(document))
            command = [executable, "bench", "--bundle", str(bundle), "--input", str(path)]
            out = subprocess.run(
                [*command, "--format", "json", "data.kaitiaki.main.decision"],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout)
            timed[label] = result["T"] / result["N"] / 1e6
    return timed


def run_engines(runs: int, *, instructions: bool) -> None:
    load_at_start = os.getloadavg()
    get_plugin_manager()  # paid by every Gate anyway: the load column is the engine's own cost
    rows: list[Row] = []
    split: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        bundle = build_bundle(
            [bundled_policies_dir()], Path(tmp) / "bundle.tar.gz", settings=settings("embedded")
        )
        for name, make, url in engines(stack, bundle):
            rows += measure(name, make, RUNS_FOR.get(name.split()[0], runs))
            if url is not None:
                split += raw_http(name.split()[0], url, runs)
        go = opa_evaluator(bundle)
    cold = cold_loads()
    counted = instructions_per_decision() if instructions else {}
    block = render(rows, split, go, cold, counted, (load_at_start, os.getloadavg()))
    print(block)
    write_results(block, BEGIN, END)


def render(
    rows: list[Row],
    split: list[Row],
    go: dict[str, float],
    cold: dict[str, float],
    counted: dict[str, float],
    loads: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> str:
    (start, *_), (end, *_) = loads
    lines = [
        BEGIN,
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, "
        f"Python {platform.python_version()}, "
        f"{os.cpu_count()} cores shared with other work; 1-minute load average {start:.1f} at the start and "
        f"{end:.1f} at the end. Wall-clock times in ms per decision (input checks, serialisation, "
        "evaluation, validation); load = building the engine in a process whose plugins are loaded.",
        "",
        "| engine | input | runs | load (compile) | median | p95 | p99 | violations | same as embedded |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.engine} | {row.label} | {row.runs} | {row.load_ms:.1f} "
            f"| {statistics.median(row.wall):.3f} | {percentile(row.wall, 0.95):.3f} "
            f"| {percentile(row.wall, 0.99):.3f} | {row.violations} "
            f"| {'yes' if row.same_as_embedded else 'NO'} |"
        )
    lines += ["", "CPU time of the deciding thread (ms per decision; no waiting for a core):", ""]
    lines += ["| engine / path | input | median CPU | p95 CPU | median wall |", "|---|---|---:|---:|---:|"]
    for row in [*rows, *split]:
        lines.append(
            f"| {row.engine} | {row.label} | {statistics.median(row.cpu):.3f} "
            f"| {percentile(row.cpu, 0.95):.3f} | {statistics.median(row.wall):.3f} |"
        )
    if go:
        lines += [
            "",
            "OPA's own evaluator, without HTTP (`opa bench` on the same bundle, ms per decision as OPA "
            "times it): " + ", ".join(f"{label} {ms:.3f}" for label, ms in go.items()) + ".",
        ]
    lines += [
        "",
        "One fresh process, embedded engine (median of "
        f"{COLD_RUNS} processes, ms): " + ", ".join(f"{k} {v:.0f}" for k, v in cold.items()) + ".",
    ]
    if counted:
        lines += [
            "",
            "Instructions per embedded decision (callgrind, load-independent): "
            + ", ".join(f"{label} {n / 1e6:.1f} M" for label, n in counted.items())
            + ".",
        ]
    from measure import memory_line

    lines += ["", *verdicts(rows), "", memory_line(), END]
    return "\n".join(lines) + "\n"


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    for row in rows:
        if row.engine == "embedded":
            median = statistics.median(row.wall)
            out.append(
                f"- embedded, {row.label}: median {median:.3f} ms (target < 1 ms): "
                f"{'met' if median < 1 else 'NOT met'}."
            )
        elif row.engine.startswith("opa"):
            p95 = percentile(row.wall, 0.95)
            out.append(
                f"- {row.engine}, {row.label}: p95 {p95:.3f} ms (target < 10 ms): "
                f"{'met' if p95 < 10 else 'NOT met'}."
            )
    if not any(row.engine.startswith("opa-binary") for row in rows):
        out.append("- No `opa` binary (make opa): a real OPA server was not measured.")
    return out


def write_results(block: str, begin: str, end: str) -> None:
    """Replace one measured block of engines.md, keeping the analysis around it."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Policy engine decision latency\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
