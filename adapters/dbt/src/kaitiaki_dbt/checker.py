"""Decide every selected model of a compiled dbt project, upstream first.

Models are taken in waves: a wave holds the models whose parents are all done, so each model is
analysed knowing what its parents produce (output columns, to expand ``select *``; categories
that flowed into them, ``inherited``). Unselected ancestors are analysed and classified for that
purpose but not decided. Each model is looked up in the verdict cache first; the misses of a
wide wave are evaluated by worker processes (one per core), the rest in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from kaitiaki.config import Settings
from kaitiaki.gate import Gate
from kaitiaki.model import Job, Verdict
from kaitiaki_dbt.cache import VerdictCache, digest, model_cache_key
from kaitiaki_dbt.evaluate import ModelEvaluator, ModelOutcome, Task
from kaitiaki_dbt.jobs import model_dialect, node_job, route_sql
from kaitiaki_dbt.manifest import RELATION_TYPES, DbtProject, Node, ancestors, parents, topological_order
from kaitiaki_dbt.positions import node_positions, repo_relative
from kaitiaki_dbt.schema import known_columns, meta_entry
from kaitiaki_dbt.secrets import node_secret_spans, shadowed
from kaitiaki_dbt.workers import WorkerPool

MIN_PARALLEL = 32


def waves(project: DbtProject, order: Sequence[str]) -> list[list[str]]:
    """``order`` (topological) cut into waves whose models depend only on earlier waves."""
    graph = project.graph()
    level: dict[str, int] = {}
    for uid in order:
        level[uid] = 1 + max((level[p] for p in parents(graph[uid]) if p in level), default=-1)
    grouped: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for uid in order:
        grouped[level[uid]].append(uid)
    return grouped


class ProjectChecker:
    """Checks the models of one project under one Gate; use it for one run."""

    def __init__(
        self,
        project: DbtProject,
        gate: Gate,
        *,
        project_dir: Path | None = None,
        cache: VerdictCache | None = None,
        workers: int = 1,
        progress: Callable[[Verdict, float], None] | None = None,
        repo_root: Path | None = None,
    ) -> None:
        self.project = project
        self.gate = gate
        self.project_dir = project_dir
        self.cache = cache
        self.workers = workers
        self.progress = progress
        self.repo_root = repo_root
        self.nodes = project.graph()
        self.has_children = {p for node in self.nodes.values() for p in parents(node)}
        self.evaluator = ModelEvaluator(project, gate, project_dir)
        self.outcomes: dict[str, ModelOutcome] = {}
        self.digests: dict[str, str] = {}
        self.pool: WorkerPool | None = None

    def check(self, selected: Iterable[str]) -> list[Verdict]:
        """Verdicts for the selected models, in topological order."""
        chosen = {uid for uid in selected if uid in self.nodes}
        order = topological_order(self.project, chosen | ancestors(self.project, chosen))
        try:
            for wave in waves(self.project, order):
                self.run_wave(wave, chosen)
        finally:
            if self.pool is not None:
                self.pool.close()
        if self.cache is not None:
            self.cache.save()
        return [self.located(v) for uid in order if (v := self.outcomes[uid].verdict) is not None]

    def located(self, verdict: Verdict) -> Verdict:
        """The verdict with its source path relative to the repository root and, where it has
        findings, its SQL mapped to the source file's lines and columns (positions.py)."""
        job = verdict.job
        node = self.nodes.get(str(job.meta.get("unique_id")))
        path = repo_relative(job.source.path, self.project_dir, self.repo_root)
        positions = (
            node_positions(node, job.sql, self.project_dir) if node and verdict.decision.violations else ()
        )
        source = replace(job.source, path=path, positions=positions)
        return replace(verdict, job=replace(job, source=source))

    def run_wave(self, wave: Sequence[str], chosen: set[str]) -> None:
        """Cached outcomes first; the misses are evaluated, in workers when there are many."""
        misses: list[tuple[Task, str]] = []
        started = time.perf_counter()
        for uid in wave:
            task = self.task(uid, decide=uid in chosen)
            key = model_cache_key(
                task.job,
                inputs=[self.own_digest(uid), *(self.input_digest(p) for p in parents(self.nodes[uid]))],
                decide=task.decide,
                needs_columns=task.needs_columns,
            )
            cached = self.cache.get(key, task.job, self.gate) if self.cache is not None else None
            if cached is not None:
                self.outcomes[uid] = cached
                self.report(cached, time.perf_counter() - started)
                started = time.perf_counter()
            else:
                misses.append((task, key))
        started = time.perf_counter()
        outcomes = self.evaluate([t for t, _ in misses])
        each = (time.perf_counter() - started) / max(1, len(misses))
        for (task, key), outcome in zip(misses, outcomes, strict=True):
            self.outcomes[str(task.job.meta["unique_id"])] = outcome
            self.report(outcome, each)
            if self.cache is not None:
                self.cache.put(key, outcome)

    def report(self, outcome: ModelOutcome, seconds: float) -> None:
        if self.progress is not None and outcome.verdict is not None:
            self.progress(outcome.verdict, seconds)

    def task(self, unique_id: str, *, decide: bool) -> Task:
        node = self.nodes[unique_id]
        job = gated_job(node, self.project, self.gate.settings, self.project_dir)
        done = {p: self.outcomes[p] for p in parents(node) if p in self.outcomes}
        return Task(job=job, decide=decide, needs_columns=unique_id in self.has_children, parents=done)

    def evaluate(self, tasks: list[Task]) -> list[ModelOutcome]:
        if self.workers < 2 or len(tasks) < MIN_PARALLEL:
            return [self.evaluator.evaluate(task) for task in tasks]
        if self.pool is None:
            self.pool = WorkerPool(self.project, self.gate, self.project_dir, self.workers)
        return self.pool.evaluate(tasks)

    def own_digest(self, unique_id: str) -> str:
        """What a node knows of its own relation's columns (catalog.json, a seed's CSV, YAML):
        a seed is read from it, an incremental model's ``{{ this }}`` too."""
        node = self.nodes[unique_id]
        if node.get("resource_type") not in RELATION_TYPES:
            return ""
        return digest(known_columns(self.project, node, self.project_dir))

    def input_digest(self, unique_id: str) -> str:
        """A digest of everything a child model reads from one parent (computed once per run)."""
        if unique_id not in self.digests:
            node = self.project.node(unique_id)
            outcome = self.outcomes.get(unique_id)
            read: dict[str, object] = {"id": unique_id}
            if node is not None:
                read["relation"] = node.get("relation_name")
                read["meta"] = meta_entry(node)
                read["columns"] = (
                    known_columns(self.project, node, self.project_dir) if outcome is None else None
                )
            if outcome is not None:
                read["columns"], read["propagated"] = outcome.columns, outcome.propagated
            self.digests[unique_id] = digest(read)
        return self.digests[unique_id]


def gated_job(node: Node, project: DbtProject, settings: Settings, project_dir: Path | None) -> Job:
    """The Job of one graph node, with the SQL the gate reads for it (``route_sql``)."""
    dialect = model_dialect(node, project.adapter_type)
    sql = route_sql(node, settings=settings, project_dir=project_dir, dialect=dialect)
    job = node_job(node, adapter_type=project.adapter_type, settings=settings, sql=sql or "", project=project)
    if sql is None:
        return replace(job, meta={**job.meta, "sql_unknown": unknown_kind(node)})
    spans = node_secret_spans(node, sql, settings.pseudonymisation.secret_vars, project_dir, project.name)
    if not spans or shadowed(project.manifest.get("macros") or {}):
        return job
    return replace(job, secret_spans=spans)


def unknown_kind(node: Node) -> str:
    if node.get("resource_type") == "model" and node.get("language", "sql") != "sql":
        return "unsupported_language"
    if node.get("resource_type") == "seed":
        return "seed_unreadable"
    if node.get("resource_type") == "unit_test":
        return "unit_test_jinja"
    return "not_compiled"
