"""What a verdict's violations mean to the reader, shared by every output format.

Each violation becomes a ``Finding``: how it is treated (blocking, not enforced, waived,
advisory), where it is (file line, and the columns on that line), and whom to ask. Keeping this
in one place is what makes the text, SARIF, JUnit, GitHub and Markdown outputs agree.
Only facts are read here: rule metadata comes from the violations themselves, never the engine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kaitiaki.model import Verdict, Violation, field_path
from kaitiaki.report.redact import redact_sql

BLOCKING = "blocking"
NOT_ENFORCED = "not-enforced"
WAIVED = "waived"
ADVISORY = "advisory"
STATUS_ORDER = (BLOCKING, NOT_ENFORCED, WAIVED, ADVISORY)

SARIF_LEVEL = {BLOCKING: "error", NOT_ENFORCED: "warning", WAIVED: "warning", ADVISORY: "note"}
RULE_LEVEL_TO_SARIF = {"hard": "error", "soft": "warning", "advisory": "note"}
LEVEL_MEANING = {
    "hard": "always blocks; no waiver can lift it",
    "soft": "blocks unless a waiver names this job and rule",
    "advisory": "reported, never blocks",
}
GOVERNANCE_FALLBACK = "your data governance team"
MAX_EXCERPT_LINES = 3
# A projected star (``select *``, ``, t.*``), not ``count(*)`` or a multiplication.
SELECT_STAR = re.compile(r"(?:\bselect\s+(?:distinct\s+)?|,\s*|[\w\"`\]]\.)\*", re.IGNORECASE)
# Words that can follow a table name without being its alias.
NOT_ALIASES = frozenset(
    [
        "as",
        "on",
        "where",
        "join",
        "inner",
        "left",
        "right",
        "full",
        "outer",
        "cross",
        "natural",
        "using",
        "group",
        "order",
        "having",
        "limit",
        "union",
        "intersect",
        "except",
        "select",
        "from",
        "set",
        "values",
        "window",
        "qualify",
        "lateral",
        "and",
        "or",
    ]
)

UNNAMED_DENIAL = Violation(
    rule="SYS-00",
    title="Denied without a named rule",
    guideline="Fail closed",
    principle="Kaitiakitanga",
    law="",
    level="hard",
    message="The policy decision denied this job but named no blocking violation.",
    remediation="Ask the policy owners why the decision root denies this job; kaitiaki never "
    "allows what the policy did not allow.",
)


@dataclass(frozen=True)
class Mark:
    """A span on one SQL line to underline: ``start`` is a 0-based character index."""

    start: int
    length: int
    column: str


@dataclass(frozen=True)
class ExcerptLine:
    sql_line: int
    file_line: int
    text: str
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Finding:
    """One violation of one job, with everything a reader needs to act on it."""

    verdict: Verdict
    violation: Violation
    status: str
    excerpt: tuple[ExcerptLine, ...]

    @property
    def sarif_level(self) -> str:
        return SARIF_LEVEL[self.status]

    @property
    def primary(self) -> ExcerptLine | None:
        """The line the finding is reported at (the violation's own line when it has one)."""
        line = self.violation.line or _first_column_line(self.verdict, self.violation)
        for excerpt_line in self.excerpt:
            if excerpt_line.sql_line == line:
                return excerpt_line
        return self.excerpt[0] if self.excerpt else None

    @property
    def file_line(self) -> int | None:
        primary = self.primary
        if primary is not None:
            return primary.file_line
        line = self.violation.line
        return None if line is None else self.verdict.job.source.locate(line)[0]

    def _located(self) -> tuple[int, int | None, str | None] | None:
        """The source position of the first marked column name on the primary line."""
        primary = self.primary
        if primary is None or not primary.marks:
            return None
        return self.verdict.job.source.locate(primary.sql_line, primary.marks[0].start + 1)

    @property
    def start_column(self) -> int | None:
        """1-based column (in the source file) of the first marked column name on the primary line."""
        located = self._located()
        return located[1] if located is not None else None

    @property
    def end_column(self) -> int | None:
        located, primary = self._located(), self.primary
        if located is None or located[1] is None or located[2] is not None or primary is None:
            return None
        return located[1] + primary.marks[0].length

    @property
    def generated_by(self) -> str | None:
        """The macro whose expansion holds the finding (its position is then the macro call)."""
        located = self._located()
        return located[2] if located is not None else None


# --- status -------------------------------------------------------------------------------------


def status_of(violation: Violation, mode: str) -> str:
    """How a violation is treated: hard always blocks, soft unless waived, advisory never."""
    if violation.level == "advisory":
        return ADVISORY
    if violation.waived and violation.level == "soft":
        return WAIVED
    return BLOCKING if mode == "enforce" else NOT_ENFORCED


def would_block(finding: Finding) -> bool:
    return finding.status in (BLOCKING, NOT_ENFORCED)


def findings(verdict: Verdict) -> list[Finding]:
    """Every violation of the verdict as a finding, most severe first, then by line.

    A denial that names no blocking violation still gets a finding (``SYS-00``): a report must
    never show a denied job as clean.
    """
    violations = list(verdict.decision.violations)
    statuses = [status_of(v, verdict.mode) for v in violations]
    if not verdict.decision.allow and not any(s in (BLOCKING, NOT_ENFORCED) for s in statuses):
        violations.append(UNNAMED_DENIAL)
    out = [
        Finding(
            verdict=verdict,
            violation=v,
            status=status_of(v, verdict.mode),
            excerpt=excerpt_for(verdict, v),
        )
        for v in violations
    ]
    return sorted(out, key=lambda f: (STATUS_ORDER.index(f.status), f.file_line or 0, f.violation.rule))


def job_status(verdict: Verdict) -> str:
    """The one-word outcome of a job, as the summary lines show it."""
    if verdict.blocked:
        return "BLOCKED"
    if not verdict.decision.allow:
        return "DENIED"
    return "ALLOWED"


def job_status_detail(verdict: Verdict) -> str:
    if verdict.blocked:
        return f"blocked in {verdict.mode} mode"
    if not verdict.decision.allow:
        return f"denied, not enforced in {verdict.mode} mode: the job runs"
    return f"allowed in {verdict.mode} mode"


def count_summary(items: Sequence[Finding]) -> str:
    """``2 blocking (PM-03, PM-11), 1 waived`` — what a job's findings add up to."""
    parts = []
    for status in STATUS_ORDER:
        rules = sorted({f.violation.rule for f in items if f.status == status})
        if rules:
            count = sum(1 for f in items if f.status == status)
            label = "would block" if status == NOT_ENFORCED else status
            parts.append(f"{count} {label} ({', '.join(rules)})")
    return ", ".join(parts) if parts else "no findings"


# --- whom to ask --------------------------------------------------------------------------------


def purpose_of(verdict: Verdict) -> Mapping[str, Any] | None:
    document = verdict.input or {}
    purpose = document.get("purpose")
    return purpose if isinstance(purpose, Mapping) else None


def whom_to_ask(verdict: Verdict) -> tuple[str, str]:
    """(who, why them): the purpose's approver, else the data governance team."""
    purpose = purpose_of(verdict)
    if purpose is not None:
        approver = purpose.get("approved_by")
        if isinstance(approver, str) and approver.strip():
            return approver.strip(), f'approver of purpose "{purpose.get("id", verdict.job.purpose)}"'
    if verdict.job.purpose:
        return GOVERNANCE_FALLBACK, f'purpose "{verdict.job.purpose}" has no registered approver'
    return GOVERNANCE_FALLBACK, "the job declares no purpose"


def ask_text(finding: Finding) -> str | None:
    """What to ask for, and of whom; None where asking cannot help (kaitiaki's own SYS rules)."""
    violation = finding.violation
    if violation.rule.startswith("SYS-") or finding.status in (WAIVED, ADVISORY):
        return None
    who, role = whom_to_ask(finding.verdict)
    if violation.level == "hard":
        return f"{who} ({role}): a hard rule cannot be waived, so the SQL or the purpose must change"
    if ignored_waivers_of(finding):
        return (
            f"{who} ({role}): the waiver kaitiaki.yaml offers for this job and rule does not count "
            "(see 'waiver ignored'); they can renew or correct it, or extend the purpose"
        )
    return (
        f"{who} ({role}): they can extend the purpose, or grant a waiver "
        f'{{rule: {violation.rule}, job: "{finding.verdict.job.id}", justification: …, '
        f"approved_by: …, expires: YYYY-MM-DD}} in kaitiaki.yaml"
    )


def waiver_for(verdict: Verdict, violation: Violation) -> Mapping[str, Any] | None:
    """The waiver in the policy input that names this job and rule, if any."""
    waivers = (verdict.input or {}).get("waivers") or []
    for waiver in waivers:
        if (
            isinstance(waiver, Mapping)
            and waiver.get("rule") == violation.rule
            and waiver.get("job") == verdict.job.id
        ):
            return waiver
    return None


def ignored_waivers_of(finding: Finding) -> list[str]:
    """Why each waiver offered for this finding's job and rule lifted nothing: the reasons the
    policy decision gives (expired, no approver, a hard rule), and a rule id that differs only in
    case (``pm-07`` for ``PM-07``), which the policy cannot see as meant for this rule."""
    rule = finding.violation.rule
    if finding.status == WAIVED:
        return []
    reasons = [w.reason for w in finding.verdict.decision.ignored_waivers if w.rule == rule]
    for waiver in (finding.verdict.input or {}).get("waivers") or []:
        named = waiver.get("rule") if isinstance(waiver, Mapping) else None
        if isinstance(named, str) and named != rule and named.lower() == rule.lower():
            reasons.append(
                f"it names rule {named!r}; rule ids are case-sensitive, so it is not a waiver of {rule}"
            )
    return list(dict.fromkeys(reasons))


def ignored_waiver_text(finding: Finding) -> str | None:
    """``waiver ignored: it has expired …`` beside the finding the waiver failed to lift."""
    reasons = ignored_waivers_of(finding)
    return "; ".join(reasons) if reasons else None


def waiver_text(finding: Finding) -> str | None:
    if finding.status != WAIVED:
        return None
    waiver = waiver_for(finding.verdict, finding.violation)
    if waiver is None:
        return "waived by the policy decision"
    parts = [str(waiver.get("justification") or "no justification recorded")]
    if waiver.get("approved_by"):
        parts.append(f"approved by {waiver['approved_by']}")
    if waiver.get("expires"):
        parts.append(f"expires {waiver['expires']}")
    return "; ".join(parts)


# --- where --------------------------------------------------------------------------------------


def excerpt_for(verdict: Verdict, violation: Violation) -> tuple[ExcerptLine, ...]:
    """The SQL lines to show: the violation's line, then lines where its columns appear.

    Literals are redacted (``'…'``): a job's SQL can hold personal information as values, and
    excerpts end up in CI logs, JUnit files and step summaries.
    """
    sql_lines = redact_sql(verdict.job.sql, verdict.job.dialect).splitlines()
    wanted: list[int] = []
    if violation.line is not None:
        wanted.append(violation.line)
    for column in violation.columns:
        if violation.line is not None and marks_on(
            sql_line_text(sql_lines, violation.line), [column], verdict.job.sql
        ):
            continue
        lines = column_lines(verdict, column)
        if lines and lines[0] not in wanted:
            wanted.append(lines[0])
    wanted = [n for n in wanted if 1 <= n <= len(sql_lines)][:MAX_EXCERPT_LINES]
    out = []
    for n in sorted(wanted):
        marks = marks_on(sql_lines[n - 1], violation.columns, verdict.job.sql)
        file_line = verdict.job.source.locate(n, marks[0].start + 1 if marks else None)[0]
        out.append(ExcerptLine(sql_line=n, file_line=file_line, text=sql_lines[n - 1], marks=marks))
    return tuple(out)


def sql_line_text(sql_lines: Sequence[str], line: int) -> str:
    return sql_lines[line - 1] if 1 <= line <= len(sql_lines) else ""


def column_lines(verdict: Verdict, qualified: str) -> tuple[int, ...]:
    """The SQL lines a column appears on, from the analysis facts or the policy input."""
    if verdict.facts is not None:
        for fact in verdict.facts.columns:
            if fact.qualified == qualified:
                return fact.lines
    for column in (verdict.input or {}).get("columns") or []:
        if isinstance(column, Mapping) and f"{column.get('table')}.{column.get('column')}" == qualified:
            lines = column.get("lines") or []
            return tuple(n for n in lines if isinstance(n, int))
    return ()


def _first_column_line(verdict: Verdict, violation: Violation) -> int | None:
    for column in violation.columns:
        lines = column_lines(verdict, column)
        if lines:
            return lines[0]
    return None


def marks_on(text: str, columns: Sequence[str], sql: str) -> tuple[Mark, ...]:
    """Spans of the columns' names on a line (outside literals and comments); else a ``*``.

    Where a name occurs more than once, the occurrence qualified by the column's table or one
    of its aliases in ``sql`` wins (``h.nhi`` for ``health_extract.nhi``). The key of a field is
    a literal in the SQL, so a field is marked where its column is named.
    """
    hidden = _literal_or_comment_positions(text)
    marks: dict[int, Mark] = {}
    for qualified in columns:
        table, _, column = qualified.rpartition(".")
        name = field_path(column)[0]  # a field (details->nhi) is marked on the column holding it
        pattern = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])", re.IGNORECASE)
        starts = [m.start() for m in pattern.finditer(text) if m.start() not in hidden | marks.keys()]
        if not starts:
            continue
        qualifiers = table_qualifiers(sql, table)
        start = next((i for i in starts if _qualifier_before(text, i) in qualifiers), starts[0])
        marks[start] = Mark(start, len(name), qualified)
    if not marks and columns:
        star = next((m.end() - 1 for m in SELECT_STAR.finditer(text) if m.end() - 1 not in hidden), None)
        if star is not None:
            marks[star] = Mark(star, 1, "*")
    return tuple(marks[k] for k in sorted(marks))


def table_qualifiers(sql: str, table: str) -> set[str]:
    """Lower-cased names that can qualify the table's columns: its name parts and aliases."""
    if not table:
        return set()
    last = table.rsplit(".", 1)[-1]
    names = {table.lower(), last.lower()}
    alias = re.compile(rf"(?<![\w$]){re.escape(last)}[\"`\]]?\s+(?:as\s+)?([A-Za-z_][\w$]*)", re.IGNORECASE)
    names.update(m.group(1).lower() for m in alias.finditer(sql) if m.group(1).lower() not in NOT_ALIASES)
    return names


def _qualifier_before(text: str, start: int) -> str | None:
    match = re.search(r"([\w$]+)[\"`\]]?\.[\"`\[]?$", text[:start])
    return match.group(1).lower() if match else None


def _literal_or_comment_positions(text: str) -> set[int]:
    """Character positions inside '...' string literals or after a -- comment on one line."""
    hidden: set[int] = set()
    in_literal = False
    i = 0
    while i < len(text):
        ch = text[i]
        if not in_literal and text.startswith("--", i):
            hidden.update(range(i, len(text)))
            break
        if ch == "'":
            in_literal = not in_literal
            hidden.add(i)
        elif in_literal:
            hidden.add(i)
        i += 1
    return hidden


def display_width(text: str) -> int:
    """Terminal cells a string takes: wide East Asian characters count 2, combining marks 0."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width
