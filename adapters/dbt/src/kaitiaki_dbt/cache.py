"""The warm path: verdicts cached by everything a decision depends on.

A model's entry is keyed by the digest of its Job (compiled SQL, purpose, destination, tags,
dialect), digests of what it reads (each parent's relation, columns, dbt meta and the categories
its lineage carries), and a run-wide part:
kaitiaki.yaml and the schema file it names, the policy revision, the installed plugins, the mode
and today's date (purposes and waivers expire by the day). Change any of them and the model is
decided afresh; nothing else can change a decision. A cache hit is still reported to the
``kaitiaki_decision_made`` hook, so the decision log records every check. A block because the
policy engine gave no answer (SYS-02) is never cached: the next run asks the engine again.

The file lives beside the manifest (``target/kaitiaki-cache.json``), is written atomically and
is ignored when unreadable. It is trusted like the manifest beside it: a CI job that restores
``target/`` from an untrusted branch should pass ``--no-cache``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaitiaki.model import (
    Aggregation,
    AnalysisError,
    Cell,
    ColumnFact,
    ColumnRef,
    Decision,
    Job,
    JoinFact,
    LineageEdge,
    RowFilter,
    SqlFacts,
    Statement,
    Threshold,
    Unresolved,
    Verdict,
)
from kaitiaki_dbt.manifest import load_static_json

if TYPE_CHECKING:
    from kaitiaki.gate import Gate
    from kaitiaki_dbt.evaluate import ModelOutcome

CACHE_NAME = "kaitiaki-cache.json"
FORMAT = 1
KEEP_DAYS = 30
ENGINE_UNAVAILABLE = "SYS-02"


def digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def model_cache_key(job: Job, *, inputs: list[str], decide: bool, needs_columns: bool) -> str:
    """The digest of everything one model's outcome depends on, its parents' digests included."""
    return digest(
        {"job": job.to_dict(include_sql=True), "inputs": inputs, "decide": decide, "columns": needs_columns}
    )


def utc_today() -> dt.date:
    """The date decisions are made on (purposes and waivers expire by the day, in UTC)."""
    return dt.datetime.now(dt.timezone.utc).date()


def file_digest(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_key(gate: Gate) -> str:
    """The part of every key shared by the run: configuration, policies, plugins, mode, date."""
    settings = gate.settings
    plugins = sorted(name for name, _ in gate.pm.list_name_plugin())
    return digest(
        {
            "format": FORMAT,
            "config": file_digest(settings.path),
            "schema_file": file_digest(settings.schema_file),
            "policy_revision": str(gate.engine.revision),
            "versions": [package_version("kaitiaki"), package_version("kaitiaki-dbt")],
            "plugins": plugins,
            "mode": gate.mode,
            "entry_point": gate.entry_point,
            "date": utc_today().isoformat(),
        }
    )


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


class VerdictCache:
    """Model outcomes on disk, loaded once and saved once per run."""

    def __init__(self, path: Path, gate: Gate) -> None:
        self.path = path
        self.run_key = run_key(gate)
        self.today = utc_today().isoformat()
        self.entries: dict[str, Any] = load_entries(path)
        self.hits = 0
        self.misses = 0
        self.dirty = False

    def full_key(self, key: str) -> str:
        return hashlib.sha256(f"{self.run_key}:{key}".encode()).hexdigest()

    def get(self, key: str, job: Job, gate: Gate) -> ModelOutcome | None:
        """The cached outcome, reported to the decision hook like a fresh one; None on a miss."""
        from kaitiaki_dbt.evaluate import ModelOutcome

        entry = self.entries.get(self.full_key(key))
        if not isinstance(entry, dict):
            self.misses += 1
            return None
        try:
            verdict = verdict_from_dict(entry["verdict"], gate.with_defaults(job), gate)
            outcome = ModelOutcome(
                verdict=verdict,
                columns=entry["columns"],
                propagated={k: tuple(v) for k, v in entry["propagated"].items()},
            )
        except (KeyError, TypeError, ValueError):
            self.misses += 1
            return None
        if verdict is not None:
            gate.pm.hook.kaitiaki_decision_made(
                job=verdict.job, input=verdict.input, decision=verdict.decision
            )
        if entry.get("used") != self.today:
            entry["used"] = self.today
            self.dirty = True
        self.hits += 1
        return outcome

    def put(self, key: str, outcome: ModelOutcome) -> None:
        if not worth_keeping(outcome):
            return
        self.entries[self.full_key(key)] = {
            "used": self.today,
            "verdict": verdict_to_dict(outcome.verdict),
            "columns": dict(outcome.columns) if outcome.columns is not None else None,
            "propagated": {k: list(v) for k, v in outcome.propagated.items()},
        }
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically, dropping entries unused for KEEP_DAYS; errors are ignored."""
        if not self.dirty:
            return
        oldest = (utc_today() - dt.timedelta(days=KEEP_DAYS)).isoformat()
        kept = {k: v for k, v in self.entries.items() if str(v.get("used", "")) >= oldest}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".kaitiaki-cache-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps({"format": FORMAT, "entries": kept}, separators=(",", ":")))
            os.replace(tmp, self.path)
        except OSError:
            return
        self.dirty = False


def worth_keeping(outcome: ModelOutcome) -> bool:
    """False for a block because the engine gave no answer (SYS-02): that is no decision of the
    policies, and replaying it would keep the model blocked after the engine has recovered."""
    verdict = outcome.verdict
    return verdict is None or all(v.rule != ENGINE_UNAVAILABLE for v in verdict.decision.violations)


def load_entries(path: Path) -> dict[str, Any]:
    """The cache's entries; an absent, unreadable or foreign file is an empty cache."""
    try:
        data = load_static_json(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("entries"), dict)
    ):
        return {}
    return data["entries"]  # type: ignore[no-any-return]


def verdict_to_dict(verdict: Verdict | None) -> dict[str, Any] | None:
    """A verdict as stored; the facts' columns are left out when the input repeats them."""
    if verdict is None:
        return None
    facts = verdict.facts.to_dict() if verdict.facts else None
    if facts is not None and same_columns(facts["columns"], (verdict.input or {}).get("columns")):
        facts["columns"] = None
    return {"decision": verdict.decision.to_dict(), "input": verdict.input, "facts": facts}


def same_columns(facts_columns: list[dict[str, Any]], input_columns: Any) -> bool:
    """True when the input's column facts are the analysis's plus categories (the usual case)."""
    if not isinstance(input_columns, list) or len(input_columns) != len(facts_columns):
        return False
    stripped = [
        {k: v for k, v in c.items() if k not in ("categories", "classified_by")} for c in input_columns
    ]
    return stripped == facts_columns


def verdict_from_dict(data: Mapping[str, Any] | None, job: Job, gate: Gate) -> Verdict | None:
    if data is None:
        return None
    decision = Decision.from_dict(data["decision"])
    return Verdict(
        job=job,
        decision=decision,
        mode=gate.mode,
        blocked=gate.mode == "enforce" and not decision.allow,
        input=data["input"],
        facts=facts_from_dict(data["facts"], data["input"]) if data["facts"] else None,
    )


def _ref(data: Mapping[str, Any]) -> ColumnRef:
    return ColumnRef(table=data["table"], column=data["column"])


def facts_from_dict(data: Mapping[str, Any], document: Mapping[str, Any]) -> SqlFacts:
    """Stored facts → SqlFacts, columns from the input when they were left out (edges: statement 0)."""
    aggregation = data["aggregation"]
    columns = data["columns"] if data["columns"] is not None else document["columns"]
    return SqlFacts(
        path=data["path"],
        dialect=data["dialect"],
        statements=tuple(Statement(**s) for s in data["statements"]),
        columns=tuple(
            ColumnFact(
                table=c["table"],
                column=c["column"],
                uses=tuple(c["uses"]),
                transforms=tuple(c["transforms"]),
                outputs=tuple(c["outputs"]),
                lines=tuple(c["lines"]),
                from_star=c["from_star"],
            )
            for c in columns
        ),
        lineage=tuple(
            LineageEdge(source=_ref(e["source"]), target=_ref(e["target"]), transforms=tuple(e["transforms"]))
            for e in data["lineage"]
        ),
        joins=tuple(
            JoinFact(left=_ref(j["left"]), right=_ref(j["right"]), kind=j["kind"], line=j["line"])
            for j in data["joins"]
        ),
        aggregation=Aggregation(
            grouped=aggregation["grouped"],
            count=aggregation["count"],
            magnitudes=tuple(aggregation["magnitudes"]),
            min_group_size=aggregation["min_group_size"],
            single_value=tuple(aggregation.get("single_value", ())),
            cells=tuple(
                Cell(
                    populations=tuple(c["populations"]),
                    thresholds=tuple(
                        Threshold(**{**t, "columns": tuple(t["columns"]), "tables": tuple(t["tables"])})
                        for t in c["thresholds"]
                    ),
                )
                for c in aggregation.get("cells", ())
            ),
        ),
        row_filters=tuple(RowFilter(**f) for f in data.get("row_filters", ())),
        unresolved=tuple(Unresolved(**u) for u in data["unresolved"]),
        errors=tuple(AnalysisError(**e) for e in data["errors"]),
    )
