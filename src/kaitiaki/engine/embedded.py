"""The default engine: Rust regorus in-process (``gordon-to-regorus``, ``import regorus``).

Compiled once in ``load`` (every module is checked then, so a broken policy is a PolicyError at
start-up, not a surprise on the first job); each ``evaluate`` reuses the compiled engine with a new
input. A regorus engine is bound to the thread that made it: using it, or even *dropping* it, on
another thread raises RuntimeError in whatever code that thread is running (seen inside Airflow's
``threading.Event.set`` when an engine was garbage-collected off its thread). So every thread that
evaluates compiles its own copy once (about 5 ms) into a module-level thread-local table, which
dies with its thread, on that thread; and every engine is held by a ``ThreadBound`` that, if the
last reference goes on another thread (an exception's frames collected elsewhere, an
EmbeddedEngine released by a different thread), parks the engine until its own thread comes back
for a decision and releases it there. The engines of a thread that has ended stay parked.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections import deque
from typing import Any

from kaitiaki.engine.base import (
    DECISION_RULE,
    JSONDict,
    compile_error,
    compute_revision,
    decision_from_raw,
    decision_json,
    first_lines,
    input_json,
    located_error,
    quiet_rust_backtraces,
    refuse_server_settings,
    require_decision,
    usual_decision,
    with_revision,
)
from kaitiaki.errors import EngineError, PolicyError
from kaitiaki.model import Decision

UNDEFINED = "<undefined>"  # what regorus's eval_rule_as_json gives for an undefined rule

_LOADS = itertools.count(1)
_THREAD = threading.local()  # never freed: each thread's table is released by that thread alone
_PARKED: deque[tuple[threading.Thread, Any]] = deque()  # engines waiting for their own thread


def _thread_table() -> dict[int, tuple[weakref.ref[EmbeddedEngine], ThreadBound]]:
    """This thread's compiled engines by load, pruned of loads that no longer exist."""
    if _PARKED:
        release_parked()
    table: dict[int, tuple[weakref.ref[EmbeddedEngine], ThreadBound]] | None
    table = getattr(_THREAD, "engines", None)
    if table is None:
        table = _THREAD.engines = {}
    for load, (owner, _) in list(table.items()):
        current = owner()
        if current is None or current._load != load:
            del table[load]
    return table


class ThreadBound:
    """A regorus engine with its thread; it is never released on any other thread."""

    __slots__ = ("_ident", "_thread", "engine")

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._ident = threading.get_ident()
        self._thread = threading.current_thread()

    def __del__(self) -> None:
        if threading.get_ident() != self._ident:
            _PARKED.append((self._thread, self.engine))


def release_parked() -> None:
    """Release the engines parked for this thread, here, where regorus allows it."""
    current = threading.current_thread()
    for _ in range(len(_PARKED)):
        owner, engine = _PARKED.popleft()
        if owner is not current:
            _PARKED.append((owner, engine))
        del engine


def new_regorus_engine(policies: list[tuple[str, str]], data: JSONDict) -> ThreadBound:
    """A compiled regorus engine, or PolicyError naming the file and line that does not compile."""
    quiet_rust_backtraces()
    import regorus

    bound = ThreadBound(regorus.Engine())
    for name, text in policies:
        try:
            bound.engine.add_policy(name, text)
        except RuntimeError as exc:
            raise compile_error(str(exc), engine="embedded", default_path=name) from None
    bound.engine.add_data_json(json.dumps(data))
    try:
        bound.engine.eval_query_as_json("true")
    except RuntimeError as exc:
        raise compile_error(str(exc), engine="embedded") from None
    return bound


def check_evaluates(engine: Any) -> None:
    """Evaluate the decision once on an empty input: regorus reports some unsafe variables only
    when a rule first runs, and a policy that cannot run at all is a PolicyError, not a block."""
    try:
        engine.set_input_json("{}")
        engine.eval_rule_as_json(DECISION_RULE)
    except RuntimeError as exc:
        raise compile_error(str(exc), engine="embedded") from None


class EmbeddedEngine:
    """kaitiaki's default engine: regorus, in the same process as the gate."""

    kind = "embedded"

    def __init__(self, *, urls: tuple[str, ...] = (), token: str | None = None, **_settings: Any) -> None:
        refuse_server_settings(self.kind, urls, token)
        self.revision = ""
        self._sources: tuple[list[tuple[str, str]], JSONDict] | None = None
        self._load = 0

    def load(self, policies: list[tuple[str, str]], data: JSONDict) -> None:
        revision = compute_revision(policies, data)
        sources = (list(policies), with_revision(data, revision))
        engine = new_regorus_engine(*sources)
        require_decision(engine.engine.get_packages(), engine=self.kind)
        check_evaluates(engine.engine)
        self._sources, self.revision, self._load = sources, revision, next(_LOADS)
        _thread_table()[self._load] = (weakref.ref(self), engine)

    def evaluate(self, input: JSONDict) -> Decision:
        text = input_json(input, self.kind)
        bound = self._thread_engine()
        try:
            bound.engine.set_input_json(text)
            raw = bound.engine.eval_rule_as_json(DECISION_RULE)
        except RuntimeError as exc:
            raise EngineError(evaluation_failure(str(exc))) from None
        return read_decision(raw)

    def _thread_engine(self) -> ThreadBound:
        """This thread's compiled engine (the loading thread's, or one compiled now)."""
        table = _thread_table()
        found = table.get(self._load)
        if found is not None:
            return found[1]
        if self._sources is None:
            raise EngineError("the embedded engine was asked for a decision before any policy was loaded.")
        try:
            engine = new_regorus_engine(*self._sources)
        except PolicyError as exc:
            raise EngineError(f"the embedded engine could not compile for this thread: {exc}") from None
        table[self._load] = (weakref.ref(self), engine)
        return engine


def read_decision(raw: str) -> Decision:
    """The decision in regorus's JSON answer: the usual shape in one pass, anything else checked
    field by field (an undefined rule, a malformed answer: an EngineError saying what)."""
    decision = usual_decision(raw)
    if decision is not None:
        return decision
    value = decision_json(raw)
    return decision_from_raw(None if value == UNDEFINED else value, engine=EmbeddedEngine.kind)


def evaluation_failure(text: str) -> str:
    path, line, message = located_error(text)
    where = f" at {path}:{line}" if path else ""
    return f"the embedded engine failed while deciding{where}: {message or first_lines(text, 2)}."
