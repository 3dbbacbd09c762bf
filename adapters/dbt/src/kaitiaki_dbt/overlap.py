"""Deciding nodes while dbt compiles them: the cold check on a second core.

dbt compiles in one process, essentially on one core. So that the check costs little more than
the compile, the worker processes are started before dbt parses (their imports and policy
compile overlap dbt's), given the project as dbt parsed it, and each node is sent to a worker as
soon as dbt has compiled it and its parents' outcomes are known: the order the waves keep
(checker.py) holds, because a node's task carries its parents' outcomes. While dbt compiles,
one worker fewer than there are cores decides, so dbt keeps a core; once it has compiled, all.

A thread of this process schedules: dbt's compile calls ``compiled`` (from hooks.py's wrapper
of ``Compiler.compile_node``) with each node it compiled; the thread sends ready nodes to idle
workers and records their outcomes in the checker. ``finish`` waits for what was sent, then
the checker's ``adopt`` keeps an outcome only where the compiled project is exactly what it
was reached from, and its waves decide everything else (hooks, unit tests, nodes dbt did not
compile). Any failure (a worker that died, an error here or in the callback) fails the check
closed with one message: nothing is allowed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from multiprocessing.connection import wait
from queue import Empty, SimpleQueue
from typing import Any

from kaitiaki.errors import KaitiakiError
from kaitiaki_dbt.checker import COMPILED_KEYS, Early, ProjectChecker
from kaitiaki_dbt.evaluate import ModelOutcome, Task
from kaitiaki_dbt.manifest import Node, parents
from kaitiaki_dbt.workers import HINT, WorkerPool

# Nodes dbt's compile renders SQL for; the others (hooks, unit tests) are decided after it.
EARLY_TYPES = frozenset(("model", "snapshot", "seed", "test"))
MAX_CHUNK = 16


class OverlapFailed(KaitiakiError):
    """Deciding while dbt compiled went wrong: the check fails closed."""


def compiled_fields(node: Any) -> dict[str, Any]:
    """What dbt's compile added to a node object, as manifest.json's dict has it: dbt leaves the
    compiled keys out of a node that is not compiled, and a seed has none of them."""
    if "compiled" not in getattr(node, "__dataclass_fields__", {}):
        return {}
    fields = {key: getattr(node, key) for key in sorted(COMPILED_KEYS)}
    if fields["compiled"] is False:
        return {"compiled_path": fields["compiled_path"]}
    fields["extra_ctes"] = [cte.to_dict() for cte in fields["extra_ctes"]]
    return fields


class CompileOverlap:
    """Schedules the checker's nodes on the pool while dbt compiles (see the module doc)."""

    def __init__(self, checker: ProjectChecker, workers: int, selected: Iterable[str]) -> None:
        self.checker = checker
        self.workers = workers  # the pool's size, when it is started here (checker.pool is None)
        self.chosen, order = checker.plan(selected)
        planned = set(order)
        graph = checker.nodes
        self.waiting = {
            uid: {p for p in parents(graph[uid]) if p in planned}
            for uid in order
            if graph[uid].get("resource_type") in EARLY_TYPES
        }
        self.children: dict[str, list[str]] = {}
        for uid, waits in self.waiting.items():
            for parent in waits:
                self.children.setdefault(parent, []).append(uid)
        self.nodes: dict[str, Node] = {}
        self.ready: list[str] = []
        self.queued: list[Task] = []
        self.keys: dict[str, str] = {}
        self.sent: dict[int, float] = {}
        self.inbox: SimpleQueue[tuple[str, dict[str, Any]]] = SimpleQueue()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        self.finishing = False
        self.abandoned = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run, name="kaitiaki-overlap", daemon=True)

    def start(self) -> CompileOverlap:
        self.thread.start()
        return self

    def compiled(self, node: Any) -> None:
        """Called by dbt's compile (any of its threads) with each node it compiled. An error here
        must not reach dbt (it would take it for the node's): it fails the check in ``finish``."""
        try:
            uid = str(node.unique_id)
            if uid in self.waiting:
                self.inbox.put((uid, compiled_fields(node)))
                self.wake()
        except Exception as error:
            self.failed(error)

    def failed(self, error: BaseException) -> None:
        """The callback itself failed: the check must not go on as if every node was seen."""
        self.error = self.error or error
        self.wake()

    def finish(self) -> None:
        """dbt has compiled: this process decides beside the workers until every node that can
        be is decided; raise what went wrong."""
        self.finishing = True
        self.wake()
        self.thread.join()
        self.close()
        if self.error is not None:
            if isinstance(self.error, KaitiakiError):
                raise self.error
            raise OverlapFailed(
                "kaitiaki could not decide the dbt nodes while dbt compiled them "
                f"({type(self.error).__name__}: {self.error}); nothing was allowed.",
                hint=HINT,
            )

    def abandon(self) -> None:
        """dbt failed: stop scheduling (what was sent is answered and dropped)."""
        self.abandoned = True
        self.wake()
        self.thread.join()
        self.close()

    def close(self) -> None:
        for fd in (self.wake_read, self.wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.wake_write, b"\0")

    def run(self) -> None:
        try:
            if self.checker.pool is not None:
                self.checker.pool.load(self.checker.project)
            while not self.abandoned:
                self.take_compiled()
                self.dispatch()
                busy = self.checker.pool is not None and self.checker.pool.busy
                if self.error is not None or (self.finishing and not (busy or self.ready or self.queued)):
                    break
                if self.finishing and self.queued:  # dbt is done: this process decides too
                    task = self.queued.pop()
                    self.sent[id(task)] = time.perf_counter()
                    self.record([task], [self.checker.evaluator.evaluate(task)], id(task))
                    continue
                self.wait()
        except BaseException as error:  # re-raised by finish(), in the main thread
            self.error = self.error or error
        finally:
            self.drain()

    def wait(self) -> None:
        """Until a worker answers, or (when a worker could take it) dbt compiles a node."""
        pool = self.checker.pool
        if pool is None:
            wait([self.wake_read])
        else:
            wake = [self.wake_read] if self.finishing or pool.idle() else []
            for tasks, outcomes in pool.answers(extra=wake):
                self.record(tasks, outcomes, id(tasks))
        with contextlib.suppress(BlockingIOError, OSError):
            os.read(self.wake_read, 65536)

    def drain(self) -> None:
        """Wait for the chunks still out (a worker must not be asked twice at once)."""
        with contextlib.suppress(BaseException):
            while self.checker.pool is not None and self.checker.pool.busy:
                self.checker.pool.answers()

    def take_compiled(self) -> None:
        while True:
            try:
                uid, fields = self.inbox.get_nowait()
            except Empty:
                return
            if uid in self.nodes:  # compiled again: what was reached from the first may be read
                self.checker.recompiled.add(uid)
            parsed = self.checker.nodes[uid]
            self.nodes[uid] = {**{k: v for k, v in parsed.items() if k not in COMPILED_KEYS}, **fields}
            if not self.waiting[uid]:
                self.ready.append(uid)

    def dispatch(self) -> None:
        """Ready nodes: from the cache, else in chunks to the workers free to take them."""
        while self.ready:
            uid = self.ready.pop(0)
            started = time.perf_counter()
            task, key, cached = self.checker.lookup(uid, self.chosen, self.nodes[uid])
            self.keys[uid] = key
            if cached is not None:
                self.done(uid, cached, time.perf_counter() - started, cached=True)
            else:
                self.queued.append(task)
        if not self.queued or (self.checker.pool is None and self.finishing):
            return  # after the compile, a few misses are decided here rather than start workers
        if self.checker.pool is None:  # the first miss of a run the cache was expected to answer
            self.checker.pool = WorkerPool(self.checker.gate, self.checker.project_dir, self.workers)
            self.checker.pool.load(self.checker.project)
        idle = self.checker.pool.idle()
        size = max(1, min(MAX_CHUNK, -(-len(self.queued) // max(1, len(idle)))))
        for worker in idle:
            if not self.queued:
                break
            chunk, self.queued = self.queued[:size], self.queued[size:]
            self.sent[id(chunk)] = time.perf_counter()
            self.checker.pool.send(worker, chunk)

    def record(self, tasks: list[Task], outcomes: list[ModelOutcome], sent: int) -> None:
        seconds = (time.perf_counter() - self.sent.pop(sent)) / max(1, len(tasks))
        for task, outcome in zip(tasks, outcomes, strict=True):
            self.done(str(task.node["unique_id"]), outcome, seconds, cached=False, node=task.node)

    def done(
        self, uid: str, outcome: ModelOutcome, seconds: float, *, cached: bool, node: Node | None = None
    ) -> None:
        """``node``: the node the outcome was reached from (a task's), else the one just looked up."""
        reached = self.nodes[uid] if node is None else node
        self.checker.outcomes[uid] = outcome
        self.checker.early[uid] = Early(outcome, reached, self.keys[uid], seconds, cached)
        for child in self.children.get(uid, ()):
            waits = self.waiting[child]
            waits.discard(uid)
            if not waits and child in self.nodes:
                self.ready.append(child)
