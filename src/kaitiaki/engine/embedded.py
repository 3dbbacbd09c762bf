"""The default engine: Rust regorus in-process (``gordon-to-regorus``, ``import regorus``).

Compiled once in ``load`` (every module is checked then, so a broken policy is a PolicyError at
start-up, not a surprise on the first job); each ``evaluate`` reuses the compiled engine with a new
input. A regorus engine is bound to the thread that made it (using it from another thread panics),
so every other thread that evaluates compiles its own copy once (about 5 ms) and keeps it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from kaitiaki.engine.base import (
    DECISION_RULE,
    JSONDict,
    compile_error,
    compute_revision,
    decision_from_raw,
    first_lines,
    input_json,
    located_error,
    quiet_rust_backtraces,
    require_decision,
    with_revision,
)
from kaitiaki.errors import EngineError, PolicyError
from kaitiaki.model import Decision

UNDEFINED = "<undefined>"  # what regorus's eval_rule_as_json gives for an undefined rule


def new_regorus_engine(policies: list[tuple[str, str]], data: JSONDict) -> Any:
    """A compiled regorus engine, or PolicyError naming the file and line that does not compile."""
    quiet_rust_backtraces()
    import regorus

    engine = regorus.Engine()
    for name, text in policies:
        try:
            engine.add_policy(name, text)
        except RuntimeError as exc:
            raise compile_error(str(exc), engine="embedded", default_path=name) from None
    engine.add_data_json(json.dumps(data))
    try:
        engine.eval_query_as_json("true")
    except RuntimeError as exc:
        raise compile_error(str(exc), engine="embedded") from None
    return engine


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

    def __init__(self, **_settings: Any) -> None:
        self.revision = ""
        self._sources: tuple[list[tuple[str, str]], JSONDict] | None = None
        self._local = threading.local()

    def load(self, policies: list[tuple[str, str]], data: JSONDict) -> None:
        revision = compute_revision(policies, data)
        sources = (list(policies), with_revision(data, revision))
        engine = new_regorus_engine(*sources)
        require_decision(engine.get_packages(), engine=self.kind)
        check_evaluates(engine)
        self._local = threading.local()
        self._local.engine = engine
        self._sources, self.revision = sources, revision

    def evaluate(self, input: JSONDict) -> Decision:
        text = input_json(input, self.kind)
        engine = self._thread_engine()
        try:
            engine.set_input_json(text)
            raw = engine.eval_rule_as_json(DECISION_RULE)
        except RuntimeError as exc:
            raise EngineError(evaluation_failure(str(exc))) from None
        value = json.loads(raw)
        return decision_from_raw(None if value == UNDEFINED else value, engine=self.kind)

    def _thread_engine(self) -> Any:
        """This thread's compiled engine (the loading thread's, or one compiled now)."""
        engine = getattr(self._local, "engine", None)
        if engine is not None:
            return engine
        if self._sources is None:
            raise EngineError("the embedded engine was asked for a decision before any policy was loaded.")
        try:
            engine = new_regorus_engine(*self._sources)
        except PolicyError as exc:
            raise EngineError(f"the embedded engine could not compile for this thread: {exc}") from None
        self._local.engine = engine
        return engine


def evaluation_failure(text: str) -> str:
    path, line, message = located_error(text)
    where = f" at {path}:{line}" if path else ""
    return f"the embedded engine failed while deciding{where}: {message or first_lines(text, 2)}."
