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
    """A worker's life: build its Gate, then load the project and answer chunks of tasks until
    told to stop (``bytes`` is a pickled project, a list a chunk of tasks, None the end).

    The Gate (imports, the policy compile) is built before the project exists, so that it
    happens while dbt parses and compiles. Everything, imports included, happens inside a
    ``try``: a worker that cannot start answers every chunk with why, so no traceback reaches
    the user's terminal.
    """
    gate: Any = None
    evaluator: Any = None
    project_dir: Path | None = None
    broken = ""
    try:
        from kaitiaki.gate import Gate

        settings, mode, entry_point, project_dir = pickle.loads(setup)
        gate = Gate(settings, mode=mode, entry_point=entry_point)
    except Exception as error:
        broken = f"{type(error).__name__}: {error}"
    while (message := connection.recv()) is not None:
        if isinstance(message, bytes):
            evaluator, broken = _load(message, gate, project_dir, broken)
        else:
            connection.send(("cannot start", broken) if broken else _answer(evaluator, message))


def _load(project: bytes, gate: Any, project_dir: Path | None, broken: str) -> tuple[Any, str]:
    """The evaluator of a (new) project, or why there is none."""
    if broken:
        return None, broken
    try:
        from kaitiaki_dbt.evaluate import ModelEvaluator

        evaluator = ModelEvaluator(pickle.loads(project), gate, project_dir)
        gc.freeze()  # the project stays for the worker's life: keep it out of every collection
        return evaluator, ""
    except Exception as error:
        return None, f"{type(error).__name__}: {error}"


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
    names = [str(task.node.get("name")) for task in tasks]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


class Worker:
    """One worker process and the pipe it is asked through."""

    def __init__(self, context: Any, setup: bytes) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child, setup), daemon=True)
        self.process.start()
        child.close()

    def load(self, project: bytes) -> None:
        # a worker that stopped is found out by the first chunk it is asked
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, EOFError):
            self.connection.send(project)

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
    """Evaluator processes for one gate configuration, started before the project is known
    (``load`` gives it to them), so their start-up overlaps dbt's parse and compile."""

    def __init__(self, gate: Gate, project_dir: Path | None, workers: int) -> None:
        setup = pickle.dumps((gate.settings, gate.mode, gate.entry_point, project_dir))
        context = multiprocessing.get_context("spawn")
        self.workers: list[Worker] = []
        for _ in range(workers):
            self.workers.append(Worker(context, setup))
        self.busy: dict[Worker, list[Task]] = {}

    def load(self, project: DbtProject) -> None:
        """Give every worker the project its tasks belong to (before the first task)."""
        data = pickle.dumps(project)
        for worker in self.workers:
            worker.load(data)

    def idle(self) -> list[Worker]:
        """The workers free for a chunk."""
        return [w for w in self.workers if w not in self.busy]

    def send(self, worker: Worker, tasks: list[Task]) -> None:
        worker.ask(tasks)
        self.busy[worker] = tasks

    def answers(
        self, timeout: float | None = None, extra: Sequence[Any] = ()
    ) -> list[tuple[list[Task], list[ModelOutcome]]]:
        """The chunks answered once a busy worker (or one of ``extra``) is ready; a worker that
        failed raises WorkerFailed (or the user error it met)."""
        handles = [h for w in self.busy for h in (w.connection, w.process.sentinel)]
        ready = set(wait([*handles, *extra], timeout))
        done: list[tuple[list[Task], list[ModelOutcome]]] = []
        for worker in [w for w in self.busy if w.connection in ready or w.process.sentinel in ready]:
            tasks = self.busy.pop(worker)
            done.append((tasks, worker.answer(tasks)))
        return done

    def evaluate(self, tasks: list[Task]) -> list[ModelOutcome]:
        """Outcomes in the order of ``tasks``; chunks go to whichever worker is free."""
        size = max(1, len(tasks) // (len(self.workers) * 4))
        chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
        results: dict[int, list[ModelOutcome]] = {}
        pending = list(range(len(chunks)))[::-1]
        while pending or self.busy:
            for worker in self.idle():
                if pending:
                    self.send(worker, chunks[pending.pop()])
            for asked, outcomes in self.answers():
                results[next(i for i, c in enumerate(chunks) if c is asked)] = outcomes
        return [outcome for index in range(len(chunks)) for outcome in results[index]]

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
