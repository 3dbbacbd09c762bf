"""The OPA engine under a small concurrent load, on loopback: every decision answered, and each
the same as the embedded engine's for the same input; a failing server under the same load
blocks every job through the gate. No timing is asserted (``bench/opa_load.py`` measures it).

Real parts: the OPA engine (opa-python-client) from 8 threads sharing it, and the OPA-API test
server in its own process on 127.0.0.1 evaluating the bundled DPUP library with regorus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.opa_load import (
    build_test_bundle,
    embedded_decisions,
    opa_settings,
    run_load,
    server_process,
    worked_inputs,
)
from kaitiaki.engine import load_engine
from kaitiaki.gate import Gate

DECISIONS = 200
CONCURRENCY = 8


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_test_bundle(tmp_path_factory.mktemp("opa-load") / "bundle.tar.gz")


def test_concurrent_decisions_are_all_answered_and_identical(bundle: Path) -> None:
    inputs = worked_inputs()
    expected = embedded_decisions(inputs)
    with server_process(bundle) as url:
        result = run_load(
            load_engine(opa_settings(url)).evaluate, inputs, decisions=DECISIONS, concurrency=CONCURRENCY
        )
    assert result.errors == []
    assert len(result.answers) == DECISIONS and None not in result.answers
    assert result.differing(expected) == 0
    assert (
        {answer.allow for answer in result.answers if answer} == {e.allow for e in expected} == {True, False}
    )


def test_a_failing_server_under_load_blocks_every_decision(bundle: Path) -> None:
    with server_process(bundle, status=500) as url:
        gate = Gate(opa_settings(url))
        result = run_load(gate.evaluate, worked_inputs(), decisions=DECISIONS // 2, concurrency=CONCURRENCY)
    assert result.errors == []
    rules = [[v.rule for v in answer.violations] for answer in result.answers if answer]
    assert len(rules) == DECISIONS // 2
    assert all(answer is not None and not answer.allow for answer in result.answers)
    assert all(found == ["SYS-02"] for found in rules)
