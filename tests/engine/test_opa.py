"""The OPA engine against servers that speak OPA's REST API: the local test server (loading the
bundle kaitiaki builds, regorus underneath) and the real `opa` (tests/support/real_opa.py). Every
fault must end in EngineError, never in an allow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaitiaki.config import EngineSettings, Settings
from kaitiaki.engine import load_engine, opa
from kaitiaki.engine.opa import OpaEngine
from kaitiaki.errors import EngineError, PolicyError
from tests.policies.cases import ISSUERS, worked_examples
from tests.policies.engines import bundle_for, free_port, opa_binary
from tests.support.opa_server import OpaTestServer, serve_bundle

E3 = worked_examples()[2]
TIMEOUT_MS = 300


def opa_settings(*urls: str, token: str | None = None, timeout_ms: int = TIMEOUT_MS) -> Settings:
    engine = EngineSettings(kind="opa", urls=urls, timeout_ms=timeout_ms, token=token)
    return Settings(engine=engine, identifier_issuers=ISSUERS)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle_for(tmp_path_factory.mktemp("opa") / "bundle.tar.gz")


@pytest.fixture
def server(bundle: Path) -> Iterator[OpaTestServer]:
    with serve_bundle(bundle) as running:
        yield running


def embedded_decision() -> object:
    return load_engine(Settings(identifier_issuers=ISSUERS)).evaluate(E3["input"])


def test_decision_from_the_server_matches_the_embedded_engine(server: OpaTestServer) -> None:
    engine = load_engine(opa_settings(server.url))
    decision = engine.evaluate(E3["input"])
    assert decision == embedded_decision()
    assert {v.rule: v.level for v in decision.violations} == E3["expect"]["rules"]
    assert decision.policy_revision == engine.revision


def test_server_down_is_an_engine_error() -> None:
    engine = load_engine(opa_settings(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(EngineError, match="cannot connect"):
        engine.evaluate(E3["input"])


def test_slow_server_times_out(server: OpaTestServer) -> None:
    server.faults.delay_s = 1.0
    engine = load_engine(opa_settings(server.url))
    started = time.perf_counter()
    with pytest.raises(EngineError, match=f"no answer within {TIMEOUT_MS} ms"):
        engine.evaluate(E3["input"])
    assert time.perf_counter() - started < 0.9


def test_http_500_is_an_engine_error(server: OpaTestServer) -> None:
    server.faults.status = 500
    with pytest.raises(EngineError, match="HTTP 500 \\(injected fault\\)"):
        load_engine(opa_settings(server.url)).evaluate(E3["input"])


def test_undefined_decision_is_an_engine_error(server: OpaTestServer) -> None:
    server.faults.undefined = True
    with pytest.raises(EngineError, match="undefined"):
        load_engine(opa_settings(server.url)).evaluate(E3["input"])


@pytest.mark.parametrize(
    "answer",
    [
        {"allow": True},
        {"allow": "true", "violations": [], "policy_revision": ""},
        {
            "allow": True,
            "violations": [{"rule": "PM-01", "level": "severe", "message": "m"}],
            "policy_revision": "",
        },
        ["allow"],
        "allow",
    ],
)
def test_wrong_shape_is_an_engine_error(server: OpaTestServer, answer: object) -> None:
    server.faults.answer = answer
    with pytest.raises(EngineError, match=r"decision|not an object"):
        load_engine(opa_settings(server.url)).evaluate(E3["input"])


def test_failover_tries_the_next_server(server: OpaTestServer) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    decision = load_engine(opa_settings(down, server.url)).evaluate(E3["input"])
    assert decision == embedded_decision()


def test_a_server_that_failed_is_asked_last_until_its_rest_is_over(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hanging first URL must cost one timeout, not one per decision; and it is never dropped."""
    clock = [1000.0]
    monkeypatch.setattr(opa.time, "monotonic", lambda: clock[0])
    with serve_bundle(bundle) as first, serve_bundle(bundle) as second:
        first.faults.delay_s = TIMEOUT_MS / 1000 * 2
        engine = load_engine(opa_settings(first.url, second.url))
        for _ in range(5):
            assert engine.evaluate(E3["input"]) == embedded_decision()
        assert (first.requests, second.requests) == (1, 5)
        first.faults.delay_s = 0
        clock[0] += opa.REST_SECONDS + 1
        engine.evaluate(E3["input"])
        assert (first.requests, second.requests) == (2, 5)  # back in its configured place
        first.faults.status = second.faults.status = 500
        with pytest.raises(EngineError):
            engine.evaluate(E3["input"])
        second.faults.status = 0
        engine.evaluate(E3["input"])  # both resting: configured order, the resting server still asked
        assert (first.requests, second.requests) == (4, 7)


def test_every_server_failing_names_each_failure(server: OpaTestServer, bundle: Path) -> None:
    server.faults.status = 500
    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EngineError) as info:
        load_engine(opa_settings(server.url, down)).evaluate(E3["input"])
    assert f"{server.url}: HTTP 500" in str(info.value)
    assert f"{down}: cannot connect" in str(info.value)


def test_bearer_token_is_sent(bundle: Path) -> None:
    with serve_bundle(bundle, token="s3cret") as guarded:
        decision = load_engine(opa_settings(guarded.url, token="s3cret")).evaluate(E3["input"])
        assert decision.allow is False
        with pytest.raises(EngineError, match="HTTP 401"):
            load_engine(opa_settings(guarded.url, token="wrong")).evaluate(E3["input"])
        with pytest.raises(EngineError, match="HTTP 401"):
            load_engine(opa_settings(guarded.url)).evaluate(E3["input"])


def test_opa_engine_needs_urls() -> None:
    with pytest.raises(PolicyError, match=r"engine\.url"):
        load_engine(opa_settings())


@pytest.mark.parametrize("url", ["opa:8181", "ftp://opa", "http://opa:8181/v1/data", "http://opa:99999"])
def test_bad_urls_are_policy_errors(url: str) -> None:
    with pytest.raises(PolicyError, match="OPA URL"):
        OpaEngine(urls=[url])


def test_real_opa_serves_the_bundle(bundle: Path) -> None:
    with opa_binary(bundle) as url:
        engine = load_engine(opa_settings(url, timeout_ms=5000))
        for example in worked_examples():
            decision = engine.evaluate(example["input"])
            assert {v.rule: v.level for v in decision.violations} == example["expect"]["rules"]
        assert engine.evaluate(E3["input"]) == embedded_decision()


def test_malformed_input_is_refused_before_asking(server: OpaTestServer) -> None:
    broken = {**E3["input"], "columns": [{"table": "benefits", "column": "nhi"}]}
    with pytest.raises(EngineError, match="is malformed"):
        load_engine(opa_settings(server.url)).evaluate(broken)
    assert server.requests == 0
