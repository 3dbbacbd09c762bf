"""Finding the policies: the bundled library as the base, configured paths adding or replacing
packages, data.json fragments merged under data.kaitiaki, and clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaitiaki.config import Settings
from kaitiaki.engine import engine_data, load_engine, policy_paths, policy_set
from kaitiaki.engine.sources import bundled_policies_dir
from kaitiaki.errors import PolicyError
from tests.policies.cases import case_input, worked_examples

FORK = """package kaitiaki.dpup.purpose_matters

import data.kaitiaki.lib
import rego.v1

# METADATA
# title: Only listed columns
# custom:
#   id: PM-05
#   level: hard
violation contains lib.violation("PM-05", "star", [], null) if {
	some col in input.columns
	col.from_star == true
}
"""


def test_bundled_library_is_found_in_the_checkout() -> None:
    root = bundled_policies_dir()
    assert (root / "kaitiaki" / "main.rego").is_file()
    assert policy_paths(Settings()) == [root]


def test_bundled_library_declares_one_package_per_guideline() -> None:
    packages = {f.package for f in policy_set(()).policy_files()}
    assert packages == {
        "kaitiaki.main",
        "kaitiaki.lib",
        "kaitiaki.dpup.purpose_matters",
        "kaitiaki.dpup.transparency_choice",
        "kaitiaki.dpup.access_information",
        "kaitiaki.dpup.sharing_value",
        "kaitiaki.dpup.system",
    }


def test_every_policy_file_has_a_test_file_beside_it() -> None:
    files = policy_set(()).files
    tests = {f.path for f in files if f.is_test}
    for policy in (f for f in files if not f.is_test):
        assert policy.path.with_name(policy.path.stem + "_test.rego") in tests, policy.name


def test_a_configured_package_replaces_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "pm.rego").write_text(FORK)
    policies = policy_set([tmp_path])
    sources = {f.path.name for f in policies.files if f.package == "kaitiaki.dpup.purpose_matters"}
    assert sources == {"pm.rego"}
    assert "purpose_matters_test.rego" not in {f.path.name for f in policies.files}
    assert "sharing_value.rego" in {f.path.name for f in policies.files}
    engine = load_engine(Settings(policies=(tmp_path,)))
    rules = {v.rule: v.level for v in engine.evaluate(worked_examples()[1]["input"]).violations}
    assert rules == {"PM-05": "hard"}


def test_a_data_file_under_kaitiaki_is_mounted_where_opa_mounts_it(tmp_path: Path) -> None:
    """kaitiaki/acme/data.json is data.kaitiaki.acme, as for `opa run` on the folder; a data.json
    elsewhere stays a fragment of data.kaitiaki."""
    (tmp_path / "kaitiaki" / "acme").mkdir(parents=True)
    (tmp_path / "kaitiaki" / "acme" / "data.json").write_text(json.dumps({"limit": 3}))
    (tmp_path / "kaitiaki" / "data.json").write_text(json.dumps({"org": {"name": "acme"}}))
    (tmp_path / "data.json").write_text(json.dumps({"org": {"x": 1}}))
    data = engine_data(policy_set([tmp_path]))["kaitiaki"]
    assert data["acme"] == {"limit": 3}
    assert data["org"] == {"name": "acme", "x": 1}
    assert "limit" not in data


def test_the_bundled_data_sits_where_opa_mounts_data_kaitiaki() -> None:
    data_files = policy_set(()).data_files
    assert data_files and all(d.opa_mounted for d in data_files), [str(d.path) for d in data_files]


def test_data_fragments_merge_under_data_kaitiaki(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text(json.dumps({"params": {"min_count_cell": 10}, "org": {"x": 1}}))
    settings = Settings(policies=(tmp_path,), levels={"PM-05": "advisory"}, identifier_issuers={"nhi": "moh"})
    data = engine_data(policy_set(settings), settings)["kaitiaki"]
    assert data["params"]["min_count_cell"] == 10
    assert data["params"]["min_magnitude_cell"] == 20
    assert data["org"] == {"x": 1}
    assert data["levels"] == {"PM-05": "advisory"}
    assert data["issuer"] == {"nhi": "moh"}
    assert data["rules"]["PM-01"]["title"] == "Purpose declared"


def test_invalid_data_json_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text('{\n  "params": {\n    "min_count_cell": 6,\n  }\n}\n')
    with pytest.raises(PolicyError) as info:
        policy_set([tmp_path])
    assert info.value.path == str(tmp_path / "data.json")
    assert info.value.line == 4


def test_data_json_must_be_an_object(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("[1, 2]")
    with pytest.raises(PolicyError, match="must hold an object"):
        policy_set([tmp_path])


def test_policy_without_package_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.rego").write_text("allow := true\n")
    with pytest.raises(PolicyError, match="declares no package"):
        policy_set([tmp_path])


def test_missing_policy_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        policy_set([tmp_path / "nowhere"])


def test_hidden_folders_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "junk.rego").write_text("not rego at all")
    assert policy_set([tmp_path]).files == policy_set(()).files


def test_production_modules_leave_tests_out() -> None:
    names = [name for name, _ in policy_set(()).modules()]
    assert names and not any(name.endswith("_test.rego") for name in names)
    assert any(name.endswith("_test.rego") for name, _ in policy_set(()).modules(tests=True))


def test_configured_engine_decides_with_custom_data(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text(json.dumps({"params": {"rounding_tags": ["rounded:rr3"]}}))
    people = {
        "min": 6,
        "distinct": True,
        "columns": ["t.k"],
        "tables": [],
        "joined": False,
        "population": "all",
    }
    case = {
        "columns": [
            {"table": "t", "column": "region", "uses": ["select", "group"], "outputs": ["region"]},
            {
                "table": "t",
                "column": "k",
                "categories": ["person_key"],
                "transforms": ["aggregate"],
                "outputs": ["n"],
            },
        ],
        "outputs": [{"column": "n", "transforms": ["aggregate"]}],
        "patch": {
            "job": {"destination": {"kind": "external"}, "tags": ["rounded:rr3"]},
            "aggregation": {
                "grouped": True,
                "count": True,
                "min_group_size": 6,
                "cells": [{"populations": ["all"], "thresholds": [people]}],
            },
        },
    }
    assert load_engine(Settings(policies=(tmp_path,))).evaluate(case_input(case)).allow is True
    assert load_engine(Settings()).evaluate(case_input(case)).allow is False
