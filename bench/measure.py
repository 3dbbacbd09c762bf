"""Shared measurement helpers for the benchmarks: peak memory, measured subprocesses, machine load.

Peak memory is the RSS high-water mark the kernel keeps. ``peak_memory`` reads it with
``getrusage`` (``ru_maxrss``) for this process (exact) and for its largest descendant so far (an
upper bound: Linux starts a child's high-water mark at the resident memory of the process that
spawned it, so a child never reads below its parent's size at spawn time). ``run_measured``
therefore samples each process of a tree from /proc instead: the largest ``VmHWM`` (per-process
high-water mark, which starts afresh at exec) and the highest sum of ``VmRSS`` over the live
processes (shared pages counted once per process: an upper bound for the tree).

Every benchmark appends ``memory_line()`` to its results file; ``bench/summary.py`` reads the
line back with ``parse_memory_line`` (one module owns the format).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

KIB_PER_MIB = 1024
SAMPLE_INTERVAL_S = 0.05
MEMORY_LINE = re.compile(
    r"Peak memory \(RSS high-water mark\): this process \*\*(?P<self>[\d.]+) MiB\*\*, "
    r"largest child process \*\*(?P<children>[\d.]+) MiB\*\*"
)


@dataclass(frozen=True)
class PeakMemory:
    """RSS high-water marks in MiB: this process, and its largest waited-for descendant."""

    self_mib: float
    children_mib: float

    @property
    def largest_mib(self) -> float:
        return max(self.self_mib, self.children_mib)


def peak_memory() -> PeakMemory:
    """This process's peak RSS and that of its largest descendant so far (``ru_maxrss`` is KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return PeakMemory(own / KIB_PER_MIB, children / KIB_PER_MIB)


def memory_line(peak: PeakMemory | None = None) -> str:
    """The one Markdown line every benchmark writes beside its figures."""
    peak = peak or peak_memory()
    return (
        f"Peak memory (RSS high-water mark): this process **{peak.self_mib:.0f} MiB**, "
        f"largest child process **{peak.children_mib:.0f} MiB** (`getrusage` `ru_maxrss`; a child's "
        "figure includes its parent's size at spawn)."
    )


def parse_memory_line(text: str) -> PeakMemory | None:
    """The figures of ``memory_line`` found in a results file, or None when it has none."""
    found = MEMORY_LINE.search(text)
    if found is None:
        return None
    return PeakMemory(float(found["self"]), float(found["children"]))


def load_average() -> str:
    """The machine's load, said with its core count: figures on a shared machine need both."""
    one, five, fifteen = os.getloadavg()
    return (
        f"{os.cpu_count()} cores shared with other work; load average {one:.1f} (1 min), "
        f"{five:.1f} (5 min), {fifteen:.1f} (15 min)"
    )


# --- one measured subprocess -------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One finished process: its outcome, times and memory."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # user + system of the process and every descendant it waited for
    peak_rss_mib: float  # the largest VmHWM sampled among the process and its descendants
    tree_peak_mib: float  # the highest sampled sum of VmRSS over the process and its live descendants


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it, from /proc (children listed per thread)."""
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
            except OSError:
                continue
            stack.extend(int(child) for child in text.split())
    return found


def resident_and_high_water_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of one process now, in MiB; zeros when it has gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0, 0.0
    fields = {line.split(":")[0]: line.split()[1] for line in lines if line.startswith(("VmRSS", "VmHWM"))}
    return int(fields.get("VmRSS", 0)) / KIB_PER_MIB, int(fields.get("VmHWM", 0)) / KIB_PER_MIB


class TreeSampler:
    """Samples a process tree on a thread until stopped: the largest VmHWM and the largest RSS sum."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.largest_mib = 0.0
        self.tree_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            figures = [resident_and_high_water_mib(p) for p in descendants(self.pid)]
            self.tree_mib = max(self.tree_mib, sum(rss for rss, _ in figures))
            self.largest_mib = max([self.largest_mib, *(hwm for _, hwm in figures)])
            self._stop.wait(self.interval_s)


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = True,
) -> Measured:
    """Run ``command`` to completion and measure it: wall and CPU seconds, peak memory.

    The process is reaped with ``os.wait4``, whose CPU times cover exactly this process and the
    descendants it waited for (``RUSAGE_CHILDREN`` would accumulate over every child of the
    caller); memory is sampled every 50 ms (``TreeSampler``). Output goes to temporary files, so a
    large report cannot fill a pipe.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=out if capture else None,
            stderr=err if capture else None,
        )
        with TreeSampler(process.pid) as sampler:
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return Measured(
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=sampler.largest_mib,
        tree_peak_mib=sampler.tree_mib,
    )
