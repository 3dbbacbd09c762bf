"""Worker processes for wide waves of models: the cold path of a large project on every core.

Each worker is a fresh interpreter (``spawn``: no state, threads or open warehouse connections
inherited from a process that may have run dbt), given the project once and building its own
Gate, so its own policy engine; tasks carry their parents' outcomes. Decisions made in a worker
reach the decision log from that worker (the log is safe for concurrent writers).

The pool is a pipe and a process per worker rather than ``ProcessPoolExecutor``: a worker that
dies is seen at once by its process sentinel (the executor could hang when a worker exited while
it was fed), and a worker that cannot start says why instead of printing a traceback. Either
fails the whole check closed with one paragraph: nothing is allowed.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import signal
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaitiaki.errors import KaitiakiError

if TYPE_CHECKING:
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.evaluate import ModelOutcome, Task
    from kaitiaki_dbt.manifest import DbtProject

WORKERS_ENV = "KAITIAKI_WORKERS"
MAX_WORKERS = 8
STOP_WAIT_S = 5.0
HINT = f"set {WORKERS_ENV}=1 to decide every model in kaitiaki's own process."


class WorkerFailed(KaitiakiError):
    """A worker process could not start or stopped before answering: the check fails closed."""


def available_workers() -> int:
    """``$KAITIAKI_WORKERS`` when set (1 turns workers off), else the cores this process may use."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured.isdigit():
        return max(1, int(configured))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_WORKERS, cores)


def _serve(connection: Connection, setup: bytes) -> None:
    """A worker's life: build the evaluator, then answer chunks of tasks until told to stop.

    Everything, imports included, happens inside the ``try``: a worker that cannot start
    answers every chunk with why, so no traceback reaches the user's terminal.
    """
    evaluator: Any = None
    try:
        from kaitiaki.gate import Gate
        from kaitiaki_dbt.evaluate import ModelEvaluator

        project, settings, mode, entry_point, project_dir = pickle.loads(setup)
        evaluator = ModelEvaluator(project, Gate(settings, mode=mode, entry_point=entry_point), project_dir)
        gc.freeze()  # the project stays for the worker's life: keep it out of every collection
        broken = ""
    except Exception as error:
        broken = f"{type(error).__name__}: {error}"
    while (tasks := connection.recv()) is not None:
        connection.send(("cannot start", broken) if broken else _answer(evaluator, tasks))


def _answer(evaluator: Any, tasks: list[Task]) -> tuple[str, object]:
    """The outcomes of a chunk, or the error that stopped it (a user error keeps its own text)."""
    try:
        return "ok", [evaluator.evaluate(task) for task in tasks]
    except KaitiakiError as error:
        return "user error", error if _picklable(error) else KaitiakiError(str(error))
    except Exception as error:
        return "error", f"{type(error).__name__}: {error}"


def _picklable(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def how_it_stopped(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def model_names(tasks: Sequence[Task]) -> str:
    names = [task.job.name for task in tasks]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


class Worker:
    """One worker process and the pipe it is asked through."""

    def __init__(self, context: Any, setup: bytes) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child, setup), daemon=True)
        self.process.start()
        child.close()

    def ask(self, tasks: list[Task]) -> None:
        try:
            self.connection.send(tasks)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self.process.join(STOP_WAIT_S)
            raise self.stopped(tasks) from None

    def answer(self, tasks: list[Task]) -> list[ModelOutcome]:
        """The reply to the chunk last asked (call once the pipe or the process is ready)."""
        reply: tuple[str, Any] = ("stopped", None)
        try:
            if self.connection.poll():
                reply = self.connection.recv()
        except (EOFError, ConnectionResetError, OSError):
            pass
        kind, value = reply
        if kind == "ok":
            outcomes: list[ModelOutcome] = value
            return outcomes
        if kind == "user error":
            raise value
        if kind == "cannot start":
            raise WorkerFailed(
                f"a worker process deciding dbt models could not start ({value}); nothing was allowed.",
                hint=HINT,
            )
        if kind == "error":
            raise WorkerFailed(
                f"a worker process failed while deciding models {model_names(tasks)} ({value}); "
                "nothing was allowed.",
                hint=HINT,
            )
        self.process.join(STOP_WAIT_S)
        raise self.stopped(tasks)

    def stopped(self, tasks: Sequence[Task]) -> WorkerFailed:
        how = how_it_stopped(self.process.exitcode)
        oom = " A worker killed by SIGKILL is often the out-of-memory killer." if "SIGKILL" in how else ""
        return WorkerFailed(
            f"a worker process deciding dbt models stopped ({how}) before it decided models "
            f"{model_names(tasks)}; nothing was allowed.",
            hint=HINT + oom,
        )

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.connection.send(None)
            self.process.join(STOP_WAIT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class WorkerPool:
    """Evaluator processes for one project and one gate configuration."""

    def __init__(self, project: DbtProject, gate: Gate, project_dir: Path | None, workers: int) -> None:
        setup = pickle.dumps((project, gate.settings, gate.mode, gate.entry_point, project_dir))
        context = multiprocessing.get_context("spawn")
        self.workers: list[Worker] = []
        for _ in range(workers):
            self.workers.append(Worker(context, setup))

    def evaluate(self, tasks: list[Task]) -> list[ModelOutcome]:
        """Outcomes in the order of ``tasks``; chunks go to whichever worker is free."""
        size = max(1, len(tasks) // (len(self.workers) * 4))
        chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
        results: list[list[ModelOutcome]] = [[] for _ in chunks]
        pending = list(range(len(chunks)))[::-1]
        busy: dict[Worker, int] = {}
        idle = list(self.workers)
        while pending or busy:
            while pending and idle:
                worker, index = idle.pop(), pending.pop()
                worker.ask(chunks[index])
                busy[worker] = index
            ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy]))
            for worker in [w for w in busy if w.connection in ready or w.process.sentinel in ready]:
                index = busy.pop(worker)
                results[index] = worker.answer(chunks[index])
                idle.append(worker)
        return [outcome for chunk in results for outcome in chunk]

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
