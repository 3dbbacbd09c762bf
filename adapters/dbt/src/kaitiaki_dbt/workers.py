"""Worker processes for wide waves of models: the cold path of a large project on every core.

Each worker is a fresh interpreter (``spawn``: no state, threads or open warehouse connections
inherited from a process that may have run dbt), given the project once and building its own
Gate, so its own policy engine; tasks carry their parents' outcomes. Decisions made in a worker
reach the decision log from that worker (the log is safe for concurrent writers).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from kaitiaki.config import Settings
from kaitiaki.gate import Gate
from kaitiaki_dbt.evaluate import ModelEvaluator, ModelOutcome, Task
from kaitiaki_dbt.manifest import DbtProject

WORKERS_ENV = "KAITIAKI_WORKERS"
MAX_WORKERS = 8

_evaluator: ModelEvaluator | None = None


def available_workers() -> int:
    """``$KAITIAKI_WORKERS`` when set (1 turns workers off), else the cores this process may use."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured.isdigit():
        return max(1, int(configured))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_WORKERS, cores)


def _start(
    project: DbtProject, settings: Settings, mode: str, entry_point: str, project_dir: Path | None
) -> None:
    global _evaluator
    _evaluator = ModelEvaluator(project, Gate(settings, mode=mode, entry_point=entry_point), project_dir)
    gc.freeze()  # the project stays for the worker's life: keep it out of every collection


def _evaluate(task: Task) -> ModelOutcome:
    if _evaluator is None:
        raise RuntimeError("worker used before it was started")
    return _evaluator.evaluate(task)


class WorkerPool:
    """A pool of evaluator processes for one project and one gate configuration."""

    def __init__(self, project: DbtProject, gate: Gate, project_dir: Path | None, workers: int) -> None:
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(project, gate.settings, gate.mode, gate.entry_point, project_dir),
        )

    def evaluate(self, tasks: list[Task]) -> list[ModelOutcome]:
        chunk = max(1, len(tasks) // (self.workers * 4))
        return list(self.executor.map(_evaluate, tasks, chunksize=chunk))

    def close(self) -> None:
        self.executor.shutdown(cancel_futures=True)
