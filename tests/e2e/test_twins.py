"""Meaning, not spelling: each twin case of twins.yaml through the real `kaitiaki check`.

A job that must be blocked and its nearest legitimate twin that must be allowed, each citing the
source of its answer (the rule's row in docs/legal-basis.md, the Privacy Act principle, Stats NZ's
output rules).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cli_runner import run_cli

TWINS = yaml.safe_load((Path(__file__).parent / "twins.yaml").read_text())
CASES: list[dict[str, Any]] = TWINS["cases"]


def test_the_corpus_is_pairs_with_sources() -> None:
    assert len(CASES) >= 60
    assert len({c["name"] for c in CASES}) == len(CASES)
    assert all(c.get("source") for c in CASES)
    assert sum(c["blocked"] for c in CASES) >= 30 and sum(not c["blocked"] for c in CASES) >= 30


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("twins") / "kaitiaki.yaml"
    path.write_text(TWINS["config"])
    return path


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_twin(case: dict[str, Any], config: Path) -> None:
    sql = config.parent / f"{case['name']}.sql"
    sql.write_text(case["sql"] + "\n")
    args = case.get("args") or ["--purpose", "plan"]
    result = run_cli(
        ["check", sql.name, "--config", str(config), "--format", "json", *args], cwd=config.parent
    )
    decision = json.loads(result.stdout)["jobs"][0]["decision"]
    found = {(v["rule"], v["level"]) for v in decision["violations"]}
    summary = [(v["rule"], v["level"], v["message"]) for v in decision["violations"]]
    assert result.exit_code == (1 if case["blocked"] else 0), (case["source"], summary, result.stderr)
    for rule, level in (case.get("fires") or {}).items():
        assert (rule, level) in found, (case["source"], summary)
    for rule in case.get("quiet") or []:
        assert rule not in {r for r, _ in found}, (case["source"], summary)
