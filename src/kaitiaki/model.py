"""The plain data passed between kaitiaki's stages (docs/governance.md).

Every stage takes and returns these frozen dataclasses; none reaches into another stage's
internals. ``to_dict`` gives the documented JSON shape, and ``from_dict`` (where a stage reads
JSON written by another process, such as a decision from an OPA server) parses it back.
No data *values* ever appear here: only facts about columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Literal

JobKind = Literal[
    "dbt_model", "dbt_snapshot", "dbt_seed", "dbt_test", "dbt_hook", "dbt_operation", "airflow_task", "sql"
]
DestinationKind = Literal["internal", "shared", "external", "public"]
Region = Literal["nz", "offshore"]
Mode = Literal["audit", "warn", "enforce"]
Level = Literal["advisory", "soft", "hard"]

USES = ("select", "join", "filter", "group", "order", "window", "write")
TRANSFORMS = ("hash", "mask", "truncate", "aggregate", "cast", "none")
DESTINATION_KINDS: tuple[str, ...] = ("internal", "shared", "external", "public")
REGIONS: tuple[str, ...] = ("nz", "offshore")
MODES: tuple[str, ...] = ("audit", "warn", "enforce")
LEVELS: tuple[str, ...] = ("advisory", "soft", "hard")

JSON = dict[str, Any]

# A field inside a column (a JSON key, a struct field, a map key) that a job reads by a literal path
# is a column of its own, named ``column->key->key`` (``payload->person->nhi``).
FIELD_SEPARATOR = "->"


def field_path(column: str) -> tuple[str, tuple[str, ...]]:
    """``payload->person->nhi`` → ``("payload", ("person", "nhi"))``; a plain column has no keys."""
    base, *keys = column.split(FIELD_SEPARATOR)
    return (base, tuple(keys)) if base and keys and all(keys) else (column, ())


@dataclass(frozen=True)
class ColumnRef:
    """A column of a table; ``table`` is None for the output of a bare SELECT."""

    table: str | None
    column: str

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.column}" if self.table else self.column

    def to_dict(self) -> JSON:
        return {"table": self.table, "column": self.column}


@dataclass(frozen=True)
class Destination:
    kind: str = "internal"
    region: str = "nz"
    name: str | None = None

    def to_dict(self) -> JSON:
        return {"kind": self.kind, "region": self.region, "name": self.name}


@dataclass(frozen=True)
class Position:
    """A token of the job's SQL (line, column) and where it is in the source file; ``macro``
    names the macro whose expansion produced it (the position is then the macro call), and
    ``exact`` is false for any token Jinja produced (placed at its ``{{ }}``)."""

    sql_line: int
    sql_column: int
    line: int
    column: int
    macro: str | None = None
    exact: bool = True


@dataclass(frozen=True)
class SourceLocation:
    """Where the job's SQL lives; ``line_offset`` maps SQL line 1 to the file's line, and
    ``positions``, when an adapter can tell, map SQL tokens to the file exactly (dbt's compiled
    SQL against the model's source). Not part of the JSON (a job's shape stays the same)."""

    path: str | None = None
    line_offset: int = 0
    positions: tuple[Position, ...] = ()

    def to_dict(self) -> JSON:
        return {"path": self.path, "line_offset": self.line_offset}

    def locate(self, line: int, column: int | None = None) -> tuple[int, int | None, str | None]:
        """(file line, file column, macro) of the SQL's ``line``/``column``."""
        on_line = [p for p in self.positions if p.sql_line == line]
        if not on_line:
            return line + self.line_offset, column, None
        if column is None:
            first = on_line[0]
            return first.line, None, first.macro
        before = [p for p in on_line if p.sql_column <= column]
        point = before[-1] if before else on_line[0]
        if point.exact and before:
            return point.line, point.column + (column - point.sql_column), None
        return point.line, point.column, point.macro


@dataclass(frozen=True)
class SecretSpan:
    """Characters ``start``..``end`` (end exclusive) of a job's SQL that an adapter saw come from
    the declared secret source ``name`` (a dbt var rendered into the compiled SQL). Offsets and
    the name only: the secret's value is never kept."""

    start: int
    end: int
    name: str

    def to_dict(self) -> JSON:
        return {"start": self.start, "end": self.end, "name": self.name}


@dataclass(frozen=True)
class Job:
    """One unit the gate decides: a dbt model, an Airflow task or a SQL file."""

    id: str
    kind: str
    name: str
    sql: str
    dialect: str | None = None
    source: SourceLocation = field(default_factory=SourceLocation)
    owner: str | None = None
    purpose: str | None = None
    destination: Destination = field(default_factory=Destination)
    tags: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    secret_spans: tuple[SecretSpan, ...] = ()  # where the SQL holds a declared secret (dbt vars)

    def to_dict(self, *, include_sql: bool = False) -> JSON:
        out: JSON = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "dialect": self.dialect,
            "source": self.source.to_dict(),
            "owner": self.owner,
            "purpose": self.purpose,
            "destination": self.destination.to_dict(),
            "tags": list(self.tags),
            "upstream": list(self.upstream),
            "meta": dict(self.meta),
        }
        if include_sql:
            out["sql"] = self.sql
            if self.secret_spans:  # facts about the SQL text: part of what a cached verdict read
                out["secret_spans"] = [span.to_dict() for span in self.secret_spans]
        return out


@dataclass(frozen=True)
class TaskSql:
    """Where one Airflow task keeps its SQL (hook ``kaitiaki_task_sql``): plain data.

    ``values`` are the fields' current values, in the order they run: SQL text, a list of
    statements, or None (a template at parse time, the rendered text when the task runs).
    ``fields`` names them for messages (``sql``, ``configuration["query"]["query"]``); no fields
    means the task runs no SQL this time (a BigQuery load job). ``dialect`` is the operator's own
    when it only speaks one (Athena, Spark SQL); otherwise the connection's decides. Every
    connection in ``conn_ids`` must speak the same dialect (a transfer reads from one and writes
    to another). ``dbt_node`` is a dbt node's unique_id (cosmos), decided from ``manifest``.
    ``problem`` says why the SQL cannot be read (the task fails closed).
    """

    values: tuple[Any, ...]
    fields: tuple[str, ...]
    conn_ids: tuple[str, ...] = ()
    dialect: str | None = None
    provider: str = ""
    dbt_node: str | None = None
    manifest: str | None = None
    problem: str | None = None

    @property
    def conn_id(self) -> str | None:
        """The connection the SQL runs on (the first: a transfer's source)."""
        return self.conn_ids[0] if self.conn_ids else None


@dataclass(frozen=True)
class Statement:
    index: int
    kind: str
    target: str | None
    line: int

    def to_dict(self) -> JSON:
        return {"index": self.index, "kind": self.kind, "target": self.target, "line": self.line}


@dataclass(frozen=True)
class ColumnFact:
    """One source column the job touches, and everything the job does with it."""

    table: str
    column: str
    uses: tuple[str, ...] = ()
    transforms: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    lines: tuple[int, ...] = ()
    from_star: bool = False
    categories: tuple[str, ...] = ()
    classified_by: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.column}"

    def to_dict(self, *, with_categories: bool = True) -> JSON:
        out: JSON = {
            "table": self.table,
            "column": self.column,
            "uses": list(self.uses),
            "transforms": list(self.transforms),
            "outputs": list(self.outputs),
            "lines": list(self.lines),
            "from_star": self.from_star,
        }
        if with_categories:
            out["categories"] = list(self.categories)
            out["classified_by"] = list(self.classified_by)
        return out


@dataclass(frozen=True)
class LineageEdge:
    """Per statement: a source-table column flows into a target column through transforms."""

    source: ColumnRef
    target: ColumnRef
    transforms: tuple[str, ...] = ("none",)
    statement: int = 0
    # Marks every path of this edge carries (coarsening such as ``coarse:year``, hash keys such
    # as ``key:setting:msd.link_key``): facts for the policy input, not part of the analyze JSON.
    marks: tuple[str, ...] = ()

    def to_dict(self) -> JSON:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "transforms": list(self.transforms),
        }


@dataclass(frozen=True)
class JoinFact:
    left: ColumnRef
    right: ColumnRef
    kind: str
    line: int

    def to_dict(self) -> JSON:
        return {
            "left": self.left.to_dict(),
            "right": self.right.to_dict(),
            "kind": self.kind,
            "line": self.line,
        }


@dataclass(frozen=True)
class Unresolved:
    """Something the analysis could not know; never guessed, always reported (SYS-01)."""

    kind: str
    detail: str
    line: int | None = None
    table: str | None = None  # the table concerned, where there is one (not part of the JSON)

    def to_dict(self) -> JSON:
        return {"kind": self.kind, "detail": self.detail, "line": self.line}


@dataclass(frozen=True)
class AnalysisError:
    message: str
    line: int | None = None

    def to_dict(self) -> JSON:
        return {"message": self.message, "line": self.line}


@dataclass(frozen=True)
class Threshold:
    """One suppression condition: a count compared with a bound, as a top-level AND of HAVING.

    ``distinct`` counts the values of ``columns`` (base columns); otherwise it counts the rows of
    ``tables`` (``joined`` when a join or a grouped source may multiply or merge them). The
    ``population`` is ``all``, or the condition text of a FILTER / CASE that narrows the count.
    """

    min: int
    distinct: bool
    columns: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    joined: bool = False
    population: str = "all"

    def to_dict(self) -> JSON:
        return {
            "min": self.min,
            "distinct": self.distinct,
            "columns": list(self.columns),
            "tables": list(self.tables),
            "joined": self.joined,
            "population": self.population,
        }


@dataclass(frozen=True)
class Cell:
    """One grouped query whose aggregates are published: the populations its aggregates cover
    (``all`` or a FILTER / CASE condition) and the suppression thresholds on them."""

    populations: tuple[str, ...] = ()
    thresholds: tuple[Threshold, ...] = ()

    def to_dict(self) -> JSON:
        return {"populations": list(self.populations), "thresholds": [t.to_dict() for t in self.thresholds]}


@dataclass(frozen=True)
class Aggregation:
    grouped: bool = False
    count: bool = False
    magnitudes: tuple[str, ...] = ()
    min_group_size: int | None = None
    single_value: tuple[str, ...] = ()  # aggregates that publish one person's value (min, max, …)
    cells: tuple[Cell, ...] = ()

    def to_dict(self) -> JSON:
        return {
            "grouped": self.grouped,
            "count": self.count,
            "magnitudes": list(self.magnitudes),
            "min_group_size": self.min_group_size,
            "single_value": list(self.single_value),
            "cells": [c.to_dict() for c in self.cells],
        }


@dataclass(frozen=True)
class RowFilter:
    """Rows of ``table`` reach the output only where every path keeps this condition.

    ``kind``: ``false`` (only rows where ``column`` is false: ``NOT flag``, ``flag = false`` …),
    ``true`` (only rows where it is true, such as ``consent = true`` on an inner or semi-join),
    ``anti`` (rows matched in ``column``'s table are removed: NOT EXISTS, NOT IN, LEFT JOIN …
    IS NULL; ``column`` is then the list table).
    """

    table: str
    kind: str
    column: str

    def to_dict(self) -> JSON:
        return {"table": self.table, "kind": self.kind, "column": self.column}


# In SqlFacts.assigned_settings: the job assigns a setting whose name its SQL computes, or through
# Postgres's pg_settings view: it may be any setting, so none is a secret.
ANY_SETTING = "*"


@dataclass(frozen=True)
class SqlFacts:
    """What the analysis of one job's SQL found (docs/analysis.md)."""

    path: str | None
    dialect: str
    statements: tuple[Statement, ...] = ()
    columns: tuple[ColumnFact, ...] = ()
    lineage: tuple[LineageEdge, ...] = ()
    joins: tuple[JoinFact, ...] = ()
    aggregation: Aggregation = field(default_factory=Aggregation)
    unresolved: tuple[Unresolved, ...] = ()
    errors: tuple[AnalysisError, ...] = ()
    # Every base table the statements read, even with no column named (``count(*)``, ``EXISTS``),
    # so ``strict_catalog`` and table-level categories see it. Not part of the analyze JSON (§8).
    tables: tuple[str, ...] = ()
    row_filters: tuple[RowFilter, ...] = ()  # conditions that hold on every path (TC-01)
    assigned_settings: tuple[str, ...] = ()  # settings the job itself assigns (SET, set_config)

    @property
    def complete(self) -> bool:
        return not self.unresolved and not self.errors

    def to_dict(self, *, with_categories: bool = False) -> JSON:
        return {
            "path": self.path,
            "dialect": self.dialect,
            "statements": [s.to_dict() for s in self.statements],
            "columns": [c.to_dict(with_categories=with_categories) for c in self.columns],
            "lineage": [e.to_dict() for e in self.lineage],
            "joins": [j.to_dict() for j in self.joins],
            "aggregation": self.aggregation.to_dict(),
            "row_filters": [f.to_dict() for f in self.row_filters],
            "unresolved": [u.to_dict() for u in self.unresolved],
            "errors": [e.to_dict() for e in self.errors],
        }


@dataclass(frozen=True)
class Classification:
    """A plugin's or the catalog's answer: this column carries these categories, says ``source``."""

    categories: tuple[str, ...]
    source: str
    detail: str | None = None


@dataclass(frozen=True)
class OutputColumn:
    table: str | None
    column: str
    categories: tuple[str, ...] = ()
    transforms: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    coarsened: tuple[str, ...] = ()  # coarsenings on every path (year, band, prefix:2)
    keyed: bool = False  # every hash on its paths is keyed by a declared, unassigned secret
    enumerable: bool = True  # an identifier source can be enumerated (not catalog non_enumerable)

    def to_dict(self) -> JSON:
        return {
            "table": self.table,
            "column": self.column,
            "categories": list(self.categories),
            "transforms": list(self.transforms),
            "sources": list(self.sources),
            "coarsened": list(self.coarsened),
            "keyed": self.keyed,
            "enumerable": self.enumerable,
        }


@dataclass(frozen=True)
class TableFact:
    name: str
    agency: str | None = None
    categories: tuple[str, ...] = ()
    grain: str | None = None
    source: str | None = None

    def to_dict(self) -> JSON:
        return {
            "name": self.name,
            "agency": self.agency,
            "categories": list(self.categories),
            "grain": self.grain,
            "source": self.source,
        }


@dataclass(frozen=True)
class ClassifiedFacts:
    """SqlFacts after classification: categories on columns, outputs and tables."""

    facts: SqlFacts
    columns: tuple[ColumnFact, ...]
    outputs: tuple[OutputColumn, ...]
    tables: tuple[TableFact, ...]
    warnings: tuple[str, ...] = ()


# A violation's text fields in order, with the value of each when it is missing (None: required).
TEXT_FIELDS = ("rule", "title", "guideline", "principle", "law", "level", "message")
TEXT_DEFAULTS = (None, "", "", "", "", None, None)


@dataclass(frozen=True)
class Violation:
    rule: str
    title: str
    guideline: str
    principle: str
    law: str
    level: str
    message: str
    columns: tuple[str, ...] = ()
    line: int | None = None
    remediation: str = ""
    waived: bool = False

    def to_dict(self) -> JSON:
        return {
            "rule": self.rule,
            "title": self.title,
            "guideline": self.guideline,
            "principle": self.principle,
            "law": self.law,
            "level": self.level,
            "message": self.message,
            "columns": list(self.columns),
            "line": self.line,
            "remediation": self.remediation,
            "waived": self.waived,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Violation:
        """Parse one violation; raises ValueError naming the field that is missing or wrong.
        Runs for every violation of every decision: the texts are read and checked in C."""
        texts = list(map(data.get, TEXT_FIELDS, TEXT_DEFAULTS))
        if not all(map(isinstance, texts, repeat(str))):
            key, value = next(
                (k, v) for k, v in zip(TEXT_FIELDS, texts, strict=True) if not isinstance(v, str)
            )
            raise ValueError(f"violation field {key!r} must be a string, got {value!r}")
        rule, title, guideline, principle, law, level, message = texts
        if level not in LEVELS:
            raise ValueError(f"violation level {level!r} is not one of {', '.join(LEVELS)}")
        columns = data.get("columns", [])
        if not isinstance(columns, list) or not all(map(isinstance, columns, repeat(str))):
            raise ValueError("violation field 'columns' must be a list of strings")
        line = data.get("line")
        if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
            raise ValueError("violation field 'line' must be an integer or null")
        remediation = data.get("remediation", "")
        waived = data.get("waived", False)
        if not isinstance(remediation, str) or not isinstance(waived, bool):
            raise ValueError("violation fields 'remediation' (string) and 'waived' (bool) are malformed")
        return cls(
            rule, title, guideline, principle, law, level, message, tuple(columns), line, remediation, waived
        )


@dataclass(frozen=True)
class Decision:
    """What ``data.kaitiaki.main.decision`` returns, validated."""

    allow: bool
    violations: tuple[Violation, ...] = ()
    policy_revision: str = ""
    # Waivers offered for the job that did not count, each {rule, reason}; in the JSON only when
    # there are any, so the usual decision keeps its three fields (docs/governance.md).
    ignored_waivers: tuple[IgnoredWaiver, ...] = ()

    def to_dict(self) -> JSON:
        out: JSON = {
            "allow": self.allow,
            "violations": [v.to_dict() for v in self.violations],
            "policy_revision": self.policy_revision,
        }
        if self.ignored_waivers:
            out["ignored_waivers"] = [w.to_dict() for w in self.ignored_waivers]
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Decision:
        """Validate an engine's answer; anything but the documented shape raises ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError(f"decision must be an object, got {type(data).__name__}")
        allow = data.get("allow")
        if not isinstance(allow, bool):
            raise ValueError(f"decision field 'allow' must be a boolean, got {allow!r}")
        violations = data.get("violations", [])
        if not isinstance(violations, list):
            raise ValueError("decision field 'violations' must be a list")
        revision = data.get("policy_revision", "")
        if not isinstance(revision, str):
            raise ValueError("decision field 'policy_revision' must be a string")
        parsed = tuple(Violation.from_dict(v) for v in violations if isinstance(v, Mapping))
        if len(parsed) != len(violations):
            raise ValueError("every decision violation must be an object")
        ignored = data.get("ignored_waivers", [])
        if not isinstance(ignored, list):
            raise ValueError("decision field 'ignored_waivers' must be a list")
        return cls(
            allow=allow,
            violations=parsed,
            policy_revision=revision,
            ignored_waivers=tuple(sorted(IgnoredWaiver.from_dict(w) for w in ignored)),
        )


@dataclass(frozen=True, order=True)
class IgnoredWaiver:
    """A waiver offered for a job that lifted nothing, and why (expired, no approver, hard rule)."""

    rule: str
    reason: str

    def to_dict(self) -> JSON:
        return {"rule": self.rule, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Any) -> IgnoredWaiver:
        if not isinstance(data, Mapping) or not isinstance(data.get("reason"), str):
            raise ValueError("an ignored waiver must be an object with a 'reason'")
        rule = data.get("rule")
        return cls(rule=rule if isinstance(rule, str) else "", reason=data["reason"])


@dataclass(frozen=True)
class Verdict:
    """The gate's outcome for one job: the decision, and what enforcement made of it."""

    job: Job
    decision: Decision
    mode: str
    blocked: bool
    input: JSON | None = None
    facts: SqlFacts | None = None

    def to_dict(self) -> JSON:
        return {"job": self.job.to_dict(), "decision": self.decision.to_dict()}
