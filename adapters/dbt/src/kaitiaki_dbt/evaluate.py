"""One model, evaluated: analysed against what its parents produce, classified, and decided.

Pure given the project, the gate and the parents' outcomes (passed in with the task), so the
same code runs in the main process and in worker processes. A model kaitiaki cannot read
(unknown adapter type, no compiled SQL, a Python model) is still decided, with an
``unresolved`` fact, so the gate blocks it by SYS-01: never skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kaitiaki.analysis.names import identifier_rules, normalise_table_name
from kaitiaki.analysis.schema import Schema, normalise_schema
from kaitiaki.classify import classify, propagated_categories
from kaitiaki.config import Settings
from kaitiaki.gate import Gate
from kaitiaki.model import ClassifiedFacts, Job, OutputColumn, Position, SqlFacts, Unresolved, Verdict
from kaitiaki_dbt.jobs import SNAPSHOT_COLUMNS, compiled_sql, model_dialect, node_job, route_sql
from kaitiaki_dbt.manifest import DbtProject, Node, parents
from kaitiaki_dbt.positions import node_positions
from kaitiaki_dbt.schema import known_columns, meta_entry, output_columns, relations
from kaitiaki_dbt.secrets import node_secret_spans, shadowed
from kaitiaki_dbt.unit_tests import JINJA_FIXTURE

Inherited = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ModelOutcome:
    """What one model contributes downstream, and its verdict when it was selected.

    ``positions`` (where the verdict has findings) maps its SQL to the source file; reached
    where the verdict is (a worker, beside the other cores), not cached.
    """

    verdict: Verdict | None
    columns: Mapping[str, str] | None
    propagated: Inherited = field(default_factory=dict)
    positions: tuple[Position, ...] | None = None


@dataclass(frozen=True)
class Task:
    """One model to evaluate, with the outcomes of its parent models (all it needs from the run).

    ``node`` is the compiled node itself: a worker may hold the project as dbt parsed it (it is
    given the project before dbt compiles), which differs from the compiled one only in the
    compiled SQL of each node, read from here. The parents' outcomes carry what a child reads
    of them (columns, categories), not their verdicts.
    """

    job: Job | None  # None: built where the task is evaluated (gated_job); the cache needs it first
    decide: bool
    needs_columns: bool
    parents: Mapping[str, ModelOutcome]
    node: Node


def unreadable_facts(job: Job, adapter_type: str | None, node: Node) -> SqlFacts | None:
    """Facts that block a node kaitiaki cannot analyse, or None when its SQL can be analysed."""
    path = job.source.path
    kind = str(node.get("resource_type"))
    if node.get("render_error"):
        detail = f"{kind} {job.name}: {node['render_error']}"
        return SqlFacts(path=path, dialect="", unresolved=(Unresolved("hook_not_rendered", detail, None),))
    if job.dialect is None:
        detail = (
            f"the dbt adapter type {adapter_type!r} has no known SQL dialect, so {kind} {job.name} "
            "cannot be analysed; set meta.kaitiaki.dialect on it to one sqlglot knows"
        )
        return SqlFacts(path=path, dialect="", unresolved=(Unresolved("unknown_dialect", detail, None),))
    if empty_projection(compiled_sql(node)):
        detail = (
            f"{kind} {job.name} compiled to `select from …` (no columns): a macro that reads columns "
            "from the warehouse (dbt_utils.star, adapter.get_columns_in_relation) found none, because "
            "the relation it reads is not in the target yet, and dbt will compile it again with the "
            "columns once it is. Build the upstream models first (`kaitiaki dbt build --select "
            f"+{job.name}`), or check against a target that has them (--target)"
        )
        return SqlFacts(
            path=path, dialect=job.dialect, unresolved=(Unresolved("empty_projection", detail, None),)
        )
    if job.meta.get("sql_unknown"):
        detail = unknown_sql_detail(job, node)
        unresolved = (Unresolved(str(job.meta["sql_unknown"]), detail, None),)
        return SqlFacts(path=path, dialect=job.dialect, unresolved=unresolved)
    return None


EMPTY_PROJECTION = re.compile(r"\bselect\s+(?:distinct\s+)?from\b", re.IGNORECASE)
COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def empty_projection(sql: str | None) -> bool:
    """The SQL selects no column at all: what column-reading macros compile to on an empty target."""
    return sql is not None and EMPTY_PROJECTION.search(COMMENTS.sub(" ", sql)) is not None


def unknown_sql_detail(job: Job, node: Node) -> str:
    """Why a node's SQL is not known, and what to do about it."""
    kind = node.get("resource_type")
    if kind == "model" and node.get("language", "sql") != "sql":
        return (
            f"model {job.name} is a {node.get('language')} model; kaitiaki analyses SQL only. Declare "
            f"what it writes in kaitiaki.yaml's catalog (its relation {node.get('relation_name')} and "
            "columns) to have it decided from that declaration"
        )
    if kind == "seed":
        return f"the CSV file of seed {job.name} ({node.get('original_file_path')}) cannot be read"
    if kind == "unit_test":
        return JINJA_FIXTURE.format(name=job.name)
    return f"the manifest has no compiled SQL for {kind} {job.name}; run `dbt compile` first"


class ModelEvaluator:
    """Evaluates tasks of one project under one gate."""

    def __init__(self, project: DbtProject, gate: Gate, project_dir: Path | None) -> None:
        self.project = project
        self.gate = gate
        self.project_dir = project_dir
        self.relations = relations(project)

    def evaluate(self, task: Task) -> ModelOutcome:
        """Relation names, parents' schema and the analysis all compare names as kaitiaki.yaml says."""
        with identifier_rules(self.gate.settings.identifiers):
            return self._evaluate(task)

    def _evaluate(self, task: Task) -> ModelOutcome:
        node = task.node
        job = task.job or gated_job(node, self.project, self.gate.settings, self.project_dir)
        dialect = job.dialect or ""
        schema = self.parent_schema(node, task.parents, dialect)
        dbt_meta = self.parent_meta(node, dialect)
        inherited = parent_categories(node, task.parents)
        blocked_facts = unreadable_facts(job, self.project.adapter_type, node)
        relation = (
            normalise_table_name(str(node["relation_name"]), dialect)
            if node.get("relation_name") and dialect
            else None
        )
        columns = self.model_columns(node, job, schema) if task.needs_columns else None
        if blocked_facts is not None:
            job = replace(job, dialect=job.dialect or f"unknown ({self.project.adapter_type})")
        facts = blocked_facts or self.gate.analyse(job, schema=schema)
        if task.decide:
            verdict = self.gate.decide(job, facts=facts, dbt_meta=dbt_meta, inherited=inherited)
            propagated = propagate(facts, outputs_from_input(verdict.input or {}), relation)
            positions = node_positions(node, job.sql, self.project_dir) if verdict.decision.violations else ()
            return ModelOutcome(verdict, columns, propagated, positions)
        classified = classify(
            facts,
            catalog=self.gate.settings.catalog,
            dbt_meta=dbt_meta,
            inherited=inherited,
            context={"job_id": job.id, "dialect": facts.dialect},
            strict_catalog=self.gate.settings.strict_catalog,
            secrets=self.gate.settings.pseudonymisation.marks(),
        )
        return ModelOutcome(None, columns, propagate(facts, classified.outputs, relation))

    def model_columns(self, node: Node, job: Job, schema: Schema) -> Mapping[str, str] | None:
        """What the node will produce: its analysed output, else catalog or declared columns."""
        sql = compiled_sql(node)
        kind = node.get("resource_type")
        if (
            job.dialect
            and sql is not None
            and kind in ("model", "snapshot")
            and node.get("language", "sql") == "sql"
        ):
            names = output_columns(sql, job.dialect, schema)
            if names is not None:
                extra = SNAPSHOT_COLUMNS if kind == "snapshot" else ()
                return dict.fromkeys((*names, *extra), "")
        return known_columns(self.project, node, self.project_dir)

    def parent_schema(self, node: Node, outcomes: Mapping[str, ModelOutcome], dialect: str) -> Schema:
        """Columns of the relations this model reads (only those: a schema per model stays small)."""
        if not dialect:
            return {}
        schema: dict[str, dict[str, str]] = {}
        own = self.relations.get(str(node.get("unique_id")))
        if own is not None:  # a seed's own CSV, an incremental model's {{ this }}
            own_columns = known_columns(self.project, own, self.project_dir)
            if own_columns is not None:
                schema[normalise_table_name(str(own["relation_name"]), dialect)] = dict(own_columns)
        for parent_id in parents(node):
            parent = self.relations.get(parent_id)
            if parent is None:
                continue
            outcome = outcomes.get(parent_id)
            columns = outcome.columns if outcome else known_columns(self.project, parent, self.project_dir)
            if columns is not None:
                schema[normalise_table_name(str(parent["relation_name"]), dialect)] = dict(columns)
        return normalise_schema(schema, dialect)

    def parent_meta(self, node: Node, dialect: str) -> dict[str, Any]:
        """dbt meta of the relations this model reads, keyed as the analysis names them."""
        if not dialect:
            return {}
        out: dict[str, Any] = {}
        for parent_id in (str(node.get("unique_id")), *parents(node)):
            parent = self.relations.get(parent_id)
            if parent is not None:
                out[normalise_table_name(str(parent["relation_name"]), dialect)] = meta_entry(parent)
        return out


def parent_categories(node: Node, outcomes: Mapping[str, ModelOutcome]) -> Inherited:
    """Categories carried into this model's inputs by its parent models' lineage."""
    inherited: Inherited = {}
    for parent_id in parents(node):
        outcome = outcomes.get(parent_id)
        if outcome is not None:
            inherited.update(outcome.propagated)
    return inherited


def outputs_from_input(document: Mapping[str, Any]) -> tuple[OutputColumn, ...]:
    """The classified output columns of a decided job, from its policy input (docs/governance.md)."""
    return tuple(
        OutputColumn(
            table=o.get("table"),
            column=str(o["column"]),
            categories=tuple(o.get("categories") or ()),
            transforms=tuple(o.get("transforms") or ()),
            sources=tuple(o.get("sources") or ()),
        )
        for o in document.get("outputs") or ()
    )


def propagate(facts: SqlFacts, outputs: Iterable[OutputColumn], relation: str | None) -> Inherited:
    """``relation.column`` → categories of a model's output, as its children read them.

    dbt models are bare SELECTs whose result dbt writes to the model's relation, so the outputs
    (table None) are re-homed to that relation before the classification's propagation runs.
    """
    if relation is None:
        return {}
    homed = tuple(replace(o, table=o.table or relation) for o in outputs)
    return propagated_categories(ClassifiedFacts(facts=facts, columns=(), outputs=homed, tables=()))


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
