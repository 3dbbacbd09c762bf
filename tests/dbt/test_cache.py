"""The verdict cache: a warm run answers from it with identical verdicts, and any change misses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from kaitiaki_dbt.cache import CACHE_NAME, VerdictCache
from kaitiaki_dbt.checker import ProjectChecker
from kaitiaki_dbt.manifest import DbtProject, load_manifest

from kaitiaki.config import load_settings
from kaitiaki.gate import Gate
from kaitiaki.model import Verdict
from tests.dbt.conftest import BuiltProject

pytestmark = pytest.mark.dbt


def run(
    project: DbtProject, config: Path, cache_file: Path, root: Path
) -> tuple[VerdictCache, list[Verdict]]:
    gate = Gate(load_settings(config), entry_point="dbt")
    cache = VerdictCache(cache_file, gate)
    verdicts = ProjectChecker(project, gate, project_dir=root, cache=cache).check(set(project.models()))
    return cache, verdicts


def comparable(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    return [
        {
            **v.to_dict(),
            "blocked": v.blocked,
            "facts": v.facts.to_dict(with_categories=True) if v.facts else None,
        }
        for v in verdicts
    ]


def test_warm_run_is_answered_by_the_cache_with_the_same_verdicts(
    built: BuiltProject, tmp_path: Path
) -> None:
    project = load_manifest(built.manifest)
    config, cache_file = built.path / "kaitiaki.yaml", tmp_path / CACHE_NAME
    cold_cache, cold = run(project, config, cache_file, built.path)
    assert (cold_cache.hits, cold_cache.misses) == (0, 21)
    warm_cache, warm = run(project, config, cache_file, built.path)
    assert (warm_cache.hits, warm_cache.misses) == (21, 0)  # 16 models, 5 seeds they read
    assert comparable(warm) == comparable(cold)


def test_a_changed_model_misses_with_everything_its_change_reaches(
    built: BuiltProject, tmp_path: Path
) -> None:
    config, cache_file = built.path / "kaitiaki.yaml", tmp_path / CACHE_NAME
    run(load_manifest(built.manifest), config, cache_file, built.path)
    data = copy.deepcopy(built.manifest_data())
    node = data["nodes"]["model.nz_social.int_client_keys"]
    node["compiled_code"] = node["compiled_code"].replace("benefit_type\n", "benefit_type,\n    ethnicity\n")
    assert "ethnicity" in node["compiled_code"]
    cache, verdicts = run(DbtProject(manifest=data, path=built.manifest), config, cache_file, built.path)
    assert (cache.hits, cache.misses) == (
        19,
        2,
    )  # int_client_keys, and client_profile_offshore which reads it
    keys = next(v for v in verdicts if v.job.name == "int_client_keys")
    assert not keys.decision.allow and "PM-08" in {x.rule for x in keys.decision.violations}


def test_a_changed_configuration_misses_everything(built: BuiltProject, tmp_path: Path) -> None:
    cache_file = tmp_path / CACHE_NAME
    project = load_manifest(built.manifest)
    _, before = run(project, built.path / "kaitiaki.yaml", cache_file, built.path)
    edited = tmp_path / "kaitiaki.yaml"
    edited.write_text(
        (built.path / "kaitiaki.yaml").read_text().replace("expires: 2028-06-30", "expires: 2020-01-01")
    )
    cache, after = run(project, edited, cache_file, built.path)
    assert cache.hits == 0
    was_allowed = {v.job.id for v in before if v.decision.allow and v.job.purpose}
    now = {v.job.id: v for v in after}
    assert was_allowed
    for job_id in was_allowed:
        assert "PM-02" in {x.rule for x in now[job_id].decision.violations}, job_id


def test_an_unreadable_cache_is_an_empty_one(built: BuiltProject, tmp_path: Path) -> None:
    cache_file = tmp_path / CACHE_NAME
    cache_file.write_text("{not json")
    cache, verdicts = run(load_manifest(built.manifest), built.path / "kaitiaki.yaml", cache_file, built.path)
    assert cache.hits == 0 and len(verdicts) == 16
    assert cache_file.read_text().startswith('{"format":1')
