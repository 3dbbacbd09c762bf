"""The alternative embedded engine: Microsoft rego-cpp through ``regopy``.

Compiled once into a rego-cpp bundle with the decision as its entry point, then queried per input.
Gaps found against regorus and OPA (regopy 1.5.2), which the DPUP library avoids: no
``time.parse_rfc3339_ns`` (undefined), ``object.union`` does not merge nested objects, querying a
rule that only has a ``default`` value directly is undefined, ``object.get(data, …)`` fails,
unsafe variables are not reported (the rule is undefined instead), errors give byte offsets and
are printed to stderr unless the log level is NONE. ``with`` works.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from kaitiaki.engine.base import (
    DECISION_PATH,
    JSONDict,
    compute_revision,
    decision_from_raw,
    first_lines,
    input_json,
    refuse_server_settings,
    require_decision,
    with_revision,
)
from kaitiaki.errors import EngineError, PolicyError
from kaitiaki.model import Decision

_ERROR = re.compile(r"\(error \d+:(?P<file>[^|\n]+)\|(?P<offset>\d+)\|\d+")
_ERRORMSG = re.compile(r"\(errormsg \d+:(?P<message>[^)\n]*)")


def _regopy() -> Any:
    try:
        import regopy
    except ImportError:
        raise PolicyError(
            "engine kind 'regopy' needs the regopy package.", hint="pip install 'kaitiaki[regopy]'."
        ) from None
    return regopy


def regopy_error(text: str, sources: dict[str, str]) -> PolicyError:
    """A rego-cpp error (an S-expression with a byte offset) as file:line: message."""
    where = _ERROR.search(text)
    said = _ERRORMSG.search(text)
    message = said.group("message").strip() if said else first_lines(text, 1)
    if where is None:
        return PolicyError(f"the policy does not compile (regopy engine): {message}.")
    name = where.group("file")
    source = sources.get(name, "").encode()
    line = source[: int(where.group("offset"))].count(b"\n") + 1 if source else None
    return PolicyError(
        f"the policy does not compile (regopy engine): {message}.",
        path=name,
        line=line,
        hint="fix the Rego at that line; `kaitiaki policy test` checks every policy file.",
    )


class RegopyEngine:
    """rego-cpp, in-process: an independent second implementation of Rego."""

    kind = "regopy"

    def __init__(self, *, urls: tuple[str, ...] = (), token: str | None = None, **_settings: Any) -> None:
        refuse_server_settings(self.kind, urls, token)
        self.revision = ""
        self._interpreter: Any = None
        self._bundle: Any = None
        self._lock = threading.Lock()

    def load(self, policies: list[tuple[str, str]], data: JSONDict) -> None:
        regopy = _regopy()
        interpreter = regopy.Interpreter()
        interpreter.log_level = regopy.LogLevel.NONE
        interpreter.strict_built_in_errors = True  # a failing builtin must not drop a violation
        sources = dict(policies)
        revision = compute_revision(policies, data)
        try:
            for name, text in policies:
                interpreter.add_module(name, text)
            interpreter.add_data(with_revision(data, revision))
            bundle = interpreter.build(None, [DECISION_PATH])
        except regopy.RegoError as exc:
            raise regopy_error(str(exc), sources) from None
        if not bundle.ok():
            raise PolicyError("the policies do not compile (regopy engine).")
        packages = {_package_of(text) for _, text in policies}
        require_decision(sorted(p for p in packages if p), engine=self.kind)
        self._interpreter, self._bundle, self.revision = interpreter, bundle, revision

    def evaluate(self, input: JSONDict) -> Decision:
        if self._bundle is None:
            raise EngineError("the regopy engine was asked for a decision before any policy was loaded.")
        regopy = _regopy()
        text = input_json(input, self.kind)
        with self._lock:
            try:
                self._interpreter.set_input_term(text)
                output = self._interpreter.query_bundle_entrypoint(self._bundle, DECISION_PATH)
            except (regopy.RegoError, TypeError, ValueError) as exc:
                raise EngineError(
                    f"the regopy engine failed while deciding: {first_lines(str(exc), 2)}."
                ) from None
        return decision_from_raw(_single_value(output), engine=self.kind)


def _single_value(output: Any) -> Any:
    """The one value of the decision, or None when it is undefined or the query failed."""
    results = list(output.results)
    if len(results) == 1 and len(results[0].expressions) == 1:
        return results[0].expressions[0]
    text = str(output)
    if text == "<error>":
        raise EngineError(
            "the regopy engine failed while deciding (rego-cpp gives no detail; "
            "the embedded engine names the file and line)."
        )
    if text not in ("undefined", "") and not text.startswith("{"):
        raise EngineError(f"the regopy engine failed while deciding: {first_lines(text, 2)}.")
    return None


_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)


def _package_of(text: str) -> str:
    match = _PACKAGE.search(text)
    return match.group(1) if match else ""
