"""Governance tooling: policy tests like `opa test` (with coverage), the generated policy
reference, and OPA bundles an OPA server loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaitiaki.config import Settings
from kaitiaki.engine import load_engine, policy_metadata, policy_set
from kaitiaki.engine.governance import build_bundle, render_policy_docs, run_policy_tests, write_policy_docs
from kaitiaki.engine.metadata import rule_metadata
from kaitiaki.engine.sources import bundled_policies_dir
from kaitiaki.errors import PolicyError
from tests.policies.cases import ISSUERS, worked_examples
from tests.policies.engines import opa_local_engine
from tests.support.opa_server import BundleError, read_bundle, serve_bundle, tarball_members

REPO = Path(__file__).resolve().parents[2]
LIBRARY = bundled_policies_dir()

FAILING = """package kaitiaki.tests.org

import rego.v1

test_passes if true

test_fails if 1 == 2

test_errors if {
  x := 1 / count(input.nothing_here) with input as {"nothing_here": []}
  x > 0
}

todo_test_later if false
"""


def test_bundled_library_tests_pass_with_coverage() -> None:
    report = run_policy_tests([LIBRARY], coverage=True)
    assert report.failed == 0, report.render_text()
    assert report.passed == len(report.results) >= 2 * len(policy_metadata())
    assert {Path(c.path).name for c in report.coverage} >= {"purpose_matters.rego", "main.rego", "lib.rego"}
    assert all(c.percent >= 90 for c in report.coverage), [(c.path, c.percent) for c in report.coverage]
    assert not any(c.path.endswith("_test.rego") for c in report.coverage)
    text = report.render_text()
    assert f"PASS: {report.passed}/{report.passed}" in text
    assert "total" in text


def test_failures_errors_and_todos_are_reported(tmp_path: Path) -> None:
    (tmp_path / "org_test.rego").write_text(FAILING)
    report = run_policy_tests([tmp_path])
    by_name = {r.name: r for r in report.results}
    assert (report.passed, report.failed, report.skipped) == (1, 2, 1)
    assert by_name["test_fails"].error == "undefined"
    assert by_name["test_fails"].line == 7
    assert "divide by zero" in str(by_name["test_errors"].error)
    assert by_name["todo_test_later"].skipped
    text = report.render_text()
    assert "FAIL kaitiaki.tests.org.test_fails (" in text and "org_test.rego:7)" in text
    assert "SKIPPED kaitiaki.tests.org.todo_test_later" in text
    doc = report.to_dict()
    assert doc["summary"] == {"passed": 1, "failed": 2, "skipped": 1}
    assert {t["name"] for t in doc["tests"] if not t["pass"] and not t["skip"]} == {
        "test_fails",
        "test_errors",
    }
    assert "coverage" not in doc


def test_only_tests_under_the_given_paths_run(tmp_path: Path) -> None:
    (tmp_path / "org_test.rego").write_text(
        "package kaitiaki.tests.org\n\nimport rego.v1\n\ntest_one if true\n"
    )
    report = run_policy_tests([tmp_path], coverage=True)
    assert [r.name for r in report.results] == ["test_one"]
    assert report.to_dict()["coverage"] == {"files": {}, "coverage": 100.0}


def test_policy_that_does_not_compile_is_a_policy_error(tmp_path: Path) -> None:
    (tmp_path / "bad_test.rego").write_text("package kaitiaki.tests.bad\n\ntest_x if {\n")
    with pytest.raises(PolicyError) as info:
        run_policy_tests([tmp_path])
    assert str(info.value.path).endswith("bad_test.rego")


def test_policy_docs_cover_every_rule(tmp_path: Path) -> None:
    out = write_policy_docs([LIBRARY], tmp_path / "docs" / "policies.md")
    text = out.read_text()
    for rule_id, meta in policy_metadata().items():
        assert f"## {rule_id}: {meta['title']}" in text
        assert f"| [{rule_id}](#" in text
        assert meta["remediation"] in text
    assert "advisory; hard (off agency)" in text


def test_committed_policy_reference_is_up_to_date() -> None:
    policies = policy_set([LIBRARY])
    expected = render_policy_docs(rule_metadata(policies.policy_files()), policies)
    assert (REPO / "docs" / "policies.md").read_text() == expected, "run `kaitiaki policy docs`"


def test_bundle_layout_manifest_and_data(tmp_path: Path) -> None:
    settings = Settings(levels={"PM-05": "advisory"}, identifier_issuers=ISSUERS)
    bundle = build_bundle([LIBRARY], tmp_path / "b.tar.gz", settings=settings)
    members = tarball_members(bundle)
    manifest = json.loads(members[".manifest"])
    data = json.loads(members["kaitiaki/data.json"])
    assert manifest["roots"] == ["kaitiaki"]
    assert manifest["revision"] == data["revision"] == load_engine(settings).revision
    assert data["levels"] == {"PM-05": "advisory"} and data["issuer"] == ISSUERS
    assert data["rules"]["SV-06"]["level_off_agency"] == "hard"
    assert data["params"]["min_count_cell"] == 6
    rego = sorted(name for name in members if name.endswith(".rego"))
    assert "kaitiaki/main/main.rego" in rego
    assert not any(name.endswith("_test.rego") for name in rego)
    assert read_bundle(bundle).roots == ("kaitiaki",)


def test_bundle_paths_follow_the_packages_wherever_the_files_were_found(tmp_path: Path) -> None:
    """An installed wheel keeps the library in kaitiaki/_policies: the bundle must not say so."""
    import shutil

    installed = tmp_path / "site-packages" / "kaitiaki" / "_policies"
    shutil.copytree(LIBRARY, installed)
    from_checkout = tarball_members(build_bundle([LIBRARY], tmp_path / "a.tar.gz"))
    from_wheel = tarball_members(build_bundle([installed], tmp_path / "b.tar.gz"))
    assert sorted(n for n in from_wheel if n.endswith(".rego")) == sorted(
        n for n in from_checkout if n.endswith(".rego")
    )
    assert "kaitiaki/dpup/purpose_matters/purpose_matters.rego" in from_wheel
    assert not any("_policies" in name or "policies/" in name for name in from_wheel)


def test_empty_levels_and_issuers_are_objects(tmp_path: Path) -> None:
    data = json.loads(
        tarball_members(build_bundle([LIBRARY], tmp_path / "b.tar.gz", settings=Settings()))[
            "kaitiaki/data.json"
        ]
    )
    assert data["levels"] == {} and data["issuer"] == {}


def test_bundles_are_reproducible_and_take_an_explicit_revision(tmp_path: Path) -> None:
    first = build_bundle([LIBRARY], tmp_path / "1.tar.gz")
    second = build_bundle([LIBRARY], tmp_path / "2.tar.gz")
    assert first.read_bytes() == second.read_bytes()
    tagged = build_bundle([LIBRARY], tmp_path / "3.tar.gz", "v2026.11.1")
    assert json.loads(tarball_members(tagged)[".manifest"])["revision"] == "v2026.11.1"
    with opa_local_engine(tagged) as engine:
        assert engine.evaluate(worked_examples()[0]["input"]).policy_revision == "v2026.11.1"


def test_bundle_with_custom_package_serves_it(tmp_path: Path) -> None:
    example = REPO / "examples" / "custom_policy" / "acme"
    bundle = build_bundle([example], tmp_path / "b.tar.gz")
    assert "kaitiaki/custom/acme/payroll.rego" in tarball_members(bundle)
    with serve_bundle(bundle) as server:
        defined, rules = server.evaluate("kaitiaki/rules", {})
    assert defined and "ACME-01" in rules


def test_server_refuses_data_outside_the_roots(tmp_path: Path) -> None:
    import tarfile

    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        for name, text in {
            ".manifest": '{"revision": "x", "roots": ["kaitiaki"]}',
            "other/data.json": "{}",
        }.items():
            path = tmp_path / name.replace("/", "_")
            path.write_text(text)
            tar.add(path, arcname=name)
    with pytest.raises(BundleError, match="outside the bundle roots"):
        read_bundle(bad)
