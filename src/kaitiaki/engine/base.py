"""What every policy engine shares: the Engine protocol, the revision, and decision checking.

An engine is set up once (``load``) and asked many times (``evaluate``); whatever goes wrong while
asking raises ``EngineError``, which the gate turns into a block. A decision is accepted only in
the exact documented shape (docs/governance.md).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import Any, Protocol, runtime_checkable

from kaitiaki.errors import EngineError, PolicyError
from kaitiaki.model import LEVELS, Decision, IgnoredWaiver, Violation

try:
    import orjson
except ImportError:  # no orjson wheel for this interpreter (PyPy): the json module does its work
    orjson = None  # type: ignore[assignment]

try:
    import msgspec
except ImportError:  # no msgspec wheel for this interpreter (PyPy): decision_from_raw reads answers
    msgspec = None  # type: ignore[assignment]

DECISION_PATH = "kaitiaki/main/decision"
DECISION_RULE = "data.kaitiaki.main.decision"
DECISION_PACKAGE = "kaitiaki.main"
DECISION_KEYS = ("allow", "violations", "policy_revision")

Policies = Sequence[tuple[str, str]]
JSONDict = dict[str, Any]


@runtime_checkable
class Engine(Protocol):
    """A Rego engine behind kaitiaki's one interface (docs/governance.md)."""

    revision: str

    def load(self, policies: list[tuple[str, str]], data: JSONDict) -> None:
        """Compile ``(name, text)`` policies with the data document; PolicyError if they do not."""

    def evaluate(self, input: JSONDict) -> Decision:
        """Decide one policy input; EngineError on any failure, never a guess."""


def quiet_rust_backtraces() -> None:
    """regorus appends a Rust backtrace to its errors unless told not to, before its first use."""
    os.environ["RUST_BACKTRACE"] = "0"
    os.environ["RUST_LIB_BACKTRACE"] = "0"


def canonical_json(value: Any) -> str:
    """One text per value, whatever the key order: the basis of revisions and bundles."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_revision(policies: Policies, data: Mapping[str, Any]) -> str:
    """sha256 over the policy texts and the data (without its own revision), name-independent.

    File names are left out so that every checkout of the same policies has the same revision.
    """
    digest = hashlib.sha256()
    digest.update(canonical_json(sorted(text for _, text in policies)).encode())
    digest.update(canonical_json(_without_revision(data)).encode())
    return f"sha256:{digest.hexdigest()}"


def _without_revision(data: Mapping[str, Any]) -> Any:
    kaitiaki = data.get("kaitiaki")
    if not isinstance(kaitiaki, Mapping) or "revision" not in kaitiaki:
        return data
    return {**data, "kaitiaki": {k: v for k, v in kaitiaki.items() if k != "revision"}}


def with_revision(data: Mapping[str, Any], revision: str) -> JSONDict:
    """A copy of ``data`` whose ``kaitiaki.revision`` is set (kept when the data already has one)."""
    out = copy.deepcopy(dict(data))
    kaitiaki = out.setdefault("kaitiaki", {})
    if not isinstance(kaitiaki.get("revision"), str):
        kaitiaki["revision"] = revision
    return out


COLUMN_LISTS = ("categories", "uses", "transforms", "outputs", "lines")
OUTPUT_LISTS = ("categories", "transforms", "sources")


# Lists inside the job and the aggregation that rules iterate. A value of another type is an error
# on the embedded engine but an empty iteration on OPA (which could then allow): refused for both.
NESTED_LISTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("job", ("tags", "upstream")),
    ("aggregation", ("magnitudes", "single_value", "cells")),
)


def input_problems(policy_input: Mapping[str, Any]) -> list[str]:
    """What makes column facts or outputs unusable: a rule would silently skip such an entry
    (a column without categories looks like no personal information), so it is never evaluated.
    Checked here, once, rather than in Rego where it would cost a pass over every column."""
    problems = []
    for part, keys in (("columns", COLUMN_LISTS), ("outputs", OUTPUT_LISTS)):
        entries = policy_input.get(part)
        if not isinstance(entries, list):
            problems.append(f"input.{part} is not a list")
            continue
        if all_hold_lists(entries, GETTERS[keys]):
            continue
        for index, entry in enumerate(entries):
            if not has_lists(entry, keys):
                problems.append(f"input.{part}[{index}] is malformed ({', '.join(keys)} must be lists)")
    for holder_name, fields in NESTED_LISTS:
        holder = policy_input.get(holder_name)
        if isinstance(holder, Mapping):
            problems += [
                f"input.{holder_name}.{key} is not a list"
                for key in fields
                if not isinstance(holder.get(key, []), list)
            ]
    return problems


GETTERS = {keys: itemgetter(*keys) for keys in (COLUMN_LISTS, OUTPUT_LISTS)}


def all_hold_lists(entries: list[Any], getter: itemgetter[Any]) -> bool:
    """Every entry is a dict whose ``getter`` keys all hold lists: the usual input, checked in C in
    two passes. Anything else (another type, a missing key) is looked at entry by entry."""
    if not set(map(type, entries)) <= {dict}:
        return False
    try:
        return set(map(type, chain.from_iterable(map(getter, entries)))) <= {list}
    except KeyError:
        return False


def has_lists(entry: Any, keys: tuple[str, ...]) -> bool:
    """``entry`` is an object whose ``keys`` all hold lists. Runs for every column and output of
    every decision, so it stays in C: no generator, and a plain dict passes before the Mapping ABC."""
    return isinstance(entry, (dict, Mapping)) and all(map(isinstance, map(entry.get, keys), repeat(list)))


def check_input(policy_input: Mapping[str, Any]) -> None:
    """EngineError (a block) when the column facts or outputs are unusable."""
    problems = input_problems(policy_input)
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        raise EngineError(f"the policy input is incomplete: {shown}.")


# No bookkeeping for reference cycles (a cycle still fails, as a RecursionError): what orjson
# leaves to it is encoded here, and the bookkeeping is a fifth of its cost.
_INPUT_ENCODER = json.JSONEncoder(check_circular=False)

# orjson encodes a 50-column input about nine times faster than the json module. Dataclasses and
# dates are left to the json module (which refuses them, as before), as is whatever orjson refuses
# (an integer beyond 64 bits, a key that is not a string, a cycle), so only what both accept is
# orjson's. orjson is absent where it has no wheel (PyPy): the json module encodes everything.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME if orjson else 0

# The parts of the input that kaitiaki's analysis writes: their numbers are line numbers and counts.
FACT_PARTS = frozenset({"columns", "joins", "outputs", "aggregation", "row_filters", "tables", "unresolved"})


def input_json(policy_input: Mapping[str, Any], engine: str) -> str:
    """The policy input as JSON, after checking its column facts and outputs."""
    check_input(policy_input)
    refuse_non_finite(policy_input, engine)
    if orjson is not None:
        try:
            return orjson.dumps(policy_input, option=_ORJSON_OPTIONS).decode()
        except orjson.JSONEncodeError:
            pass
    try:
        return _INPUT_ENCODER.encode(policy_input)
    except (TypeError, ValueError, RecursionError) as exc:
        raise EngineError(f"the {engine} engine cannot send this policy input: {exc}") from None


def refuse_non_finite(policy_input: Mapping[str, Any], engine: str) -> None:
    """EngineError (a block) for NaN or an infinity outside the analysis's facts (in job.meta, from
    a dbt manifest or YAML): JSON cannot carry them. The json module wrote text that every engine
    refused; orjson would write null, which a policy could read as a missing value."""
    cannot = f"the {engine} engine cannot send this policy input"
    try:
        found = [
            key for key, value in policy_input.items() if key not in FACT_PARTS and holds_non_finite(value)
        ]
    except RecursionError:
        raise EngineError(f"{cannot}: it is nested too deep (a reference cycle?).") from None
    if found:
        raise EngineError(f"{cannot}: input.{found[0]} holds NaN or an infinity, which JSON cannot carry.")


def holds_non_finite(value: Any) -> bool:
    """Exact types first (what JSON-like input holds), then subclasses and other mappings."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return False
    if kind is dict:
        return any(map(holds_non_finite, value.values()))
    if kind is list:
        return any(map(holds_non_finite, value))
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(map(holds_non_finite, value.values()))
    if isinstance(value, (list, tuple)):
        return any(map(holds_non_finite, value))
    return False


def decision_json(text: str) -> Any:
    """An engine's JSON answer (orjson parses a decision with many violations about 2.5x faster)."""
    return orjson.loads(text) if orjson is not None else json.loads(text)


if msgspec is not None:

    class UsualDecision(msgspec.Struct):
        """A decision with every documented key and every field of its exact JSON type (a violation
        without its optional fields takes their defaults, as in ``Violation.from_dict``)."""

        allow: bool
        violations: tuple[Violation, ...]
        policy_revision: str
        ignored_waivers: tuple[IgnoredWaiver, ...] = ()

    _USUAL_DECISION = msgspec.json.Decoder(UsualDecision)

_LEVELS = frozenset(LEVELS)
_LEVEL = attrgetter("level")
_LINE = attrgetter("line")
# orjson reads an integer outside these bounds as a float, which no violation line may be
_LINE_MIN, _LINE_MAX = -(2**63), 2**64 - 1


def usual_decision(text: str) -> Decision | None:
    """The decision in an engine's JSON answer when it has the usual shape, parsed and checked in
    C in one pass (about six times faster than ``decision_json`` and ``decision_from_raw``, most
    of an answer with many violations); None for anything else (or without msgspec), which
    ``decision_from_raw`` then reads and refuses with its reason. It accepts only what
    ``decision_from_raw`` accepts, and gives the same Decision."""
    if msgspec is None:
        return None
    try:
        answer = _USUAL_DECISION.decode(text)
    except msgspec.DecodeError:
        return None
    if not read_as_before(answer.violations):
        return None
    return Decision(
        allow=answer.allow,
        violations=tuple(sorted(answer.violations, key=violation_order)),
        policy_revision=answer.policy_revision,
        ignored_waivers=tuple(sorted(answer.ignored_waivers)),
    )


def read_as_before(violations: tuple[Violation, ...]) -> bool:
    """What msgspec does not check: every level is known, and every line is an integer that
    ``decision_json`` reads as one (beyond 64 bits orjson gives a float, refused as a line)."""
    lines = set(map(_LINE, violations))
    lines.discard(None)
    in_bounds = not lines or (min(lines) >= _LINE_MIN and max(lines) <= _LINE_MAX)
    return in_bounds and _LEVELS.issuperset(map(_LEVEL, violations))


def decision_from_raw(raw: Any, *, engine: str) -> Decision:
    """Validate an engine's answer into a Decision with violations in one stable order."""
    if not isinstance(raw, Mapping):
        what = "undefined" if raw is None else f"a {type(raw).__name__}, not an object"
        raise EngineError(f"the {engine} engine's decision ({DECISION_RULE}) is {what}.")
    missing = [key for key in DECISION_KEYS if key not in raw]
    if missing:
        raise EngineError(f"the {engine} engine's decision lacks {', '.join(missing)}.")
    try:
        decision = Decision.from_dict(raw)
    except ValueError as exc:
        raise EngineError(f"the {engine} engine's decision is malformed: {exc}.") from None
    return replace(decision, violations=tuple(sorted(decision.violations, key=violation_order)))


def violation_order(v: Violation) -> tuple[Any, ...]:
    return (v.rule, v.line if v.line is not None else -1, v.columns, v.message, v.level, v.waived)


def first_lines(text: str, limit: int = 6) -> str:
    """The readable head of an engine's error, without a Rust backtrace."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    kept: list[str] = []
    for line in lines:
        if line.lower().startswith(("stack backtrace", "backtrace")):
            break
        kept.append(line)
    return "\n".join(kept[:limit])


_LOCATION = re.compile(r"-->\s*(?P<path>.+?):(?P<line>\d+):(?P<col>\d+)")
_MESSAGE = re.compile(r"^error:\s*(?P<message>.+)$", re.MULTILINE)


def located_error(text: str) -> tuple[str | None, int | None, str]:
    """(file, line, message) from a regorus error (``--> file:line:col`` … ``error: …``)."""
    where = _LOCATION.search(text)
    said = _MESSAGE.search(text)
    message = said.group("message").strip() if said else first_lines(text, 1) or "unknown error"
    if where is None:
        return None, None, message
    return where.group("path"), int(where.group("line")), message


def compile_error(text: str, *, engine: str, default_path: str | None = None) -> PolicyError:
    path, line, message = located_error(text)
    return PolicyError(
        f"the policy does not compile ({engine} engine): {message}.",
        path=path or default_path,
        line=line,
        hint="fix the Rego at that line; `kaitiaki policy test` checks every policy file.",
    )


def require_decision(packages: Sequence[str], *, engine: str) -> None:
    if f"data.{DECISION_PACKAGE}" not in packages and DECISION_PACKAGE not in packages:
        raise PolicyError(
            f"no policy defines package {DECISION_PACKAGE} ({engine} engine).",
            hint="keep policies/kaitiaki/main.rego among the policies.",
        )


def refuse_server_settings(kind: str, urls: tuple[str, ...], token: str | None) -> None:
    """An in-process engine asks no server: a URL or token in kaitiaki.yaml is a mistake to report,
    not a setting to ignore (the author believes an OPA fleet decides)."""
    if urls or token:
        named = ", ".join(urls) if urls else "a token"
        raise PolicyError(
            f"engine kind '{kind}' asks no server: it decides in this process, yet kaitiaki.yaml "
            f"names {named}.",
            hint="drop engine.url/urls/token, or set engine.kind to 'opa' to ask that server.",
        )
