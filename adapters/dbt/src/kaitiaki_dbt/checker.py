"""Decide every selected model of a compiled dbt project, upstream first.

Models are taken in waves: a wave holds the models whose parents are all done, so each model is
analysed knowing what its parents produce (output columns, to expand ``select *``; categories
that flowed into them, ``inherited``). Unselected ancestors are analysed and classified for that
purpose but not decided. Each model is looked up in the verdict cache first; the misses of a
wide wave are evaluated by worker processes (one per core), the rest in this process.

When kaitiaki runs dbt itself, most nodes are decided while dbt compiles (overlap.py) from the
project as dbt parsed it; ``adopt`` then keeps those outcomes only where the compiled project
is exactly what they were reached from, and the waves decide the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kaitiaki.gate import Gate
from kaitiaki.model import Position, Verdict
from kaitiaki_dbt.cache import VerdictCache, digest, model_cache_key
from kaitiaki_dbt.evaluate import ModelEvaluator, ModelOutcome, Task, gated_job
from kaitiaki_dbt.manifest import (
    RELATION_TYPES,
    DbtProject,
    Node,
    ancestors,
    descendants,
    parents,
    topological_order,
)
from kaitiaki_dbt.positions import node_positions, repo_relative
from kaitiaki_dbt.schema import known_columns, meta_entry
from kaitiaki_dbt.workers import WorkerPool

MIN_PARALLEL = 32
# What dbt's compile adds to a parsed node (everything else is as dbt parsed it).
COMPILED_KEYS = frozenset(("compiled", "compiled_code", "compiled_path", "extra_ctes", "extra_ctes_injected"))


@dataclass(frozen=True)
class Early:
    """An outcome reached while dbt compiled, with the compiled node it was reached from."""

    outcome: ModelOutcome
    node: Node
    key: str
    seconds: float
    cached: bool


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
        pool: WorkerPool | None = None,
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
        self.pool = pool
        self.early: dict[str, Early] = {}
        self.recompiled: set[str] = set()  # nodes dbt's compile handed over more than once

    def plan(self, selected: Iterable[str]) -> tuple[set[str], list[str]]:
        """The selected nodes of the graph, and them with their ancestors in topological order."""
        chosen = {uid for uid in selected if uid in self.nodes}
        return chosen, topological_order(self.project, chosen | ancestors(self.project, chosen))

    def check(self, selected: Iterable[str]) -> list[Verdict]:
        """Verdicts for the selected models, in topological order."""
        chosen, order = self.plan(selected)
        try:
            for wave in waves(self.project, order):
                self.run_wave(wave, chosen)
        finally:
            if self.pool is not None:
                self.pool.close()
        if self.cache is not None:
            self.cache.save()
        outcomes = [self.outcomes[uid] for uid in order]
        return [self.located(o.verdict, o.positions) for o in outcomes if o.verdict is not None]

    def located(self, verdict: Verdict, positions: tuple[Position, ...] | None = None) -> Verdict:
        """The verdict with its source path relative to the repository root and, where it has
        findings, its SQL mapped to the source file's lines and columns (positions.py; the
        evaluator maps them where it decided, a cached verdict is mapped here)."""
        job = verdict.job
        node = self.nodes.get(str(job.meta.get("unique_id")))
        path = repo_relative(job.source.path, self.project_dir, self.repo_root)
        if positions is None:
            found = node is not None and verdict.decision.violations
            positions = node_positions(node, job.sql, self.project_dir) if found and node else ()
        source = replace(job.source, path=path, positions=positions)
        return replace(verdict, job=replace(job, source=source))

    def run_wave(self, wave: Sequence[str], chosen: set[str]) -> None:
        """Cached outcomes first; the misses are evaluated, in workers when there are many.
        Outcomes reached while dbt compiled are reported in the same places."""
        evaluated: list[tuple[str, str, Early | None]] = []
        tasks: list[Task] = []
        started = time.perf_counter()
        for uid in wave:
            early = self.early.get(uid)
            if early is not None and early.cached:
                self.report(early.outcome, early.seconds)
                continue
            if early is not None:
                evaluated.append((uid, early.key, early))
                continue
            task, key, cached = self.lookup(uid, chosen)
            if cached is not None:
                self.outcomes[uid] = cached
                self.report(cached, time.perf_counter() - started)
                started = time.perf_counter()
            else:
                tasks.append(task)
                evaluated.append((uid, key, None))
        started = time.perf_counter()
        outcomes = iter(self.evaluate(tasks))
        each = (time.perf_counter() - started) / max(1, len(tasks))
        for uid, key, early in evaluated:
            outcome = early.outcome if early is not None else next(outcomes)
            self.outcomes[uid] = outcome
            self.report(outcome, early.seconds if early is not None else each)
            if self.cache is not None:
                self.cache.put(key, outcome)

    def lookup(
        self, unique_id: str, chosen: set[str], node: Node | None = None
    ) -> tuple[Task, str, ModelOutcome | None]:
        """The node's task, its cache key, and its cached outcome when the cache has one. With
        no cache the task carries no job: the evaluator builds it where it decides (a worker)."""
        task = self.task(unique_id, decide=unique_id in chosen, node=node)
        if self.cache is None or task.job is None:
            return task, "", None
        key = model_cache_key(
            task.job,
            inputs=[self.own_digest(unique_id), *(self.input_digest(p) for p in parents(task.node))],
            decide=task.decide,
            needs_columns=task.needs_columns,
        )
        return task, key, self.cache.get(key, task.job, self.gate)

    def adopt(self, project: DbtProject) -> None:
        """Go on with the compiled ``project``. An outcome reached while dbt compiled is kept only
        when it was reached from exactly what dbt compiled: its own node as dbt compiled it, and
        the rest of the project as dbt parsed it (the nodes it reads, sources, macros, catalog).
        The others, a node dbt handed over twice (its children may have read either outcome),
        and everything downstream of them, are decided again by the waves."""
        graph = project.graph()
        children = {p for node in graph.values() for p in parents(node)}
        changed = changed_nodes(self.project, project) if children == self.has_children else None
        if changed is not None:
            changed |= {uid for uid, early in self.early.items() if graph.get(uid) != early.node}
            changed |= self.recompiled & set(graph)
            stale = changed | descendants(project, changed)
        else:
            stale = set(self.outcomes) | set(self.early)
            self.digests.clear()
            if self.pool is not None:
                self.pool.load(project)
        for uid in stale:
            self.early.pop(uid, None)
            self.outcomes.pop(uid, None)
            self.digests.pop(uid, None)
        self.project, self.nodes, self.has_children = project, graph, children
        self.evaluator = ModelEvaluator(project, self.gate, self.project_dir)

    def report(self, outcome: ModelOutcome, seconds: float) -> None:
        if self.progress is not None and outcome.verdict is not None:
            self.progress(outcome.verdict, seconds)

    def task(self, unique_id: str, *, decide: bool, node: Node | None = None) -> Task:
        """The node's task (``node``: the compiled node when the project is still the parsed one)."""
        node = self.nodes[unique_id] if node is None else node
        job = (
            gated_job(node, self.project, self.gate.settings, self.project_dir)
            if self.cache is not None
            else None
        )
        done = {p: read_of(self.outcomes[p]) for p in parents(node) if p in self.outcomes}
        needs_columns = unique_id in self.has_children
        return Task(job=job, decide=decide, needs_columns=needs_columns, parents=done, node=node)

    def evaluate(self, tasks: list[Task]) -> list[ModelOutcome]:
        if self.workers < 2 or len(tasks) < MIN_PARALLEL:
            return [self.evaluator.evaluate(task) for task in tasks]
        if self.pool is None:
            self.pool = WorkerPool(self.gate, self.project_dir, self.workers)
            self.pool.load(self.project)
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


def read_of(outcome: ModelOutcome) -> ModelOutcome:
    """What a child reads of its parent's outcome: its columns and categories, not its verdict."""
    return replace(outcome, verdict=None, positions=None) if outcome.verdict is not None else outcome


def changed_nodes(parsed: DbtProject, compiled: DbtProject) -> set[str] | None:
    """The nodes dbt's compile changed beyond adding their compiled SQL (it may add macros to a
    node's depends_on), or None when it changed more than nodes (sources, macros, the catalog,
    which nodes there are)."""
    before, after = parsed.manifest, compiled.manifest
    if parsed.catalog != compiled.catalog or set(before) != set(after):
        return None
    if any(before[k] != after[k] for k in before if k != "nodes") or set(parsed.nodes) != set(compiled.nodes):
        return None
    old, new = uncompiled(parsed.nodes), uncompiled(compiled.nodes)
    return {uid for uid, node in new.items() if old[uid] != node}


def uncompiled(nodes: Mapping[str, Node]) -> dict[str, dict[str, object]]:
    return {uid: {k: v for k, v in node.items() if k not in COMPILED_KEYS} for uid, node in nodes.items()}
