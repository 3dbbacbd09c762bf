"""What every fuzz target shares: the hypothesis profiles, the real CLI run in-process, and the
property that no input ever gets past it — no traceback, no internal error, an exit status of
0, 1 or 2, and an error that is one paragraph.

Profiles (registered in ``conftest.py``): ``fuzz`` is the campaign ``make fuzz`` runs
(``HYPOTHESIS_PROFILE=fuzz``, 2,000 examples per target, five targets); otherwise every target
runs ``fuzz-short`` (a few dozen examples) as part of ``make test``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from tests.e2e.cli_runner import CliResult, run_cli

CAMPAIGN = "fuzz"
SHORT = "fuzz-short"
CAMPAIGN_EXAMPLES = int(os.environ.get("KAITIAKI_FUZZ_EXAMPLES", "2000"))  # a shorter campaign on request
SHORT_EXAMPLES = 30
PROFILE_ENV = "HYPOTHESIS_PROFILE"
ERROR_PREFIX = "kaitiaki: error: "
INTERNAL_ERROR = "kaitiaki: internal error: "
QUIET_HEALTH = (HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much)


def register_profiles() -> None:
    common: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": QUIET_HEALTH,
        "print_blob": True,
        "phases": tuple(p for p in Phase if p is not Phase.explain),  # explaining costs minutes
    }
    settings.register_profile(CAMPAIGN, max_examples=CAMPAIGN_EXAMPLES, **common)
    settings.register_profile(SHORT, max_examples=SHORT_EXAMPLES, **common)


def profile() -> settings:
    """The campaign profile under ``make fuzz``, else the short one (never the global default)."""
    register_profiles()  # idempotent; also when a target is imported outside pytest
    return settings.get_profile(CAMPAIGN if os.environ.get(PROFILE_ENV) == CAMPAIGN else SHORT)


def kaitiaki(args: Sequence[str], cwd: Path) -> CliResult:
    """The real ``kaitiaki`` CLI, in-process, with what it printed and its exit status."""
    return run_cli(list(args), cwd=cwd)


def assert_contained(result: CliResult, *, allowed_exits: Sequence[int] = (0, 1, 2)) -> None:
    """Whatever the input: a documented exit status, no traceback, no internal error, and an
    error (exit 2) told in one paragraph on one line of stderr."""
    shown = (
        f"exit {result.exit_code}\n--- stdout\n{result.stdout[-2000:]}\n--- stderr\n{result.stderr[-2000:]}"
    )
    assert result.exit_code in allowed_exits, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert INTERNAL_ERROR not in result.stderr, shown
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
        assert len(errors) == 1, shown
        assert not result.stdout.strip(), shown


def decision_document(result: CliResult) -> dict[str, Any]:
    """``--format json`` output of a run that decided (exit 0 or 1), checked against its exit."""
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["allow"] is (result.exit_code == 0), result.stdout[-2000:]
    return document


def violations_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for job in document["jobs"] for v in job["decision"]["violations"]]
