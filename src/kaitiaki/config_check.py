"""Governance checks of kaitiaki.yaml that need the policies: mistakes that pass the YAML
validation but silently change nothing.

A lowercase rule id in a waiver or in ``levels`` (``pm-07``), a waiver that has expired, lacks an
approver, names a hard rule or a job that does not exist, a misspelt ``policy_data`` key
(``min_cell_count``), a purpose past its expiry: each becomes a ``Problem`` naming kaitiaki.yaml's
line. ``kaitiaki config check`` fails (exit 1) on errors and lists warnings; every other command
logs them as warnings on stderr and decides as before (the mistakes only ever block more).
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaitiaki.config import Settings, Waiver

ERROR = "error"
WARNING = "warning"
# Rules kaitiaki itself adds (gate.py, report/findings.py): always hard, never in METADATA.
BUILTIN_RULES = {"SYS-00": "hard", "SYS-01": "hard", "SYS-02": "hard"}
# Keys of data.kaitiaki that kaitiaki itself fills in, so policy_data may not name them usefully
# but they are not typos either.
GENERATED_DATA_KEYS = ("rules", "levels", "issuer", "violation_fields", "revision")

log = logging.getLogger("kaitiaki.config")


@dataclass(frozen=True)
class Problem:
    """One governance mistake, where it is, and what to do about it."""

    severity: str
    message: str
    path: str | None = None
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = (
            f"{self.path}:{self.line}: "
            if self.path and self.line
            else (f"{self.path}: " if self.path else "")
        )
        text = f"{where}{self.severity}: {self.message}"
        return f"{text} Hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "hint": self.hint,
        }


def governance_problems(
    settings: Settings,
    rules: Mapping[str, Any],
    base_data: Mapping[str, Any],
    *,
    today: dt.date,
    jobs: Collection[str] | None = None,
) -> list[Problem]:
    """Every governance mistake in ``settings`` given the policies' ``rules`` (id → METADATA
    fields, data.kaitiaki.rules) and their data before kaitiaki.yaml's ``policy_data``.
    ``jobs``: the job ids that exist, when known (a waiver naming none of them is reported)."""
    checker = _Checker(settings, rules, today)
    problems = [
        *checker.levels(),
        *checker.waivers(jobs),
        *checker.purposes(),
        *checker.policy_data(base_data),
    ]
    return sorted(problems, key=lambda p: (p.line or 0, p.severity, p.message))


def settings_problems(
    settings: Settings, *, today: dt.date | None = None, jobs: Collection[str] | None = None
) -> list[Problem]:
    """``governance_problems`` for the policies kaitiaki.yaml names (their METADATA and data.json
    are read, not compiled: a few milliseconds)."""
    rules, base = policy_facts(settings)
    return governance_problems(settings, rules, base, today=today or utc_today(), jobs=jobs)


def waiver_problems(
    settings: Settings, *, today: dt.date | None = None, jobs: Collection[str] | None = None
) -> list[list[Problem]]:
    """The problems of each waiver of kaitiaki.yaml, in order (``kaitiaki waivers list``)."""
    rules, _ = policy_facts(settings)
    checker = _Checker(settings, rules, today or utc_today())
    return [checker.waiver(i, w, jobs) for i, w in enumerate(settings.waivers)]


def policy_facts(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rules (id → METADATA fields) and the data (before ``policy_data``) of the policies."""
    from kaitiaki.engine import policy_set
    from kaitiaki.engine.metadata import rule_metadata, rules_table
    from kaitiaki.engine.sources import merge_fragments

    policies = policy_set(settings)
    rules = rules_table(rule_metadata(policies.policy_files()))
    return rules, merge_fragments(d.fragment() for d in policies.data_files)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def log_problems(problems: Iterable[Problem]) -> None:
    """Outside ``kaitiaki config check`` every problem is a warning on stderr (logging), so the
    command's own output stays clean and nothing is decided differently."""
    for problem in problems:
        log.warning("kaitiaki: %s", str(problem).replace(f"{problem.severity}: ", "warning: ", 1))


class _Checker:
    def __init__(self, settings: Settings, rules: Mapping[str, Any], today: dt.date) -> None:
        self.settings = settings
        self.path = str(settings.path) if settings.path else None
        self.levels_of = {**BUILTIN_RULES, **{r: _level(m) for r, m in rules.items()}}
        self.off_agency = {
            r for r, m in rules.items() if isinstance(m, Mapping) and m.get("level_off_agency")
        }
        self.today = today

    def problem(self, severity: str, message: str, key: str, hint: str | None = None) -> Problem:
        return Problem(severity, message, self.path, self.settings.lines.get(key), hint)

    # --- rule ids ---------------------------------------------------------------------------

    def unknown_rule(self, rule: str, key: str, where: str) -> Problem | None:
        if rule in self.levels_of:
            return None
        return self.problem(
            ERROR, f"{where} names rule {rule!r}, which no policy defines.", key, self.rule_hint(rule)
        )

    def rule_hint(self, rule: str) -> str:
        same = [r for r in self.levels_of if r.lower() == rule.lower()]
        close = same or difflib.get_close_matches(rule, list(self.levels_of), n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]!r}? Rule ids are case-sensitive."
        return "`kaitiaki policy docs` lists the rules; rule ids are case-sensitive."

    def levels(self) -> list[Problem]:
        out = []
        for rule in self.settings.levels:
            problem = self.unknown_rule(rule, f"levels.{rule}", "levels")
            if problem:
                out.append(problem)
        return out

    def level(self, rule: str) -> str:
        return self.settings.levels.get(rule) or self.levels_of.get(rule, "hard")

    # --- waivers ----------------------------------------------------------------------------

    def waivers(self, jobs: Collection[str] | None) -> list[Problem]:
        out: list[Problem] = []
        for index, waiver in enumerate(self.settings.waivers):
            out.extend(self.waiver(index, waiver, jobs))
        return out

    def waiver(self, index: int, waiver: Waiver, jobs: Collection[str] | None) -> list[Problem]:
        key = f"waivers[{index}]"
        label = f"the waiver of {waiver.rule} for {waiver.job}"
        unknown = self.unknown_rule(waiver.rule, f"{key}.rule", "a waiver")
        out = [unknown] if unknown else []
        if not unknown and self.level(waiver.rule) == "hard" and waiver.rule not in self.off_agency:
            out.append(
                self.problem(
                    ERROR,
                    f"{label} can never count: {waiver.rule} is hard, and no waiver lifts a hard rule.",
                    f"{key}.rule",
                    "change the SQL or the purpose instead, or (if governance agrees) lower the rule's "
                    "level under `levels:`.",
                )
            )
        ignored = waiver_status(waiver, self.today)
        if ignored:
            out.append(self.problem(WARNING, f"{label} is ignored: {ignored}.", key, _renew_hint(waiver)))
        missing_file = jobs is None and waiver.job.startswith("sql:") and not self.sql_file_exists(waiver.job)
        if missing_file:
            out.append(
                self.problem(
                    WARNING,
                    f"{label} matches no job: there is no file {waiver.job[4:]!r} beside kaitiaki.yaml.",
                    f"{key}.job",
                    "a SQL file's job id is `sql:` and its path relative to kaitiaki.yaml.",
                )
            )
        if jobs is not None and waiver.job not in jobs:
            close = difflib.get_close_matches(waiver.job, list(jobs), n=1, cutoff=0.75)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "job ids are listed by `kaitiaki check --format json`."
            )
            out.append(self.problem(WARNING, f"{label} matches no job.", f"{key}.job", hint))
        return out

    def sql_file_exists(self, job: str) -> bool:
        path = Path(job[4:])
        return (path if path.is_absolute() else self.settings.base_dir / path).is_file()

    # --- purposes ---------------------------------------------------------------------------

    def purposes(self) -> list[Problem]:
        out = []
        for purpose in self.settings.purposes.values():
            if purpose.expires and dt.date.fromisoformat(purpose.expires) < self.today:
                out.append(
                    self.problem(
                        WARNING,
                        f"purpose {purpose.id!r} expired on {purpose.expires}: every job declaring it "
                        "is denied (PM-02).",
                        f"purposes.{purpose.id}.expires",
                        f"ask {purpose.approved_by or 'its approver'} to renew it, or retire the jobs.",
                    )
                )
        return out

    # --- policy data ------------------------------------------------------------------------

    def policy_data(self, base: Mapping[str, Any]) -> list[Problem]:
        return list(self._data_keys(self.settings.policy_data, base, "policy_data", base))

    def _data_keys(
        self, given: Mapping[str, Any], known: Mapping[str, Any], where: str, root: Mapping[str, Any]
    ) -> Iterable[Problem]:
        for key, value in given.items():
            path = f"{where}.{key}"
            if key in known:
                if isinstance(value, Mapping) and isinstance(known[key], Mapping) and known[key]:
                    yield from self._data_keys(value, known[key], path, root)
                continue
            if where == "policy_data" and key in GENERATED_DATA_KEYS:
                continue
            yield self.problem(
                ERROR,
                f"{path} is not a key of the policies' data, so it changes nothing.",
                path,
                _data_hint(key, known, root),
            )


def _level(meta: Any) -> str:
    level = meta.get("level") if isinstance(meta, Mapping) else None
    return level if isinstance(level, str) else "hard"


def waiver_status(waiver: Waiver, today: dt.date) -> str | None:
    """Why a waiver cannot count whatever the job (the same tests as main.rego), or None."""
    if not waiver.justification.strip():
        return "it has no justification"
    if not waiver.approved_by.strip():
        return "it has no approver (approved_by)"
    if waiver.expires is None:
        return "it has no expiry date"
    if dt.date.fromisoformat(waiver.expires) < today:
        return f"it expired on {waiver.expires}"
    return None


def _renew_hint(waiver: Waiver) -> str:
    who = waiver.approved_by.strip() or "your data governance team"
    return f"ask {who} to renew or complete it, or remove it."


def _data_hint(key: str, known: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    words = sorted(key.lower().split("_"))
    same_words = [k for k in known if sorted(str(k).lower().split("_")) == words]
    close = same_words or difflib.get_close_matches(key, [str(k) for k in known], n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    # The key may belong one level down (``policy_data: {min_count_cell: 10}`` → params).
    nested = {f"{top}.{k}": k for top, value in root.items() if isinstance(value, Mapping) for k in value}
    matches = [path for path, name in nested.items() if name == key]
    if matches:
        return f"did you mean policy_data.{matches[0]}?"
    names = ", ".join(sorted(str(k) for k in known)[:12])
    return f"the policies' data defines: {names}."
