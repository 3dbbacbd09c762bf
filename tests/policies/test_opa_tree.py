"""The policy tree is an ordinary OPA tree: the real ``opa check --strict`` and ``opa test`` pass on
``policies/`` as it is (data files where OPA mounts them, rule data generated from the METADATA and
current), with the same test results as ``kaitiaki policy test``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kaitiaki.engine import engine_data, policy_set
from kaitiaki.engine.governance import run_policy_tests
from kaitiaki.engine.ruledata import render, rule_documents, stale_files
from kaitiaki.engine.sources import bundled_policies_dir
from tests.support.real_opa import REPO, run_opa

POLICIES = REPO / "policies"


def outcome(entry: dict[str, Any]) -> str:
    if entry.get("skip"):
        return "skip"
    return "fail" if entry.get("fail") or entry.get("error") else "pass"


def test_opa_check_strict_passes() -> None:
    result = run_opa("check", "--strict", str(POLICIES))
    assert result.returncode == 0, result.stdout + result.stderr


EXAMPLE = REPO / "examples" / "custom_policy" / "acme"


@pytest.mark.parametrize("trees", [(POLICIES,), (POLICIES, EXAMPLE)], ids=["library", "library+example"])
def test_opa_test_gives_the_same_results_as_kaitiaki_policy_test(trees: tuple[Path, ...]) -> None:
    result = run_opa("test", "--format", "json", *map(str, trees))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    by_opa = {(e["package"].removeprefix("data."), e["name"]): outcome(e) for e in json.loads(result.stdout)}
    report = run_policy_tests(list(trees))
    by_kaitiaki = {
        (r.package, r.name): "skip" if r.skipped else "pass" if r.passed else "fail" for r in report.results
    }
    if len(trees) > 1:
        # kaitiaki leaves out a library test file that names a package the organisation's folder
        # redeclares (main_test.rego names kaitiaki.custom.acme); OPA runs every file it is given.
        by_opa = {key: value for key, value in by_opa.items() if key in by_kaitiaki} | {
            key: value for key, value in by_opa.items() if value != "pass"
        }
    assert by_opa == by_kaitiaki
    assert len(by_opa) > 100 and set(by_opa.values()) == {"pass"}


def test_opa_sees_the_data_kaitiaki_loads() -> None:
    """OPA mounts the tree's data files where kaitiaki puts them (params, rules, violation fields)."""
    result = run_opa("eval", "--format", "json", "--data", str(POLICIES), "data.kaitiaki.params")
    assert result.returncode == 0, result.stderr
    seen_by_opa = json.loads(result.stdout)["result"][0]["expressions"][0]["value"]
    loaded = engine_data(policy_set(()))["kaitiaki"]
    assert seen_by_opa == loaded["params"]
    for name in ("rules", "violation_fields"):
        result = run_opa("eval", "--format", "json", "--data", str(POLICIES), f"data.kaitiaki.{name}")
        assert json.loads(result.stdout)["result"][0]["expressions"][0]["value"] == loaded[name], name


@pytest.mark.parametrize("tree", [bundled_policies_dir(), EXAMPLE], ids=["library", "example"])
def test_generated_rule_data_is_current(tree: Path) -> None:
    assert stale_files(tree) == [], "run `make policy-data` (or ruledata FOLDER) and commit the files"


def test_stale_rule_data_is_detected(tmp_path: Path) -> None:
    rule = (
        "package kaitiaki.custom.org\n\n# METADATA\n# title: Org rule\n# custom:\n#   id: ORG-1\n"
        '#   level: soft\nviolation contains "x" if false\n'
    )
    (tmp_path / "org.rego").write_text(rule)
    documents = rule_documents(tmp_path)
    assert set(stale_files(tmp_path)) == set(documents)
    for path, content in documents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(content))
    assert stale_files(tmp_path) == []
    (tmp_path / "org.rego").write_text(rule.replace("level: soft", "level: hard"))
    assert stale_files(tmp_path) == [
        tmp_path / "kaitiaki" / "rules" / "data.json",
        tmp_path / "kaitiaki" / "violation_fields" / "data.json",
    ]
