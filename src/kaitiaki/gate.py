"""The one orchestration: job → facts → classified facts → policy input → decision → verdict.

Everything here fails closed (docs/security.md): SQL that could not be analysed is denied by SYS-01
even if a policy set forgot to say so, and an engine that errors, times out or answers with the
wrong shape yields a SYS-02 block, never an allow. Modes decide only what a denial *does*:
``enforce`` blocks, ``warn`` and ``audit`` let the job run; every decision is reported to the
``kaitiaki_decision_made`` hook (the decision log) whatever the mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from kaitiaki import __version__
from kaitiaki.analysis import analyze_sql
from kaitiaki.analysis.schema import Schema, load_schema_file, normalise_schema
from kaitiaki.classify import STRICT_PREFIX, classify, lineage_order, read_tables
from kaitiaki.clock import utc_now
from kaitiaki.config import Settings
from kaitiaki.errors import ConfigError, EngineError, PolicyError
from kaitiaki.model import (
    ClassifiedFacts,
    Decision,
    Destination,
    Job,
    SourceLocation,
    SqlFacts,
    Verdict,
    Violation,
)
from kaitiaki.plugins import get_plugin_manager
from kaitiaki.report.redact import redact_message

SYS_ANALYSIS = Violation(
    rule="SYS-01",
    title="Analysis complete",
    guideline="Fail closed",
    principle="Kaitiakitanga",
    law="",
    level="hard",
    message="",
    remediation="Fix the SQL or declare the tables' columns (schema or catalog); "
    "kaitiaki never allows what it cannot see.",
)
SYS_ENGINE = Violation(
    rule="SYS-02",
    title="Policy engine answered",
    guideline="Fail closed",
    principle="Kaitiakitanga",
    law="",
    level="hard",
    message="",
    remediation="Check the engine settings in kaitiaki.yaml and that the policy server is reachable; "
    "the job stays blocked until a policy decision can be made.",
)


def cleared_tables(settings: Settings) -> frozenset[str]:
    """Catalog tables declared with ``columns: {}`` and no categories: known to hold nothing
    identifying (README.md), so a ``*`` over one reads nothing the policies care about even
    though its columns cannot be listed."""
    return frozenset(
        name for name, entry in settings.catalog.items() if not entry.columns and not entry.categories
    )


def _names_one_of(table: str | None, names: frozenset[str]) -> bool:
    """``db.ref.regions`` names the catalog's ``ref.regions`` (matched by dotted suffix)."""
    return table is not None and any(table == n or table.endswith("." + n) for n in names)


def catalog_schema(settings: Settings) -> Schema:
    """Catalog entries count as schema: their columns are known columns (README.md)."""
    return {name: {col: "" for col in entry.columns} for name, entry in settings.catalog.items()}


def settings_schema(settings: Settings, dialect: str) -> Schema:
    """The schema file merged over the catalog's columns, normalised for ``dialect``."""
    merged: dict[str, dict[str, str]] = {k: dict(v) for k, v in catalog_schema(settings).items()}
    if settings.schema_file is not None:
        for table, columns in load_schema_file(settings.schema_file).items():
            merged.setdefault(table, {}).update(columns)
    return normalise_schema(merged, dialect, settings.identifiers)


class Gate:
    """Decides jobs under one configuration; the engine is loaded once, on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Any | None = None,
        now: str | None = None,
        mode: str | None = None,
        entry_point: str = "check",
    ) -> None:
        self.settings = settings
        self.mode = mode or settings.mode
        self.entry_point = entry_point
        self._engine = engine
        self._now = now
        self._schemas: dict[str, Schema] = {}
        self.pm = get_plugin_manager()
        require_plugins(settings, self.pm)
        self._plugins_label = ",".join(loaded_plugins(self.pm))  # fixed for the process

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from kaitiaki.engine import load_engine

            try:
                self._engine = load_engine(self.settings)
            except PolicyError as error:
                raise in_config(error, self.settings) from None
            warn_governance(self.settings)
        return self._engine

    def schema_for(self, dialect: str) -> Schema:
        if dialect not in self._schemas:
            self._schemas[dialect] = settings_schema(self.settings, dialect)
        return self._schemas[dialect]

    def analyse(self, job: Job, *, schema: Schema | None = None) -> SqlFacts:
        dialect = job.dialect or self.settings.dialect or "postgres"
        merged = dict(self.schema_for(dialect))
        if schema:
            merged.update(schema)
        return analyze_sql(
            job.sql,
            dialect=dialect,
            schema=merged,
            path=job.source.path,
            limits=self.settings.limits,
            identifiers=self.settings.identifiers,
            secrets=job.secret_spans,
            masks=self.settings.pseudonymisation.masks(),
        )

    def decide(
        self,
        job: Job,
        *,
        schema: Schema | None = None,
        dbt_meta: Mapping[str, Mapping[str, Any]] | None = None,
        inherited: Mapping[str, tuple[str, ...]] | None = None,
        facts: SqlFacts | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Verdict:
        """Decide one job. Never raises for a problem with the job itself: that is a block."""
        job = self.with_defaults(job)
        facts = facts if facts is not None else self.analyse(job, schema=schema)
        classified = classify(
            facts,
            catalog=self.settings.catalog,
            dbt_meta=dbt_meta,
            inherited=inherited,
            context={"job_id": job.id, "dialect": facts.dialect},
            strict_catalog=self.settings.strict_catalog,
            secrets=self.settings.pseudonymisation.marks(),
        )
        document = self.policy_input(job, classified, labels=labels)
        self.pm.hook.kaitiaki_enrich_input(job=job, input=document)
        decision = self.evaluate(document)
        decision = self.require_complete_analysis(decision, document)
        blocked = self.mode == "enforce" and not decision.allow
        self.pm.hook.kaitiaki_decision_made(job=job, input=document, decision=decision)
        return Verdict(
            job=job, decision=decision, mode=self.mode, blocked=blocked, input=document, facts=facts
        )

    def decide_all(self, jobs: Sequence[Job]) -> list[Verdict]:
        """Decide several jobs as one estate, in the given order.

        Jobs are decided writers-first, so a job reading another's target sees the categories
        that flow into it (lineage across files) and its columns as schema (for ``SELECT *``).
        """
        jobs = [self.with_defaults(job) for job in jobs]
        facts = [self.analyse(job) for job in jobs]
        carried: dict[str, tuple[str, ...]] = {}
        written_schema: dict[str, dict[str, str]] = {}
        verdicts: dict[int, Verdict] = {}
        for index in lineage_order(facts):
            job = jobs[index]
            if written_schema and any(t in written_schema for t in read_tables(facts[index])):
                facts[index] = self.analyse(job, schema=written_schema)
            verdict = self.decide(job, facts=facts[index], inherited=carried)
            verdicts[index] = verdict
            for output in (verdict.input or {}).get("outputs", []):
                if output["table"]:
                    key = f"{output['table']}.{output['column']}"
                    carried[key] = tuple(dict.fromkeys((*carried.get(key, ()), *output["categories"])))
                    written_schema.setdefault(output["table"], {})[output["column"]] = ""
        return [verdicts[i] for i in range(len(jobs))]

    def with_defaults(self, job: Job) -> Job:
        """Fill purpose, owner and dialect from kaitiaki.yaml where the job says nothing."""
        return replace(
            job,
            purpose=job.purpose or self.settings.default_purpose,
            owner=job.owner or self.settings.owner,
            dialect=job.dialect or self.settings.dialect or "postgres",
        )

    def declared_labels(self, job: Job) -> dict[str, str]:
        """What the job's author and environment chose, for the decision log's labels: the
        purpose and destination they declared, the kaitiaki.yaml that was read (its digest), the
        plugins that classified, and a mode that overrides the configured one (``--mode``)."""
        labels = {
            "purpose": job.purpose or "",
            "destination": f"{job.destination.kind}/{job.destination.region}",
            "config": self.settings.digest or "none",
            "plugins": self._plugins_label,
        }
        if self.mode != self.settings.mode:
            labels["configured_mode"] = self.settings.mode
        return labels

    def evaluate(self, document: dict[str, Any]) -> Decision:
        try:
            decision: Decision = self.engine.evaluate(document)
        except EngineError as exc:
            return Decision(
                allow=False,
                violations=(
                    replace(SYS_ENGINE, message=f"The policy engine gave no usable decision: {exc}"),
                ),
                policy_revision=self.revision_or_unknown(),
            )
        return self.require_consistent_decision(decision)

    @staticmethod
    def require_consistent_decision(decision: Decision) -> Decision:
        """An engine that allows a job while listing a violation that blocks it (hard, or soft and
        not waived) contradicts itself: that is no usable decision, so SYS-02 blocks (docs/governance.md)."""
        blocking = sorted({f"{v.rule} ({v.level})" for v in decision.violations if blocks(v)})
        if not decision.allow or not blocking:
            return decision
        message = (
            "The policy engine gave no usable decision: it allows the job yet lists blocking "
            f"violations ({', '.join(blocking)})."
        )
        return replace(
            decision, allow=False, violations=(*decision.violations, replace(SYS_ENGINE, message=message))
        )

    def revision_or_unknown(self) -> str:
        try:
            return str(self.engine.revision)
        except Exception:
            return "unknown"

    @staticmethod
    def require_complete_analysis(decision: Decision, document: Mapping[str, Any]) -> Decision:
        """SYS-01 even if a policy set forgot it: what kaitiaki cannot see is never allowed."""
        unresolved = document.get("unresolved") or []
        if not unresolved or any(v.rule == "SYS-01" for v in decision.violations):
            return decision
        first = unresolved[0]
        message = f"The SQL could not be fully analysed: {first['detail']}"
        if len(unresolved) > 1:
            message += f" (and {len(unresolved) - 1} more)"
        violation = replace(SYS_ANALYSIS, message=message, line=first.get("line"))
        return replace(decision, allow=False, violations=(*decision.violations, violation))

    def policy_input(
        self, job: Job, classified: ClassifiedFacts, *, labels: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The one document every engine sees (docs/governance.md). No data values, only facts."""
        settings = self.settings
        purpose = settings.purposes.get(job.purpose) if job.purpose else None
        facts = classified.facts
        clear = cleared_tables(settings)
        unresolved = [
            redacted(u.to_dict(), facts.dialect)
            for u in facts.unresolved
            if not (u.kind == "star_without_schema" and _names_one_of(u.table, clear))
        ]
        unresolved += [
            {"kind": "analysis_error", "detail": redact_message(e.message, facts.dialect), "line": e.line}
            for e in facts.errors
        ]
        unresolved += [
            {"kind": "unknown_table", "detail": w.removeprefix(STRICT_PREFIX), "line": None}
            for w in classified.warnings
            if w.startswith(STRICT_PREFIX)
        ]
        job_doc = job.to_dict()
        job_doc["agency"] = job.meta.get("agency") or settings.agency
        return {
            "kaitiaki": {
                "version": __version__,
                "mode": self.mode,
                "now": self._now or utc_now(),
                "entry_point": self.entry_point,
                "decision_log": str(settings.decision_log) if settings.decision_log else None,
                "on_log_failure": settings.on_log_failure,
                "labels": {**self.declared_labels(job), **(labels or {})},
            },
            "job": job_doc,
            "purpose": purpose.to_dict() if purpose else None,
            "columns": [c.to_dict() for c in classified.columns],
            "joins": [j.to_dict() for j in facts.joins],
            "outputs": [o.to_dict() for o in classified.outputs],
            "aggregation": facts.aggregation.to_dict(),
            "row_filters": [f.to_dict() for f in facts.row_filters],
            "tables": [t.to_dict() for t in classified.tables],
            "unresolved": unresolved,
            "waivers": [w.to_dict() for w in settings.waivers if w.job == job.id],
        }


def redacted(entry: dict[str, Any], dialect: str) -> dict[str, Any]:
    """An unresolved entry whose detail may quote the SQL (a parse error's token): no values."""
    if isinstance(entry.get("detail"), str):
        entry["detail"] = redact_message(entry["detail"], dialect)
    return entry


def blocks(violation: Violation) -> bool:
    """Hard always blocks; soft blocks unless a valid waiver lifted it; advisory never blocks."""
    return violation.level == "hard" or (violation.level == "soft" and not violation.waived)


def loaded_plugins(pm: Any) -> tuple[str, ...]:
    """Plugins that answer the classification hook: their absence (``KAITIAKI_LOAD_PLUGINS``,
    an uninstalled kaitiaki-nz) changes what counts as identifying, so every record names them."""
    return tuple(sorted({impl.plugin_name for impl in pm.hook.kaitiaki_classify_column.get_hookimpls()}))


def require_plugins(settings: Settings, pm: Any) -> None:
    """``required_plugins`` in kaitiaki.yaml: a plugin that is not loaded (not installed, or left
    out by ``KAITIAKI_LOAD_PLUGINS``) would silently change what counts as identifying."""
    for name, line in settings.required_plugins.items():
        if pm.get_plugin(name) is None:
            raise ConfigError(
                f"required plugin '{name}' is not loaded, so kaitiaki would not classify as this "
                "configuration expects.",
                path=str(settings.path),
                line=line,
                hint="install it (see `kaitiaki plugins` for what is loaded) and check that "
                "KAITIAKI_LOAD_PLUGINS, if set, names it.",
            )


def warn_governance(settings: Settings) -> None:
    """kaitiaki.yaml's governance mistakes (a waiver that cannot count, a misspelt rule id or
    policy_data key) as warnings on stderr, once per engine: they never allow anything, but
    nobody should find out from a blocked job. ``kaitiaki config check`` makes them errors."""
    if settings.path is None:
        return
    from kaitiaki.config_check import log_problems, settings_problems

    log_problems(settings_problems(settings))


def in_config(error: PolicyError, settings: Settings) -> PolicyError:
    """An engine that cannot be set up from kaitiaki.yaml's ``engine:`` names that file (a policy
    that does not compile already names its own file and line)."""
    if error.path is not None or settings.path is None:
        return error
    return PolicyError(error.message, path=str(settings.path), hint=error.hint)


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """0 when nothing was blocked (warnings allowed), 1 when anything was (README.md)."""
    return 1 if any(v.blocked for v in verdicts) else 0


def sql_job(
    path: Path,
    *,
    display_path: str,
    sql: str,
    dialect: str | None,
    purpose: str | None,
    destination: Destination,
    tags: Sequence[str] = (),
) -> Job:
    """A Job for a SQL file checked from the command line (id ``sql:<path>``)."""
    return Job(
        id=f"sql:{display_path}",
        kind="sql",
        name=path.name,
        sql=sql,
        dialect=dialect,
        source=SourceLocation(path=display_path, line_offset=0),
        purpose=purpose,
        destination=destination,
        tags=tuple(tags),
    )
