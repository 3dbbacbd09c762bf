"""Worker processes decide exactly as the main process does (a generated 96-model project)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kaitiaki_dbt.checker import ProjectChecker
from kaitiaki_dbt.manifest import load_manifest

from bench.gen_manifest import write
from kaitiaki.config import load_settings
from kaitiaki.gate import Gate

pytestmark = pytest.mark.dbt


def decide_all(project_dir: Path, workers: int) -> tuple[list[dict[str, Any]], bool]:
    project = load_manifest(project_dir / "target" / "manifest.json")
    gate = Gate(load_settings(project_dir / "kaitiaki.yaml"), entry_point="dbt")
    checker = ProjectChecker(project, gate, project_dir=project_dir, workers=workers)
    verdicts = checker.check(project.models())
    return [{**v.to_dict(), "blocked": v.blocked} for v in verdicts], checker.pool is not None


def test_workers_reach_the_same_verdicts_as_one_process(tmp_path: Path) -> None:
    write(tmp_path, models=96, seed=3)
    serial, used_pool = decide_all(tmp_path, workers=1)
    assert not used_pool
    parallel, used_pool = decide_all(tmp_path, workers=2)
    assert used_pool  # the marts wave (about half the models) went to the workers
    assert len(serial) == 96
    assert {v["decision"]["allow"] for v in serial} == {True, False}
    assert parallel == serial
