"""Fuzzing the OPA engine's answers: generated statuses and bodies from a local server.

``kaitiaki check`` runs with ``engine: {kind: opa}`` pointed at a scripted server on 127.0.0.1
that answers with generated responses: valid decisions, near-valid ones (a field of the wrong
type, an unknown level, allow contradicting its violations), arbitrary JSON, undefined results,
bytes that are not JSON, error statuses. Whatever the answer, the outcome is contained, never a
usage error, and the job runs only when the answer is a successful response carrying a decision
that allows it with no blocking violation — checked here independently of kaitiaki's validator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.scripted_server import Reply, ScriptedServer, scripted_server
from tests.fuzz.support import assert_contained, decision_document, kaitiaki, profile
from tests.fuzz.workspace import fuzz_config, write_workspace

pytestmark = pytest.mark.fuzz

LEVELS = ("advisory", "soft", "hard")
TIMEOUT_MS = 2000

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def violations() -> st.SearchStrategy[dict[str, Any]]:
    """Violations as policies write them, with any field sometimes of the wrong type or missing."""
    text = st.text(max_size=20)
    valid = st.fixed_dictionaries(
        {
            "rule": st.sampled_from(("PM-01", "PM-03", "SYS-01", "CUSTOM")),
            "title": text,
            "guideline": text,
            "principle": text,
            "law": text,
            "level": st.sampled_from(LEVELS),
            "message": text,
        },
        optional={
            "columns": st.lists(st.text(max_size=20), max_size=3),
            "line": st.one_of(st.none(), st.integers(-5, 500)),
            "remediation": text,
            "waived": st.booleans(),
        },
    )
    return st.one_of(
        valid,
        valid,
        st.builds(lambda v, key, value: {**v, key: value}, valid, st.sampled_from(FIELDS), JSON_VALUES),
        st.builds(lambda v, key: {k: x for k, x in v.items() if k != key}, valid, st.sampled_from(FIELDS)),
    )


FIELDS = ("rule", "title", "level", "message", "columns", "line", "waived", "remediation")


def decisions() -> st.SearchStrategy[Any]:
    decision = st.fixed_dictionaries(
        {
            "allow": st.booleans(),
            "violations": st.lists(violations(), max_size=3),
            "policy_revision": st.text(max_size=20),
        }
    )
    allowing = st.fixed_dictionaries(
        {
            "allow": st.just(True),
            "violations": st.lists(
                st.builds(
                    lambda v, level, waived: {**v, "level": level, "waived": waived},
                    violations(),
                    st.sampled_from(LEVELS),
                    st.booleans(),
                ),
                max_size=3,
            ),
            "policy_revision": st.text(max_size=20),
        }
    )
    return st.one_of(
        decision,
        allowing,
        allowing,
        st.builds(
            lambda d, key, value: {**d, key: value}, decision, st.sampled_from(DECISION_KEYS), JSON_VALUES
        ),
        st.builds(
            lambda d, key: {k: v for k, v in d.items() if k != key}, decision, st.sampled_from(DECISION_KEYS)
        ),
        JSON_VALUES,
    )


DECISION_KEYS = ("allow", "violations", "policy_revision")
STATUSES = (200, 200, 200, 200, 200, 200, 201, 204, 302, 400, 401, 404, 429, 500, 502, 503)


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    kind = draw(
        st.sampled_from(("result", "result", "result", "result", "json", "undefined", "bytes", "cut"))
    )
    if kind == "result":
        body = json.dumps({"result": draw(decisions())}).encode()
    elif kind == "json":
        body = json.dumps(draw(JSON_VALUES)).encode()
    elif kind == "undefined":
        body = b"{}"
    elif kind == "bytes":
        body = draw(st.binary(max_size=64))
    else:
        whole = json.dumps({"result": draw(decisions())}).encode()
        body = whole[: draw(st.integers(0, max(0, len(whole) - 1)))]
    content_type = draw(st.sampled_from(("application/json", "text/plain", "text/html")))
    return Reply(status=draw(st.sampled_from(STATUSES)), body=body, content_type=content_type)


def blocking(violation: Any) -> bool:
    """A violation that must stop the job: hard, unwaived soft, or anything not understood."""
    if not isinstance(violation, dict):
        return True
    level = violation.get("level")
    return level == "hard" or (level == "soft" and violation.get("waived") is not True) or level not in LEVELS


def may_allow(reply: Reply) -> bool:
    """The only answers under which the job may run: a 2xx response whose body is a decision
    that says ``allow: true`` (the boolean), with a list of violations none of which blocks."""
    if not 200 <= reply.status < 300:
        return False
    try:
        document = json.loads(reply.body)
    except ValueError:
        return False
    result = document.get("result") if isinstance(document, dict) else None
    if not isinstance(result, dict) or result.get("allow") is not True:
        return False
    found = result.get("violations", [])
    return isinstance(found, list) and not any(blocking(v) for v in found)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as running:
        yield running


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, server: ScriptedServer) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-engine")
    engine = {"kind": "opa", "url": server.url, "timeout_ms": TIMEOUT_MS}
    write_workspace(folder, fuzz_config(engine=engine))
    return folder


@profile()
@given(reply=replies())
def test_only_a_decision_that_allows_lets_the_job_run(
    folder: Path, server: ScriptedServer, reply: Reply
) -> None:
    server.reply = reply
    result = kaitiaki(["check", "job.sql", "--format", "json"], folder)
    assert_contained(result, allowed_exits=(0, 1))
    decision_document(result)
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        assert may_allow(reply), f"allowed on the answer {reply}"


def test_a_redirect_answer_is_not_a_decision(folder: Path, server: ScriptedServer) -> None:
    decision = {"allow": True, "violations": [], "policy_revision": ""}
    server.reply = Reply(status=302, body=json.dumps({"result": decision}).encode())
    result = kaitiaki(["check", "job.sql", "--format", "json"], folder)
    assert result.exit_code == 1, result.stdout
