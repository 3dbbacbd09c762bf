"""examples/custom_policy: an organisation's package under kaitiaki.custom, loaded beside the DPUP
library from kaitiaki.yaml, tested with `kaitiaki policy test`."""

from __future__ import annotations

from pathlib import Path

from kaitiaki.config import load_settings
from kaitiaki.engine import load_engine, policy_metadata
from kaitiaki.engine.governance import run_policy_tests
from tests.policies.cases import case_input, worked_examples

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_policy"
PAYROLL = {"name": "payroll", "select": {"payroll.salaries.gross_pay": []}}


def test_custom_rule_joins_the_decision_at_the_configured_level() -> None:
    engine = load_engine(load_settings(EXAMPLE / "kaitiaki.yaml"))
    decision = engine.evaluate(case_input(PAYROLL))
    assert decision.allow is False
    [violation] = decision.violations
    assert (violation.rule, violation.level, violation.columns) == (
        "ACME-01",
        "hard",
        ("payroll.salaries.gross_pay",),
    )
    assert violation.title == "Payroll data stays with payroll"
    allowed = case_input({**PAYROLL, "patch": {"job": {"purpose": "payroll-run"}}})
    assert engine.evaluate(allowed).allow is True


def test_dpup_library_still_applies_beside_the_custom_package() -> None:
    engine = load_engine(load_settings(EXAMPLE / "kaitiaki.yaml"))
    rules = {v.rule for v in engine.evaluate(worked_examples()[1]["input"]).violations}
    assert rules == {"PM-05", "PM-07"}


def test_custom_metadata_and_tests() -> None:
    assert policy_metadata([EXAMPLE / "acme"])["ACME-01"]["package"] == "kaitiaki.custom.acme"
    report = run_policy_tests([EXAMPLE], coverage=True)
    assert (report.passed, report.failed) == (3, 0)
    assert [c.percent for c in report.coverage] == [100.0]
