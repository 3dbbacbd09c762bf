"""Waivers as a first-class object: each waiver of kaitiaki.yaml with its state (in force,
expiring, ignored and why), and whether the decisions actually used it.

"Used" is read from decisions, never guessed: the verdicts of a run (``kaitiaki waivers list
jobs/``) or the decision log, where each record names its job and which violations were waived.
A waiver that lifted nothing in the latest decision of its job is unused: a candidate to remove.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaitiaki.config import Settings, Waiver
from kaitiaki.config_check import ERROR, Problem, waiver_problems
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import Verdict

IN_FORCE = "in force"
EXPIRING = "expiring"
IGNORED = "ignored"
INVALID = "invalid"  # an error: unknown rule id, or a hard rule
_SPAN = re.compile(r"^\s*(?P<n>\d+)\s*(?P<unit>d|w|m|y)?\s*$")
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


@dataclass(frozen=True)
class Usage:
    """What the decisions say: the (job, rule) pairs a waiver lifted, and the jobs decided."""

    waived: frozenset[tuple[str, str]]
    jobs: frozenset[str]
    source: str


@dataclass(frozen=True)
class WaiverRow:
    waiver: Waiver
    state: str
    days_left: int | None
    problems: tuple[Problem, ...]
    used: bool | None  # None: no decisions to tell

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.waiver.to_dict(),
            "line": self.waiver.line,
            "state": self.state,
            "days_left": self.days_left,
            "used": self.used,
            "problems": [p.to_dict() for p in self.problems],
        }


def parse_span(text: str) -> int:
    """``30d``, ``2w``, ``3m``, ``1y`` or a bare number of days → days."""
    match = _SPAN.match(text)
    if not match:
        raise KaitiakiError(f"cannot read the span {text!r}.", hint="write it as 30d, 2w, 3m or 1y.")
    return int(match.group("n")) * _UNIT_DAYS[match.group("unit") or "d"]


def waiver_rows(
    settings: Settings, *, today: dt.date, usage: Usage | None = None, expiring_days: int = 30
) -> list[WaiverRow]:
    """Every waiver with its state; ``expiring`` when it is in force but ends within the span."""
    jobs = usage.jobs if usage is not None and usage.jobs else None
    rows = []
    for waiver, problems in zip(
        settings.waivers, waiver_problems(settings, today=today, jobs=jobs), strict=True
    ):
        days = (dt.date.fromisoformat(waiver.expires) - today).days if waiver.expires else None
        rows.append(
            WaiverRow(
                waiver=waiver,
                state=_state(problems, days, expiring_days),
                days_left=days,
                problems=tuple(problems),
                used=(waiver.job, waiver.rule) in usage.waived if usage is not None else None,
            )
        )
    return rows


def _state(problems: Sequence[Problem], days: int | None, expiring_days: int) -> str:
    if any(p.severity == ERROR for p in problems):
        return INVALID
    if any("is ignored" in p.message for p in problems):
        return IGNORED
    if days is not None and days <= expiring_days:
        return EXPIRING
    return IN_FORCE


def usage_from_verdicts(verdicts: Iterable[Verdict]) -> Usage:
    waived: set[tuple[str, str]] = set()
    jobs: set[str] = set()
    for verdict in verdicts:
        jobs.add(verdict.job.id)
        waived |= {(verdict.job.id, v.rule) for v in verdict.decision.violations if v.waived}
    return Usage(frozenset(waived), frozenset(jobs), "this run's decisions")


def usage_from_log(path: Path) -> Usage:
    """The latest decision of each job in a decision log (records are appended in order)."""
    latest: dict[str, Mapping[str, Any]] = {}
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    raise KaitiakiError(
                        "a decision log line is not JSON.", path=str(path), line=number
                    ) from None
                job = (record.get("labels") or {}).get("job") if isinstance(record, dict) else None
                if isinstance(job, str):
                    latest[job] = record.get("result") or {}
    except OSError as exc:
        raise KaitiakiError(f"cannot read the decision log: {exc.strerror}.", path=str(path)) from None
    waived = {
        (job, str(v.get("rule")))
        for job, result in latest.items()
        for v in result.get("violations") or []
        if isinstance(v, dict) and v.get("waived") is True
    }
    return Usage(frozenset(waived), frozenset(latest), f"the decision log {path}")


def render_rows(rows: Sequence[WaiverRow], usage: Usage | None) -> str:
    if not rows:
        return "No waivers match (kaitiaki.yaml `waivers:`).\n"
    lines = []
    for row in rows:
        w = row.waiver
        ends = f"expires {w.expires}" if w.expires else "no expiry"
        if row.days_left is not None:
            ends += f" ({row.days_left} days left)" if row.days_left >= 0 else f" ({-row.days_left} days ago)"
        used = "" if row.used is None else ("  used" if row.used else "  unused")
        lines.append(f"{w.rule}  {w.job}  {row.state}  {ends}{used}")
        lines.append(
            f"    approved by {w.approved_by or '(nobody)'}: {w.justification or '(no justification)'}"
        )
        lines.extend(f"    {p}" for p in row.problems)
    if usage is not None:
        lines.append(f"kaitiaki: use read from {usage.source} ({len(usage.jobs)} jobs)")
    return "\n".join(lines) + "\n"
