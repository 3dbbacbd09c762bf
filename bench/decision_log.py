"""Decision-log throughput: appends per second from one process and from 8 at once, and verify.

Every append is the real path an Airflow worker takes: open, exclusive ``flock``, read the last
hash, write one line, ``fsync``, close. Records are built from a realistic decision (one hard
violation, a 4-column input). Writes bench/results/decision_log.md.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kaitiaki.model import Decision, Job, SourceLocation, Violation
from kaitiaki.report.decision_log import DecisionLog, new_record, verify

RESULTS = Path(__file__).resolve().parent / "results" / "decision_log.md"
SINGLE_APPENDS = 2000
WRITERS = 8
APPENDS_PER_WRITER = 500

JOB = Job(
    id="airflow:benefits.load_health",
    kind="airflow_task",
    name="load_health",
    sql="select 1",
    source=SourceLocation(path="dags/benefit_health.py", line_offset=20),
    purpose="benefit-health-outcomes",
)
DECISION = Decision(
    allow=False,
    violations=(
        Violation(
            rule="PM-11",
            title="Another agency's unique identifier",
            guideline="Purpose Matters",
            principle="Kaitiakitanga",
            law="Privacy Act 2020 IPP13",
            level="hard",
            message="Join on nhi, an identifier issued by moh, without approved linking.",
            columns=("health_extract.nhi", "benefits.nhi"),
            line=5,
            remediation="Use an approved linking key.",
        ),
    ),
    policy_revision="sha256:" + "ab" * 32,
)


def policy_input() -> dict[str, Any]:
    columns = [
        {
            "table": "benefits",
            "column": c,
            "uses": ["select"],
            "transforms": ["none"],
            "outputs": [],
            "lines": [3],
        }
        for c in ("client_id", "benefit_type", "nhi", "region")
    ]
    return {
        "kaitiaki": {"version": "0.1.0", "mode": "enforce", "entry_point": "airflow", "labels": {}},
        "job": JOB.to_dict(),
        "columns": columns,
    }


def append_many(path: str, count: int, latencies: Any = None, start: Any = None) -> None:
    log = DecisionLog(path)
    document = policy_input()
    own: list[float] = []
    if start is not None:
        start.wait()
    for _ in range(count):
        started = time.perf_counter()
        log.append(new_record(JOB, document, DECISION))
        own.append(time.perf_counter() - started)
    if latencies is not None:
        latencies.put(own)


def single_process(folder: Path) -> tuple[float, list[float]]:
    path = folder / "single.jsonl"
    queue: Any = multiprocessing.get_context("spawn").SimpleQueue()
    started = time.perf_counter()
    append_many(str(path), SINGLE_APPENDS, queue)
    elapsed = time.perf_counter() - started
    return SINGLE_APPENDS / elapsed, queue.get()


def many_processes(folder: Path) -> tuple[float, list[float], Path]:
    path = folder / "eight.jsonl"
    context = multiprocessing.get_context("spawn")
    queue: Any = context.SimpleQueue()
    barrier = context.Barrier(WRITERS + 1)
    workers = [
        context.Process(target=append_many, args=(str(path), APPENDS_PER_WRITER, queue, barrier))
        for _ in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()  # every writer is imported and ready: spawn start-up is not append cost
    started = time.perf_counter()
    latencies: list[float] = []
    for _ in workers:
        latencies.extend(queue.get())
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if any(w.exitcode != 0 for w in workers):
        raise SystemExit("a writer process failed")
    return WRITERS * APPENDS_PER_WRITER / elapsed, latencies, path


def filesystem(path: str) -> str:
    """The filesystem type under ``path`` (fsync cost depends on it), from /proc/mounts."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "an unknown filesystem"
    best = max((m for m in mounts if path.startswith(m[1])), key=lambda m: len(m[1]), default=None)
    return f"{best[2]} ({best[1]})" if best else "an unknown filesystem"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    with tempfile.TemporaryDirectory(dir=os.environ.get("KAITIAKI_BENCH_DIR")) as tmp:
        folder = Path(tmp)
        folder_name = str(folder.resolve())
        single_rate, single_latency = single_process(folder)
        multi_rate, multi_latency, multi_path = many_processes(folder)
        started = time.perf_counter()
        result = verify(multi_path)
        verify_seconds = time.perf_counter() - started
        size = multi_path.stat().st_size
    if not result.ok or result.records != WRITERS * APPENDS_PER_WRITER:
        print(f"verify failed: {result.render_text()}", file=sys.stderr)
        return 1
    rows = [
        ("1 process", SINGLE_APPENDS, single_rate, single_latency),
        (f"{WRITERS} processes", WRITERS * APPENDS_PER_WRITER, multi_rate, multi_latency),
    ]
    lines = [
        "# Decision log: append and verify throughput",
        "",
        "Each append: open, exclusive flock, read last hash, write one line, fsync, close "
        f"(`bench/decision_log.py`; log in a temp dir on {filesystem(folder_name)}; {os.cpu_count()} cores).",
        "",
        "| writers | appends | appends/s | median ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name, count, rate, latency in rows:
        lines.append(
            f"| {name} | {count} | {rate:,.0f} | {statistics.median(latency) * 1000:.2f} "
            f"| {percentile(latency, 0.99) * 1000:.2f} |"
        )
    lines += [
        "",
        f"`verify` of the {result.records}-record log ({size / 1024:.0f} KiB, {size / result.records:.0f} "
        f"bytes/record): {verify_seconds * 1000:.0f} ms ({result.records / verify_seconds:,.0f} records/s); "
        "chain intact, nothing lost.",
        "",
        "Appends from several processes serialise on the lock, so the 8-process rate is bounded by "
        "fsync latency, not by the number of writers; per-append latency grows with waiting.",
    ]
    from measure import memory_line

    text = "\n".join([*lines, "", memory_line()]) + "\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
