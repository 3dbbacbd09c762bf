"""The OPA engine under load, on loopback only: 2,000 decisions at concurrency 16, then faults.

Sixteen threads share one ``OpaEngine`` (one HTTP session), as the threads of one worker
would, and ask the local OPA-API test server (``tests/support/opa_server.py``, in its own
process, listening on 127.0.0.1) for decisions on the worked examples E1–E5 in turn. Every
decision is compared with the embedded engine's for the same input: zero errors and zero
differences are expected. Then the same load meets a server that answers HTTP 500: every answer
must be a SYS-02 block through the gate, none an allow. Writes bench/results/opa_load.md.

``run_load`` is also what ``tests/reliability/test_opa_load.py`` runs, smaller and without timing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the OPA-API test server and the worked examples live in tests/

from kaitiaki.config import EngineSettings, Settings  # noqa: E402
from kaitiaki.model import Decision  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "opa_load.md"
DECISIONS = 2_000
CONCURRENCY = 16
FAULT_DECISIONS = 400
TIMEOUT_MS = 2_000  # the engine's default
DEFAULT_BACKLOG = 5  # socketserver's request_queue_size
WIDE_BACKLOG = 128
LOOPBACK = "http://127.0.0.1:"

Ask = Callable[[dict[str, Any]], Decision]


@dataclass(frozen=True)
class LoadResult:
    """What a run of ``decisions`` asks at ``concurrency`` gave: latencies, errors, differences."""

    decisions: int
    concurrency: int
    wall_s: float
    latencies_ms: list[float]
    errors: list[str]
    answers: list[Decision | None]

    def differing(self, expected: Sequence[Decision]) -> int:
        """Answers unlike the expected decision for their input (inputs taken in turn)."""
        return sum(
            1
            for i, answer in enumerate(self.answers)
            if answer is not None and answer != expected[i % len(expected)]
        )

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def one_decision(ask: Ask, document: dict[str, Any]) -> tuple[float, Decision | None, str | None]:
    started = time.perf_counter()
    try:
        answer: Decision | None = ask(document)
        error = None
    except Exception as exc:  # counted, never hidden: an error under load is the finding
        answer, error = None, f"{type(exc).__name__}: {exc}"
    return (time.perf_counter() - started) * 1000, answer, error


def run_load(ask: Ask, inputs: Sequence[dict[str, Any]], *, decisions: int, concurrency: int) -> LoadResult:
    """``decisions`` calls of ``ask`` from ``concurrency`` threads, the inputs taken in turn."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(lambda i: one_decision(ask, inputs[i % len(inputs)]), range(decisions)))
    wall_s = time.perf_counter() - started
    return LoadResult(
        decisions=decisions,
        concurrency=concurrency,
        wall_s=wall_s,
        latencies_ms=[latency for latency, _, _ in outcomes],
        errors=[error for _, _, error in outcomes if error is not None],
        answers=[answer for _, answer, _ in outcomes],
    )


def worked_inputs() -> list[dict[str, Any]]:
    from tests.policies.cases import worked_examples

    return [example["input"] for example in worked_examples()]


def opa_settings(url: str, *, timeout_ms: int = TIMEOUT_MS) -> Settings:
    from tests.policies.cases import ISSUERS

    if not url.startswith(LOOPBACK):
        raise ValueError(f"the load test runs on loopback only, not against {url}")
    return Settings(
        engine=EngineSettings(kind="opa", urls=(url,), timeout_ms=timeout_ms), identifier_issuers=ISSUERS
    )


def embedded_decisions(inputs: Sequence[dict[str, Any]]) -> list[Decision]:
    """What the embedded engine decides for each input: the answers every OPA decision must equal."""
    from kaitiaki.engine import load_engine
    from tests.policies.cases import ISSUERS

    engine = load_engine(Settings(identifier_issuers=ISSUERS))
    return [engine.evaluate(document) for document in inputs]


def build_test_bundle(path: Path) -> Path:
    from tests.policies.engines import bundle_for

    return bundle_for(path)


@contextmanager
def server_process(bundle: Path, *, status: int = 0, backlog: int = WIDE_BACKLOG) -> Iterator[str]:
    """The OPA-API test server in its own process on 127.0.0.1 (as OPA would be); yields its URL.

    ``backlog``: its listen queue. Python's ``socketserver`` default is 5; OPA's Go listener uses the
    system's ``somaxconn``. With 5, concurrent connects overflow the queue, the kernel drops the SYNs
    and clients wait out TCP's retransmission (1 s, 3 s, 7 s): that measures the test server.
    """
    command = [sys.executable, __file__, "--serve", str(bundle), str(status), str(backlog)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=30)


def serve(bundle: str, status: int, backlog: int) -> None:
    """Child mode: serve the bundle (answering ``status`` when not 0) until stdin closes."""
    from tests.support.opa_server import serve_bundle

    with serve_bundle(Path(bundle)) as server:
        server._http.socket.listen(backlog)  # a listening socket takes a new backlog at once
        server.faults.status = status or None
        print(server.url, flush=True)
        sys.stdin.read()


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listen queue was full (Linux)."""
    try:
        header, values = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()[:2]]
    except (OSError, ValueError):
        return None
    return int(dict(zip(header, values, strict=True)).get("ListenOverflows", 0))


@dataclass(frozen=True)
class Measured:
    label: str
    load: LoadResult
    differing: int
    overflows: int | None


def measure(label: str, ask: Ask, expected: Sequence[Decision], inputs: Sequence[dict[str, Any]]) -> Measured:
    before = listen_overflows()
    load = run_load(ask, inputs, decisions=DECISIONS, concurrency=CONCURRENCY)
    after = listen_overflows()
    overflows = after - before if after is not None and before is not None else None
    return Measured(label, load, load.differing(expected), overflows)


def row(measured: Measured) -> str:
    load = measured.load
    cells = [
        measured.label,
        str(load.decisions),
        str(load.concurrency),
        str(len(load.errors)),
        str(measured.differing),
        "n/a" if measured.overflows is None else str(measured.overflows),
        f"{load.decisions / load.wall_s:.0f}",
        *(f"{value:.1f}" for value in (statistics.median(load.latencies_ms), load.percentile(0.90))),
        *(f"{load.percentile(q):.1f}" for q in (0.95, 0.99)),
        f"{max(load.latencies_ms):.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


def report(runs: Sequence[Measured], faults: LoadResult, blocked: int, machine: str, memory: str) -> str:
    errors = sorted({error for run in runs for error in run.load.errors})
    return "\n".join(
        [
            "# The OPA engine under load (loopback)",
            "",
            f"`bench/opa_load.py`: {DECISIONS} decisions at concurrency {CONCURRENCY} — threads sharing one "
            "`OpaEngine` (one HTTP session), as the threads of one worker would — against the local OPA-API "
            "test server in its own process on 127.0.0.1, inputs E1–E5 in turn, each decision compared with "
            f"the embedded engine's; timeout {TIMEOUT_MS} ms (the default). {machine}.",
            "",
            "| server listen queue | decisions | concurrency | errors | differing decisions | SYNs dropped "
            "| decisions/s | median ms | p90 ms | p95 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *(row(run) for run in runs),
            "",
            "The headline is the first row. Latency is per decision as the caller sees it, queueing "
            "included: the test server answers one request at a time (regorus on its serving thread) and "
            "closes each connection (HTTP/1.0), so at concurrency 16 a decision mostly waits its turn; a "
            "real OPA evaluates concurrently and keeps connections alive. With Python's default listen "
            "queue of 5 (second row) concurrent connects overflow it, the kernel drops the SYNs "
            "(`ListenOverflows` in /proc/net/netstat) and clients wait out TCP's retransmission — the 1 s "
            "and 3 s steps in the tail — and an unlucky connect exceeds the timeout: an error, which the "
            "gate turns into a SYS-02 block. That measures the test server; OPA's Go listener uses the "
            "system's `somaxconn`.",
            *(["", f"Errors seen: {'; '.join(e.rstrip('.') for e in errors)[:400]}."] if errors else []),
            "",
            f"Faults under the same load: {faults.decisions} decisions at concurrency {faults.concurrency} "
            f"through the gate against a server answering HTTP 500 — **{blocked} blocked by SYS-02, "
            f"{faults.decisions - blocked} allowed**, {len(faults.errors)} errors raised to the caller, "
            f"median {statistics.median(faults.latencies_ms):.1f} ms.",
            "",
            memory,
            "",
        ]
    )


def main() -> int:
    import tempfile

    sys.path.insert(0, str(ROOT / "bench"))
    from measure import load_average, memory_line  # type: ignore[import-not-found]

    from kaitiaki.engine import load_engine
    from kaitiaki.gate import Gate

    inputs = worked_inputs()
    expected = embedded_decisions(inputs)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        bundle = build_test_bundle(Path(tmp) / "bundle.tar.gz")
        for backlog in (WIDE_BACKLOG, DEFAULT_BACKLOG):
            with server_process(bundle, backlog=backlog) as url:
                engine = load_engine(opa_settings(url))
                runs.append(measure(str(backlog), engine.evaluate, expected, inputs))
        with server_process(bundle, status=500) as url:
            gate = Gate(opa_settings(url))
            faults = run_load(gate.evaluate, inputs, decisions=FAULT_DECISIONS, concurrency=CONCURRENCY)
    blocked = sum(
        1 for a in faults.answers if a is not None and not a.allow and a.violations[-1].rule == "SYS-02"
    )
    RESULTS.write_text(report(runs, faults, blocked, load_average(), memory_line()))
    print(RESULTS.read_text())
    headline = runs[0]
    return 0 if not headline.load.errors and not headline.differing and blocked == FAULT_DECISIONS else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(main())
