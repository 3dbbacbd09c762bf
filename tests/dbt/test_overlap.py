"""Deciding nodes while dbt compiles them (overlap.py) decides exactly as deciding after the
compile does (``KAITIAKI_WORKERS=1``: no worker, no overlap), and fails closed.

Real dbt-core + dbt-duckdb on the route fixture (snapshots, hooks, seeds, a test storing
failures, unit tests) with an ephemeral model added. ``KAITIAKI_WORKERS=2`` is set so that the
overlap runs whatever the machine's cores. The spies below wrap the real methods (to see how
many nodes were decided while dbt compiled, or to kill a real worker at a real moment).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from kaitiaki_dbt import overlap
from kaitiaki_dbt.checker import Early, ProjectChecker
from kaitiaki_dbt.evaluate import ModelOutcome
from kaitiaki_dbt.manifest import DbtProject, descendants, load_manifest
from kaitiaki_dbt.workers import WorkerPool

from bench.gen_manifest import write
from kaitiaki.config import load_settings
from kaitiaki.gate import Gate
from tests.dbt.conftest import copy_example, run_dbt_command
from tests.dbt.routes import route_project, tables
from tests.e2e.cli_runner import CliResult

pytestmark = pytest.mark.dbt

EPHEMERAL = {
    "route_eph_names.sql": "{{ config(materialized='ephemeral') }}\n"
    "select full_name, region from {{ ref('stg_msd_clients') }}\n",
    "route_eph_export.sql": "select full_name, region from {{ ref('route_eph_names') }}\n",
    "route_eph_count.sql": "select region, count(*) as clients from {{ ref('route_eph_names') }}\n"
    "group by region having count(*) >= 6\n",
}


def project_with_ephemeral(destination: Path) -> Path:
    project = route_project(destination)
    for name, sql in EPHEMERAL.items():
        (project / "models" / "marts" / name).write_text(sql)
    return project


def early_counts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(decided while dbt compiled, kept after it) of each check, from the real ``adopt``."""
    seen: list[tuple[int, int]] = []
    adopt = ProjectChecker.adopt

    def spy(self: ProjectChecker, project: DbtProject) -> None:
        before = len(self.early)
        adopt(self, project)
        seen.append((before, len(self.early)))

    monkeypatch.setattr(ProjectChecker, "adopt", spy)
    return seen


def jobs(result: CliResult, project: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(result.stdout.replace(str(project), "<project>"))["jobs"]
    return found


def test_deciding_while_dbt_compiles_builds_exactly_what_deciding_after_it_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = early_counts(monkeypatch)
    built: dict[str, tuple[CliResult, Path]] = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("KAITIAKI_WORKERS", workers)
        project = project_with_ephemeral(tmp_path / workers / "nz_social")
        built[workers] = (run_dbt_command(project, "build", "--no-cache", "--format", "json"), project)
    (after, after_dir), (during, during_dir) = built["1"], built["2"]
    assert after.exit_code == during.exit_code == 1, during.stderr
    assert jobs(during, during_dir) == jobs(after, after_dir)
    assert tables(during_dir / "nz_social.duckdb") == tables(after_dir / "nz_social.duckdb")
    # what was left out with the blocked nodes is the same too (dbt's exclusions follow verdicts)
    left_out = [line for line in during.stderr.splitlines() if "excluded with them" in line]
    assert left_out and left_out == [
        line for line in after.stderr.splitlines() if "excluded with them" in line
    ]
    decided = {job["job"]["id"]: job["decision"]["allow"] for job in jobs(during, during_dir)}
    for blocked in (
        "dbt:snapshot.nz_social.client_contacts",
        "dbt:seed.nz_social.contact_list",
        "dbt:model.nz_social.route_post_leak#post-hook.0",
        "dbt:test.nz_social.missing_ird_numbers",
        "dbt:unit_test.nz_social.route_audited.route_audited_on_real_clients",
        "dbt:model.nz_social.route_eph_export",
    ):
        assert decided[blocked] is False, blocked
    assert seen[0] == (0, 0)  # KAITIAKI_WORKERS=1: nothing decided while dbt compiled
    # most nodes were decided while dbt compiled, and kept; dbt's compile adds macros to the
    # depends_on of Python models and generic tests: those few were decided again after it
    early, kept = seen[1]
    assert early >= kept > 20
    assert not multiprocessing.active_children()


def checked(project: Path) -> CliResult:
    return run_dbt_command(project, "check", "--no-cache", "--format", "json")


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KAITIAKI_WORKERS", "2")
    return copy_example(tmp_path / "nz_social")


def test_a_worker_killed_while_dbt_compiles_fails_the_check_closed(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = overlap.CompileOverlap.compiled

    def kill_first(self: overlap.CompileOverlap, node: Any) -> None:
        assert self.checker.pool is not None  # --no-cache: started before dbt parsed
        for worker in self.checker.pool.workers:
            if worker.process.is_alive():
                os.kill(worker.process.pid or 0, signal.SIGKILL)
                worker.process.join()
        compiled(self, node)

    monkeypatch.setattr(overlap.CompileOverlap, "compiled", kill_first)
    result = checked(example)
    assert result.exit_code == 2 and result.stdout == ""
    assert "worker process" in result.stderr and "SIGKILL" in result.stderr
    assert "nothing was allowed" in result.stderr and "ALLOWED" not in result.stderr
    assert not multiprocessing.active_children()


def test_an_error_following_dbt_s_compile_fails_the_check_closed(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(node: Any) -> dict[str, Any]:
        raise RuntimeError(f"injected while reading {node.unique_id}")

    monkeypatch.setattr(overlap, "compiled_fields", broken)
    result = checked(example)
    assert result.exit_code == 2 and result.stdout == ""
    assert "could not decide the dbt nodes while dbt compiled them" in result.stderr
    assert "injected while reading" in result.stderr and "ALLOWED" not in result.stderr
    assert not multiprocessing.active_children()


def test_a_failed_compile_stops_the_workers_and_is_one_error(example: Path) -> None:
    (example / "models" / "marts" / "broken.sql").write_text("select {{ var('never_set') }} as x\n")
    result = checked(example)
    assert result.exit_code == 2 and result.stdout == ""
    assert "dbt compile failed" in result.stderr and "never_set" in result.stderr
    assert "SYS-01" not in result.stderr
    assert not multiprocessing.active_children()


def test_a_node_the_overlap_never_heard_of_is_decided_after_the_compile(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = checked(example)
    seen = early_counts(monkeypatch)
    compiled = overlap.CompileOverlap.compiled

    def deaf(self: overlap.CompileOverlap, node: Any) -> None:
        if node.unique_id != "model.nz_social.int_client_keys":
            compiled(self, node)

    monkeypatch.setattr(overlap.CompileOverlap, "compiled", deaf)
    result = checked(example)
    assert result.exit_code == reference.exit_code == 1
    assert jobs(result, example) == jobs(reference, example)
    early, kept = seen[-1]
    assert 0 < early == kept < len(jobs(result, example))  # it and what reads it: decided after


def generated(tmp_path: Path) -> tuple[DbtProject, Gate]:
    write(tmp_path, models=40, seed=3)
    project = load_manifest(tmp_path / "target" / "manifest.json")
    return project, Gate(load_settings(tmp_path / "kaitiaki.yaml"), entry_point="dbt")


def test_an_outcome_reached_from_another_node_than_dbt_compiled_is_decided_again(tmp_path: Path) -> None:
    project, gate = generated(tmp_path)
    reference = [
        v.to_dict() for v in ProjectChecker(project, gate, project_dir=tmp_path).check(project.models())
    ]
    checker = ProjectChecker(project, gate, project_dir=tmp_path)
    order = checker.plan(project.models())[1]
    victim = next(uid for uid in order if descendants(project, [uid]))
    lie = ModelOutcome(None, {"x": ""}, {"t.x": ("ird_number",)})
    other = {**project.graph()[victim], "compiled_code": "select 1 as x"}
    checker.early = {victim: Early(lie, other, "key", 0.0, cached=False)}
    checker.outcomes = {victim: lie}
    checker.adopt(project)
    assert checker.early == {} and checker.outcomes == {}
    assert [v.to_dict() for v in checker.check(project.models())] == reference


def test_a_project_that_changed_beyond_compiled_sql_drops_every_early_outcome(tmp_path: Path) -> None:
    project, gate = generated(tmp_path)
    checker = ProjectChecker(project, gate, project_dir=tmp_path)
    uid = checker.plan(project.models())[1][0]
    outcome = ModelOutcome(None, {"x": ""}, {})
    checker.early = {uid: Early(outcome, project.graph()[uid], "key", 0.0, cached=False)}
    checker.outcomes = {uid: outcome}
    kept = ProjectChecker(project, gate, project_dir=tmp_path)
    kept.early, kept.outcomes = dict(checker.early), dict(checker.outcomes)
    kept.adopt(project)
    assert kept.early == checker.early  # same node, same project: kept
    nodes = {**project.nodes, uid: {**project.nodes[uid], "meta": {"changed": True}}}
    changed = DbtProject(manifest={**project.manifest, "nodes": nodes}, path=project.path)
    checker.adopt(changed)
    assert checker.early == {} and checker.outcomes == {}


def test_a_warm_run_starts_no_worker_and_a_changed_model_is_decided_as_without_workers(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    start = WorkerPool.__init__

    def counted(self: WorkerPool, *args: Any) -> None:
        start(self, *args)
        started.append(len(self.workers))

    monkeypatch.setattr(WorkerPool, "__init__", counted)
    cold = run_dbt_command(example, "check", "--format", "json")  # no cache yet: workers at once
    assert started == [1]
    warm = run_dbt_command(example, "check", "--format", "json")
    assert started == [1]  # every node answered by the cache: no worker started
    assert jobs(warm, example) == jobs(cold, example)
    model = example / "models" / "staging" / "msd" / "stg_msd_clients.sql"
    model.write_text(model.read_text() + "\n-- changed: this and what reads it miss the cache\n")
    changed = run_dbt_command(example, "check", "--format", "json")
    monkeypatch.setenv("KAITIAKI_WORKERS", "1")
    alone = checked(example)
    assert changed.exit_code == alone.exit_code == 1
    assert jobs(changed, example) == jobs(alone, example)


@dataclass
class CompiledNode:
    """A stand-in for dbt's compiled node object with the fields ``compiled_fields`` reads: dbt
    compiles each node once per compile, so a node compiled twice cannot be produced with dbt."""

    unique_id: str
    compiled_code: str
    compiled_path: str | None
    compiled: bool = True
    extra_ctes: list[Any] = field(default_factory=list)
    extra_ctes_injected: bool = True


def test_a_node_compiled_twice_is_decided_again_after_the_compile(tmp_path: Path) -> None:
    """Were a node handed over twice (a first rendering, then the final one), both are decided;
    the outcome that arrives last must not be kept for the other rendering, nor its children's
    outcomes reached from it. Here the first rendering's outcome arrives last (this process
    decides the queued tasks last first): it and what reads it are decided again after the
    compile, exactly as without the overlap."""
    generated_project, gate = generated(tmp_path)
    order = ProjectChecker(generated_project, gate).plan(generated_project.models())[1]
    victim = next(uid for uid in order if descendants(generated_project, [uid]))
    final = {  # the victim as dbt's manifest has it, every compiled key written
        **generated_project.nodes[victim],
        **{"compiled": True, "compiled_path": None, "extra_ctes": [], "extra_ctes_injected": True},
    }
    nodes = {**generated_project.nodes, victim: final}
    project = replace(generated_project, manifest={**generated_project.manifest, "nodes": nodes})
    reference = [
        v.to_dict() for v in ProjectChecker(project, gate, project_dir=tmp_path).check(project.models())
    ]
    checker = ProjectChecker(project, gate, project_dir=tmp_path)
    scheduler = overlap.CompileOverlap(checker, 1, project.models())
    scheduler.finishing = True  # dbt is done: this process decides the queue, last queued first
    for code in ("select 1 as x", final["compiled_code"]):  # the first rendering, then the final
        scheduler.compiled(CompiledNode(victim, code, None))
        scheduler.take_compiled()
        scheduler.dispatch()
    scheduler.run()  # the scheduling thread's loop, here: the final rendering is decided first
    scheduler.close()
    assert scheduler.error is None
    checker.adopt(project)
    assert all(early.outcome.columns != {"x": ""} for early in checker.early.values())
    assert [v.to_dict() for v in checker.check(project.models())] == reference
