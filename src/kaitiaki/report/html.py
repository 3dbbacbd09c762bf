"""The HTML estate report: every job's decision and a graph of how identifying columns flow.

One self-contained file (inline CSS, JS and SVG; a Content-Security-Policy that forbids loading
anything), so it can be attached to a CI run or mailed to a governance lead and opened offline.
Everything taken from jobs, SQL or policies is HTML-escaped, and the page carries only facts about
columns, never data values (so no SQL excerpts: literals in SQL can be values). The graph layout
is a small layered (Sugiyama-style) layout computed here, so the page needs no JS graph library
and reads the same with JavaScript off; the script only adds filters and search.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from kaitiaki import __version__
from kaitiaki.clock import utc_now
from kaitiaki.config import Waiver
from kaitiaki.model import Job, Verdict
from kaitiaki.report.findings import (
    ADVISORY,
    BLOCKING,
    NOT_ENFORCED,
    WAIVED,
    Finding,
    ask_text,
    findings,
    ignored_waiver_text,
    waiver_text,
)

DEFAULT_TITLE = "kaitiaki estate report"
OUTCOMES = ("blocked", "not-run", "warned", "allowed")
OUTCOME_TEXT = {"blocked": "blocked", "not-run": "not run", "warned": "warned", "allowed": "allowed"}
EXPIRING_DAYS = 30  # a waiver in force that ends within this many days is shown as expiring
MAX_COLUMN_VIEWS = 400  # identifying source columns offered in "Where a column goes"

SMALL_ESTATE_JOBS = 30  # up to this many jobs the graph also draws flows of unclassified columns
OPEN_COMPONENT_NODES = 60  # larger connected parts of the graph start collapsed
OPEN_COMPONENTS = 6
LABELLED_EDGES = 60  # beyond this a part's labels would only hide its arrows
MAX_LABEL_LINES = 3

LabelLines = tuple[tuple[str, str, str], ...]  # (category class, columns text, transform text)

NODE_W = 210
NODE_H = 34
COLUMN_GAP = 56
NODE_GAP_Y = 22
LABEL_GAP_Y = 10
DUMMY_H = 14
DUMMY_GAP_Y = 6
ROW_GAP = 40  # between rows of a vertical layout
WIDE_GRAPH = 1180  # wider than this (a 1280 px window's page), a vertical layout is offered too
PAD = 20
LABEL_W = 196
LINE_H = 14
NAME_LINE_H = 15  # a wrapped table name's lines, 12px text
NODE_CHARS = 27  # 12px monospace (7.2px a character) in NODE_W minus padding
LABEL_CHARS = 27  # 11px monospace (6.6px a character) in LABEL_W minus padding
SWEEPS = 8  # barycentre and alignment passes; SWEEPS_LARGE beyond LARGE_LAYOUT segments
SWEEPS_LARGE = 2
LARGE_LAYOUT = 20_000

CATEGORY_FAMILIES = (  # most telling first: a column's colour is its first family in this order
    ("unique_identifier", "cat-unique", "unique identifier"),
    ("direct_identifier", "cat-direct", "direct identifier"),
    ("sensitive", "cat-sensitive", "sensitive"),
    ("child", "cat-child", "child"),
    ("quasi_identifier", "cat-quasi", "quasi-identifier"),
    ("person_key", "cat-key", "person key (pseudonym)"),
    ("opt_out_flag", "cat-optout", "opt-out flag"),
)
NOT_IDENTIFYING = frozenset({"opt_out_flag"})
TRANSFORM_TEXT = {
    "hash": "hash",
    "mask": "mask",
    "truncate": "truncate",
    "aggregate": "Σ aggregate",
    "cast": "cast",
    "none": "raw",
}
LEVEL_CLASSES = frozenset({"advisory", "soft", "hard"})
STATUS_TEXT = {
    BLOCKING: "blocks",
    NOT_ENFORCED: "would block (not enforced)",
    WAIVED: "waived",
    ADVISORY: "advisory",
}


# --- plugin -------------------------------------------------------------------------------------


def html_reporter(verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    """The ``html`` format; ``color`` is part of the reporter call and means nothing for HTML."""
    return render_html(verdicts)


# --- outcome ------------------------------------------------------------------------------------


def outcome(verdict: Verdict, items: Sequence[Finding] | None = None) -> str:
    """``blocked``, ``warned`` (denied but not enforced, or advisory findings) or ``allowed``."""
    if verdict.blocked:
        return "blocked"
    found = findings(verdict) if items is None else items
    if any(f.status in (NOT_ENFORCED, ADVISORY, BLOCKING) for f in found):
        return "warned"
    return "allowed"


def outcome_rank(name: str) -> int:
    return OUTCOMES.index(name)


# --- the page -----------------------------------------------------------------------------------


def render_html(
    verdicts: Sequence[Verdict],
    *,
    title: str = DEFAULT_TITLE,
    generated_at: str | None = None,
    waivers: Sequence[Waiver] = (),
) -> str:
    """One self-contained HTML page for the verdicts: summary, flow graph, where each identifying
    column goes, the waivers, and the filterable job table. ``waivers``: kaitiaki.yaml's, so the
    panel also lists those naming no job of the report (the verdicts carry only their own)."""
    jobs = ordered_jobs(verdicts)
    graph = flow_graph(jobs)
    generated = generated_at or utc_now()
    body = "\n".join(
        (
            '<a class="skip" href="#jobs">Skip to the jobs</a>',
            summary_header(jobs, title, generated),
            "<main>",
            flows_section(graph, len(jobs)),
            columns_section(jobs),
            waivers_section(jobs, waivers, generated[:10]),
            jobs_section(jobs),
            "</main>",
            "<footer><p>This report shows only facts about columns (names, categories, uses and "
            "transforms), never data values. Generated by kaitiaki "
            f"{_esc(__version__)}.</p></footer>",
        )
    )
    return page(title, body)


def page(title: str, body: str) -> str:
    """The document around ``body``; the CSP allows exactly the inline style and script below."""
    style = asset("report.css")
    script = asset("report.js")
    policy = (
        f"default-src 'none'; style-src '{csp_hash(style)}'; script-src '{csp_hash(script)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_esc(policy)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="kaitiaki {_esc(__version__)}">\n'
        f"<title>{_esc(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n{body}\n"
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


def asset(name: str) -> str:
    return (resources.files("kaitiaki.report") / "assets" / name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class JobRow:
    """A verdict with what the page shows about it, computed once."""

    index: int
    verdict: Verdict
    outcome: str
    findings: tuple[Finding, ...]
    stopped_by: str | None = None  # the blocked job upstream, for a job that does not run

    @property
    def job(self) -> Job:
        return self.verdict.job


def ordered_jobs(verdicts: Iterable[Verdict]) -> list[JobRow]:
    """Blocked first, then not run, warned, allowed; by job id within each."""
    rated = [(v, tuple(findings(v))) for v in verdicts]
    base = {v.job.id: outcome(v, items) for v, items in rated}
    stopped = downstream_of_blocked(
        [v.job for v, _ in rated], {j for j, name in base.items() if name == "blocked"}
    )
    rows = [("not-run" if v.job.id in stopped else base[v.job.id], v, items) for v, items in rated]
    rows.sort(key=lambda row: (outcome_rank(row[0]), row[1].job.id))
    return [
        JobRow(index=i, verdict=v, outcome=name, findings=items, stopped_by=stopped.get(v.job.id))
        for i, (name, v, items) in enumerate(rows)
    ]


def downstream_of_blocked(jobs: Sequence[Job], blocked: set[str]) -> dict[str, str]:
    """Jobs that are not blocked themselves but read (through ``upstream``, transitively) from a
    blocked one, each with the nearest blocked job: a dbt run leaves them out, so they do not run."""
    readers: dict[str, list[str]] = defaultdict(list)
    for job in jobs:
        for parent in job.upstream:
            readers[parent].append(job.id)
    cause: dict[str, str] = {}
    queue = [(job_id, job_id) for job_id in sorted(blocked)]
    while queue:
        current, origin = queue.pop(0)
        for reader in readers[current]:
            if reader not in blocked and reader not in cause:
                cause[reader] = origin
                queue.append((reader, origin))
    return cause


def summary_header(jobs: Sequence[JobRow], title: str, generated_at: str) -> str:
    counts = {name: sum(1 for j in jobs if j.outcome == name) for name in OUTCOMES}
    revisions = sorted(
        {j.verdict.decision.policy_revision for j in jobs if j.verdict.decision.policy_revision}
    )
    modes = sorted({j.verdict.mode for j in jobs})
    revision_text = ", ".join(f"<code>{_esc(r)}</code>" for r in revisions) or "none"
    cards = "".join(
        f'<div class="{cls}"><dt>{label}</dt><dd>{count}</dd></div>'
        for cls, label, count in (
            ("jobs", "Jobs", len(jobs)),
            ("allowed", "Allowed", counts["allowed"]),
            ("blocked", "Blocked", counts["blocked"]),
            ("not-run", "Not run", counts["not-run"]),
            ("warned", "Warned", counts["warned"]),
        )
        if cls != "not-run" or count
    )
    return (
        '<header class="page">'
        f"<h1>{_esc(title)}</h1>"
        f'<p class="meta">Generated <time datetime="{_esc(generated_at)}">{_esc(generated_at)}</time>'
        f" · policy revision {revision_text}"
        f" · mode {_esc(', '.join(modes)) or 'none'}</p>"
        f'<dl class="counts" aria-label="Decisions">{cards}</dl>'
        '<nav class="sections" aria-label="Sections"><a href="#flows">Flows of identifying columns</a>'
        '<a href="#columns">Where a column goes</a><a href="#waivers">Waivers</a>'
        '<a href="#jobs">Jobs</a></nav>'
        "</header>"
    )


# --- waivers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaiverView:
    rule: str
    job: str
    job_index: int | None
    state: str  # ignored | expiring | unused | no-job | in-force
    detail: str
    approved_by: str
    expires: str
    justification: str


WAIVER_STATE_TEXT = {
    "ignored": "ignored",
    "expiring": "expiring",
    "unused": "unused",
    "no-job": "matches no job here",
    "in-force": "in force",
}


def waiver_views(jobs: Sequence[JobRow], configured: Sequence[Waiver], today: str) -> list[WaiverView]:
    """Every waiver offered to a job of the report, and what it did: lifted a finding (in force,
    or expiring within EXPIRING_DAYS), was ignored (and why), or lifted nothing (unused); plus the
    configured waivers that name no job of the report."""
    views: list[WaiverView] = []
    seen: set[tuple[str, str]] = set()
    for row in jobs:
        for offered in (row.verdict.input or {}).get("waivers") or []:
            if not isinstance(offered, Mapping):
                continue
            rule, text = str(offered.get("rule") or ""), {k: str(offered.get(k) or "") for k in WAIVER_TEXT}
            seen.add((row.job.id, rule))
            state, detail = waiver_state(row, rule, text["expires"], today)
            views.append(WaiverView(rule, row.job.id, row.index, state, detail, **text))
    for waiver in configured:
        if (waiver.job, waiver.rule) not in seen and waiver.job not in {row.job.id for row in jobs}:
            views.append(
                WaiverView(
                    waiver.rule,
                    waiver.job,
                    None,
                    "no-job",
                    "no job of this report has this id",
                    waiver.approved_by,
                    waiver.expires or "",
                    waiver.justification,
                )
            )
    order = list(WAIVER_STATE_TEXT)
    return sorted(views, key=lambda w: (order.index(w.state), w.job, w.rule))


WAIVER_TEXT = ("approved_by", "expires", "justification")


def waiver_state(row: JobRow, rule: str, expires: str, today: str) -> tuple[str, str]:
    decision = row.verdict.decision
    reasons = [w.reason for w in decision.ignored_waivers if w.rule == rule]
    if reasons:
        return "ignored", "; ".join(reasons)
    if any(v.rule == rule and v.waived for v in decision.violations):
        days = days_between(today, expires)
        if days is not None and days <= EXPIRING_DAYS:
            return "expiring", f"lifts {rule} for {days} more day{'s' if days != 1 else ''}"
        return "in-force", f"lifts {rule}"
    named = next(
        (v.rule for v in decision.violations if v.rule.lower() == rule.lower() and v.rule != rule), None
    )
    if named:
        return "ignored", f"rule ids are case-sensitive: this names {rule!r}, the finding is {named}"
    return "unused", f"the job has no {rule} finding to lift"


def days_between(start: str, end: str) -> int | None:
    import datetime as dt

    try:
        return (dt.date.fromisoformat(end[:10]) - dt.date.fromisoformat(start[:10])).days
    except ValueError:
        return None


def waivers_section(jobs: Sequence[JobRow], configured: Sequence[Waiver], today: str) -> str:
    views = waiver_views(jobs, configured, today)
    head = '<section id="waivers" aria-labelledby="waivers-h"><h2 id="waivers-h">Waivers</h2>'
    if not views:
        return head + '<p class="note">No waiver names a job of this report.</p></section>'
    counts = ", ".join(
        f"{sum(1 for w in views if w.state == state)} {text}"
        for state, text in WAIVER_STATE_TEXT.items()
        if any(w.state == state for w in views)
    )
    rows = "".join(
        f'<tr class="waiver {w.state}"><td><span class="rule">{_esc(w.rule)}</span></td>'
        f'<td class="mono wrap">'
        + (f'<a href="#job-{w.job_index}">{_esc(w.job)}</a>' if w.job_index is not None else _esc(w.job))
        + f'</td><td><span class="state {w.state}">{_esc(WAIVER_STATE_TEXT[w.state])}</span>'
        f'<span class="why">{_esc(w.detail)}</span></td>'
        f"<td>{_esc(w.expires or '—')}</td><td>{_esc(w.approved_by or '—')}</td>"
        f"<td>{_esc(w.justification or '—')}</td></tr>"
        for w in views
    )
    return (
        head + f'<p class="note">{len(views)} waivers: {_esc(counts)}. An ignored waiver lifts nothing; '
        "the finding it names still counts.</p>"
        '<table class="waivers"><thead><tr><th scope="col">Rule</th><th scope="col">Job</th>'
        '<th scope="col">State</th><th scope="col">Expires</th><th scope="col">Approved by</th>'
        f'<th scope="col">Justification</th></tr></thead><tbody>{rows}</tbody></table></section>'
    )


# --- where a column goes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """A column a source column reaches, the jobs on the way and what they did to it."""

    column: str
    steps: int
    jobs: tuple[int, ...]
    transforms: tuple[str, ...]


def column_reach(jobs: Sequence[JobRow]) -> dict[str, tuple[tuple[str, ...], list[Reach], set[int]]]:
    """Identifying source column → (its categories, every column it reaches with the jobs and
    transforms on the way, every job that reads it directly or downstream)."""
    edges: dict[str, list[tuple[str, int, tuple[str, ...]]]] = defaultdict(list)
    categories: dict[str, tuple[str, ...]] = {}
    readers: dict[str, set[int]] = defaultdict(set)
    for row in jobs:
        _, output_label, _ = job_output(row.job)
        for (table, col), cats in column_categories(row.verdict).items():
            name = f"{table}.{col}"
            categories[name] = tuple(dict.fromkeys((*categories.get(name, ()), *cats)))
            readers[name].add(row.index)
        for s_table, s_col, t_table, t_col, transforms in lineage(row.verdict):
            target = f"{t_table or output_label}.{t_col}"
            edges[f"{s_table}.{s_col}"].append((target, row.index, transforms))
    written = {target for targets in edges.values() for target, _, _ in targets}
    starts = sorted(n for n, cats in categories.items() if is_identifying(cats) and n not in written)
    out: dict[str, tuple[tuple[str, ...], list[Reach], set[int]]] = {}
    for start in starts[:MAX_COLUMN_VIEWS]:
        reached: dict[str, Reach] = {}
        touched = set(readers[start])
        queue: list[tuple[str, int, tuple[int, ...], tuple[str, ...]]] = [(start, 0, (), ())]
        while queue:
            current, steps, via, done = queue.pop(0)
            for target, job, transforms in edges.get(current, []):
                if target in reached or target == start:
                    continue
                path = (*via, job)
                applied = tuple(dict.fromkeys((*done, *transforms)))
                reached[target] = Reach(target, steps + 1, path, applied)
                touched |= readers.get(target, set()) | {job}
                queue.append((target, steps + 1, path, applied))
        out[start] = (categories[start], sorted(reached.values(), key=lambda r: (r.steps, r.column)), touched)
    return out


def columns_section(jobs: Sequence[JobRow]) -> str:
    reach = column_reach(jobs)
    head = (
        '<section id="columns" aria-labelledby="columns-h"><h2 id="columns-h">Where a column goes</h2>'
        '<p class="note">Pick an identifying column a job reads to see every column it reaches, through '
        "which jobs, how it is transformed on the way, and each job's decision.</p>"
    )
    if not reach:
        return head + '<p class="note">No identifying column is read by these jobs.</p></section>'
    names = {row.index: row for row in jobs}
    options = "".join(f'<option value="{i}">{_esc(column)}</option>' for i, column in enumerate(reach))
    picker = (
        '<form class="column-pick" id="column-pick" hidden><label>Column '
        f'<select id="column-select"><option value="">choose a column…</option>{options}</select></label>'
        "</form>"
    )
    views = "".join(
        column_view(i, column, cats, reached, touched, names)
        for i, (column, (cats, reached, touched)) in enumerate(reach.items())
    )
    return head + picker + f'<div class="column-views" id="column-views">{views}</div></section>'


def column_view(
    number: int,
    column: str,
    categories: Sequence[str],
    reached: Sequence[Reach],
    touched: set[int],
    rows: Mapping[int, JobRow],
) -> str:
    outputs = "".join(
        f'<tr><td class="mono wrap">{_esc(r.column)}</td><td>{r.steps}</td>'
        f"<td>{_esc(', '.join(transform_text(t) for t in r.transforms) or '—')}</td>"
        f"<td>{', '.join(job_link(rows[j]) for j in dict.fromkeys(r.jobs))}</td></tr>"
        for r in reached
    )
    table = (
        '<table><thead><tr><th scope="col">Reaches</th><th scope="col">Steps</th>'
        '<th scope="col">Transforms on the way</th><th scope="col">Through jobs</th></tr></thead>'
        f"<tbody>{outputs}</tbody></table>"
        if reached
        else '<p class="note">It flows into no other column (read, joined or filtered only).</p>'
    )
    involved = sorted(touched, key=lambda j: (outcome_rank(rows[j].outcome), rows[j].job.id))
    job_items = "".join(
        f'<li>{job_link(rows[j])} <span class="badge {rows[j].outcome}">'
        f"{OUTCOME_TEXT[rows[j].outcome]}</span></li>"
        for j in involved
    )
    summary = (
        f"{column} ({', '.join(categories)}): reaches {plural(len(reached), 'column')} "
        f"through {plural(len(involved), 'job')}"
    )
    return (
        f'<details class="column-view" id="column-{number}" data-column="{number}">'
        f"<summary>{_esc(summary)}</summary>{table}"
        f'<h3>Jobs that read it or what it flows into</h3><ul class="column-jobs">{job_items}</ul></details>'
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def job_link(row: JobRow) -> str:
    return f'<a href="#job-{row.index}">{_esc(row.job.name)}</a>'


# --- jobs table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterCodes:
    """Filter values as small codes, so no job- or policy-supplied text is ever compared in JS."""

    purposes: dict[str | None, str]
    owners: dict[str | None, str]
    rules: dict[str, str]


def filter_codes(jobs: Sequence[JobRow]) -> FilterCodes:
    def codes(values: Iterable[str | None]) -> dict[str | None, str]:
        ordered = sorted(set(values), key=lambda v: (v is None, v or ""))
        return {value: str(i) for i, value in enumerate(ordered)}

    rules = sorted({f.violation.rule for j in jobs for f in j.findings})
    return FilterCodes(
        purposes=codes(j.job.purpose for j in jobs),
        owners=codes(j.job.owner for j in jobs),
        rules={rule: str(i) for i, rule in enumerate(rules)},
    )


def jobs_section(jobs: Sequence[JobRow]) -> str:
    codes = filter_codes(jobs)
    if not jobs:
        table = '<p class="note">No jobs were checked.</p>'
    else:
        table = (
            '<table class="jobs" id="job-table"><caption>Every job the gate decided, blocked first. '
            "Open a job's details for each violation and the columns it touches.</caption>"
            '<thead><tr><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Purpose</th>'
            '<th scope="col">Owner</th><th scope="col">Destination</th><th scope="col">Decision</th>'
            '<th scope="col">Violations</th></tr></thead>'
            + "".join(job_body(row, codes) for row in jobs)
            + "</table>"
        )
    return (
        '<section id="jobs" aria-labelledby="jobs-h"><h2 id="jobs-h">Jobs</h2>'
        '<noscript><p class="note">Filters and search need JavaScript; every job is listed below.'
        "</p></noscript>"
        + filters_form(codes)
        + f'<p id="shown" aria-live="polite">{len(jobs)} jobs</p>'
        + table
        + "</section>"
    )


def filters_form(codes: FilterCodes) -> str:
    """Hidden until the script runs: without JS the filters could not work, so they are not shown."""
    purposes = [(code, "(no purpose)" if p is None else p) for p, code in codes.purposes.items()]
    owners = [(code, "(no owner)" if o is None else o) for o, code in codes.owners.items()]
    rules = [(code, rule) for rule, code in codes.rules.items()]
    decisions = [(name, OUTCOME_TEXT[name]) for name in OUTCOMES]
    return (
        '<form class="filters" id="filters" role="search" aria-label="Filter jobs" hidden>'
        + select("decision", "Decision", decisions)
        + select("rule", "Rule", rules)
        + select("purpose", "Purpose", purposes)
        + select("owner", "Owner", owners)
        + '<label>Search<input type="search" name="q" placeholder="job, table, column, rule…"></label>'
        '<button type="reset">Clear</button>'
        '<button type="button" id="expand-all">Expand all</button>'
        '<button type="button" id="collapse-all">Collapse all</button>'
        "</form>"
    )


def select(name: str, label: str, options: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<option value="{_esc(value)}">{_esc(text)}</option>' for value, text in options)
    return f'<label>{label}<select name="{name}"><option value="">all</option>{items}</select></label>'


def job_body(row: JobRow, codes: FilterCodes) -> str:
    job = row.job
    rules = " ".join(sorted({codes.rules[f.violation.rule] for f in row.findings}))
    attributes = (
        f'class="job {row.outcome}" id="job-{row.index}" data-index="{row.index}" '
        f'data-decision="{row.outcome}" data-purpose="{codes.purposes[job.purpose]}" '
        f'data-owner="{codes.owners[job.owner]}" data-rules="{rules}"'
    )
    cells = (
        f'<td><span class="job-name">{_esc(job.name)}</span><span class="job-id">{_esc(job.id)}</span></td>'
        f"<td>{_esc(job.kind)}</td>"
        f"<td>{or_none(job.purpose)}</td><td>{or_none(job.owner)}</td>"
        f"<td>{_esc(destination_text(job))}</td>"
        f"<td>{decision_badge(row)}</td>"
        f"<td>{violation_list(row.findings)}</td>"
    )
    return (
        f"<tbody {attributes}><tr>{cells}</tr>"
        f'<tr class="detail"><td colspan="7">{job_detail(row)}</td></tr></tbody>'
    )


def or_none(value: str | None) -> str:
    return _esc(value) if value else '<span class="note">none</span>'


def destination_text(job: Job) -> str:
    parts = [job.destination.kind, job.destination.region]
    if job.destination.name:
        parts.append(job.destination.name)
    return " · ".join(parts)


def decision_badge(row: JobRow) -> str:
    symbol = {"blocked": "✕", "not-run": "⊘", "warned": "!", "allowed": "✓"}[row.outcome]
    verdict = row.verdict
    if verdict.blocked:
        why = f"{verdict.mode} mode"
    elif row.outcome == "not-run":
        why = f"downstream of a blocked model ({row.stopped_by}): left out of the run"
    elif not verdict.decision.allow:
        why = f"denied; not enforced in {verdict.mode} mode"
    elif any(f.status == ADVISORY for f in row.findings):
        why = "advisory findings"
    else:
        why = ""
    note = f'<span class="why">{_esc(why)}</span>' if why else ""
    badge = f'<span aria-hidden="true">{symbol}</span> {OUTCOME_TEXT[row.outcome]}'
    return f'<span class="badge {row.outcome}">{badge}</span>{note}'


def violation_list(items: Sequence[Finding]) -> str:
    """One line per rule and treatment (a rule firing for three columns is listed once, ×3)."""
    if not items:
        return '<span class="note">none</span>'
    grouped: dict[tuple[str, str, str, str], int] = {}
    for finding in items:
        v = finding.violation
        key = (v.rule, v.title, v.level, finding.status)
        grouped[key] = grouped.get(key, 0) + 1
    entries = []
    for (rule, title, level, status), count in grouped.items():
        waived = status == WAIVED
        tag = '<span class="tag-waived">waived</span>' if waived else ""
        times = f' <span class="times">×{count}</span>' if count > 1 else ""
        entries.append(
            f'<li class="{"waived" if waived else status}"><span class="rule">{_esc(rule)}</span> '
            f"{_esc(title)}{times}{level_tag(level)}{tag}</li>"
        )
    return f'<ul class="violations">{"".join(entries)}</ul>'


def level_tag(level: str) -> str:
    cls = level if level in LEVEL_CLASSES else "other"
    return f'<span class="level {cls}">{_esc(level)}</span>'


def job_detail(row: JobRow) -> str:
    verdict = row.verdict
    parts = [job_facts(verdict.job)]
    if row.findings:
        parts.append("<h3>Violations</h3>" + '<ol class="explain">')
        parts.extend(violation_detail(row.job, f) for f in row.findings)
        parts.append("</ol>")
    unresolved = unresolved_items(verdict)
    if unresolved:
        items = "".join(f"<li>{_esc(text)}</li>" for text in unresolved)
        parts.append(f"<h3>What could not be verified</h3><ul>{items}</ul>")
    parts.append(columns_table(column_facts(verdict)))
    return (
        f'<details class="job-detail"><summary>Details of {_esc(row.job.name)}</summary>'
        f'<div class="detail-body">{"".join(parts)}</div></details>'
    )


def job_facts(job: Job) -> str:
    facts = [
        ("Source", job.source.path or "—"),
        ("Dialect", job.dialect or "—"),
        ("Tags", ", ".join(job.tags) or "—"),
        ("Upstream", ", ".join(job.upstream) or "—"),
    ]
    cells = "".join(f"<dt>{name}</dt><dd>{_esc(value)}</dd>" for name, value in facts)
    return f'<dl class="facts">{cells}</dl>'


def violation_detail(job: Job, finding: Finding) -> str:
    v = finding.violation
    rows = [
        ("Status", STATUS_TEXT[finding.status]),
        ("Message", v.message or "—"),
        ("Columns", ", ".join(v.columns) or "—"),
        ("Where", location(job, finding.file_line)),
        ("Guideline", " · ".join(p for p in (v.guideline, v.principle, v.law) if p) or "—"),
        ("Remediation", v.remediation or "—"),
    ]
    rows += [
        (name, text)
        for name, text in (
            ("Ask", ask_text(finding)),
            ("Waiver", waiver_text(finding)),
            ("Waiver ignored", ignored_waiver_text(finding)),
        )
        if text
    ]
    cells = "".join(f"<dt>{name}</dt><dd>{_esc(value)}</dd>" for name, value in rows)
    return (
        f'<li><span class="rule">{_esc(v.rule)}</span> {_esc(v.title)}{level_tag(v.level)}'
        f"<dl>{cells}</dl></li>"
    )


def location(job: Job, file_line: int | None) -> str:
    if file_line is None:
        return job.source.path or "the whole job"
    return f"{job.source.path}:{file_line}" if job.source.path else f"SQL line {file_line}"


def unresolved_items(verdict: Verdict) -> list[str]:
    if verdict.input is not None:
        entries = verdict.input.get("unresolved") or []
        return [
            f"{entry.get('kind')}: {entry.get('detail')}"
            + (f" (line {entry.get('line')})" if entry.get("line") is not None else "")
            for entry in entries
            if isinstance(entry, Mapping)
        ]
    if verdict.facts is None:
        return []
    found = [f"{u.kind}: {u.detail}" for u in verdict.facts.unresolved]
    return found + [f"analysis error: {e.message}" for e in verdict.facts.errors]


def column_facts(verdict: Verdict) -> list[Mapping[str, Any]]:
    """The column facts of the policy input (classified); the raw analysis facts as a fallback."""
    if verdict.input is not None:
        return [c for c in verdict.input.get("columns") or [] if isinstance(c, Mapping)]
    if verdict.facts is not None:
        return [c.to_dict(with_categories=False) for c in verdict.facts.columns]
    return []


def columns_table(columns: Sequence[Mapping[str, Any]]) -> str:
    if not columns:
        return '<h3>Columns</h3><p class="note">The analysis found no columns.</p>'
    rows = "".join(
        "<tr>"
        f'<td class="mono">{_esc(column.get("table"))}.{_esc(column.get("column"))}</td>'
        f"<td>{category_chips(strings(column.get('categories')), 'categories' in column)}</td>"
        f"<td>{_esc(', '.join(strings(column.get('uses'))) or '—')}</td>"
        f"<td>{_esc(', '.join(transform_text(t) for t in strings(column.get('transforms'))) or '—')}</td>"
        f'<td class="mono">{_esc(", ".join(strings(column.get("outputs"))) or "—")}</td>'
        f"<td>{_esc(', '.join(strings(column.get('classified_by'))) or '—')}</td>"
        "</tr>"
        for column in columns
    )
    return (
        "<h3>Columns</h3><table><thead><tr>"
        '<th scope="col">Column</th><th scope="col">Categories</th><th scope="col">Uses</th>'
        '<th scope="col">Transforms</th><th scope="col">Outputs</th><th scope="col">Classified by</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def category_chips(categories: Sequence[str], classified: bool) -> str:
    if not categories:
        return "none" if classified else '<span class="note">not classified</span>'
    return ", ".join(f'<span class="{category_class((c,))}">{_esc(c)}</span>' for c in categories)


def strings(value: object) -> list[str]:
    """A JSON list as strings (the policy input is plain data from other stages)."""
    return [str(item) for item in value] if isinstance(value, (list, tuple)) else []


def transform_text(name: str) -> str:
    return TRANSFORM_TEXT.get(name, name)


def category_class(categories: Iterable[str]) -> str:
    families = {c.split(":", 1)[0] for c in categories}
    if not families:
        return "cat-none"
    for family, cls, _ in CATEGORY_FAMILIES:
        if family in families:
            return cls
    return "cat-other"


def is_identifying(categories: Iterable[str]) -> bool:
    return any(c.split(":", 1)[0] not in NOT_IDENTIFYING for c in categories)


# --- the flow graph: data -----------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnFlow:
    """One column reaching another through a job: what the edge label says."""

    source: str
    target: str
    categories: tuple[str, ...]
    transforms: tuple[str, ...]

    @property
    def identifying(self) -> bool:
        return is_identifying(self.categories)


@dataclass(frozen=True)
class FlowNode:
    key: str
    label: str
    kind: str  # source (read only) | written (a job's target) | output (a bare SELECT's result)


@dataclass
class FlowEdge:
    """Every flow from one table to another, over all jobs; coloured by its worst job outcome."""

    source: str
    target: str
    flows: dict[ColumnFlow, None] = field(default_factory=dict)
    jobs: dict[int, None] = field(default_factory=dict)
    outcome: str = "allowed"

    @property
    def identifying(self) -> bool:
        return any(f.identifying for f in self.flows)

    @property
    def style(self) -> str:
        """The decision's colour; grey for flows of unclassified columns, unless the job is blocked."""
        return self.outcome if self.identifying or self.outcome == "blocked" else "plain"


@dataclass
class FlowGraph:
    nodes: dict[str, FlowNode] = field(default_factory=dict)
    edges: dict[tuple[str, str], FlowEdge] = field(default_factory=dict)
    job_names: dict[int, str] = field(default_factory=dict)

    def add_node(self, key: str, label: str, kind: str) -> None:
        known = self.nodes.get(key)
        if known is None or (known.kind == "source" and kind != "source"):
            self.nodes[key] = FlowNode(key, label, kind)


def flow_graph(jobs: Sequence[JobRow]) -> FlowGraph:
    """Tables (and bare SELECT results) as nodes, column lineage between them as edges."""
    graph = FlowGraph()
    for row in jobs:
        graph.job_names[row.index] = row.job.name
        categories = column_categories(row.verdict)
        output_key, output_label, output_kind = job_output(row.job)
        for source_table, source_column, target_table, target_column, transforms in lineage(row.verdict):
            source_key = f"t:{source_table}"
            target_key = f"t:{target_table}" if target_table else output_key
            if source_key == target_key:
                continue
            graph.add_node(source_key, source_table, "source")
            if target_table:
                graph.add_node(target_key, target_table, "written")
            else:
                graph.add_node(target_key, output_label, output_kind)
            edge = graph.edges.setdefault((source_key, target_key), FlowEdge(source_key, target_key))
            flow = ColumnFlow(
                source_column,
                target_column,
                categories.get((source_table, source_column), ()),
                transforms,
            )
            edge.flows[flow] = None
            edge.jobs[row.index] = None
            if outcome_rank(row.outcome) < outcome_rank(edge.outcome):
                edge.outcome = row.outcome
    return graph


def column_categories(verdict: Verdict) -> dict[tuple[str, str], tuple[str, ...]]:
    return {
        (str(c.get("table")), str(c.get("column"))): tuple(strings(c.get("categories")))
        for c in column_facts(verdict)
    }


def job_output(job: Job) -> tuple[str, str, str]:
    """Where a bare SELECT's result goes: a dbt model's relation, else the job itself."""
    relation = job.meta.get("relation")
    if isinstance(relation, str) and relation:
        name = relation_name(relation, job.dialect)
        return f"t:{name}", name, "written"
    return f"j:{job.id}", job.name, "output"


def relation_name(relation: str, dialect: str | None) -> str:
    """``"dev"."main"."stg"`` → ``dev.main.stg``: the table name the analysis gives its readers."""
    try:
        table = normalize_identifiers(exp.to_table(relation, dialect=dialect), dialect=dialect)
    except SqlglotError:
        return relation.lower()
    return ".".join(part.name for part in table.parts)


def lineage(verdict: Verdict) -> list[tuple[str, str, str | None, str, tuple[str, ...]]]:
    """(source table, column, target table or None, column, transforms) per lineage edge.

    From the analysis facts; when a verdict carries none, from the policy input's outputs.
    """
    if verdict.facts is not None:
        return [
            (e.source.table, e.source.column, e.target.table, e.target.column, e.transforms)
            for e in verdict.facts.lineage
            if e.source.table
        ]
    found: list[tuple[str, str, str | None, str, tuple[str, ...]]] = []
    for output in (verdict.input or {}).get("outputs") or []:
        if not isinstance(output, Mapping):
            continue
        target_table = output.get("table")
        for source in strings(output.get("sources")):
            table, _, column = source.rpartition(".")
            if table:
                found.append(
                    (
                        table,
                        column,
                        str(target_table) if target_table else None,
                        str(output.get("column")),
                        tuple(strings(output.get("transforms"))) or ("none",),
                    )
                )
    return found


# --- the flow graph: layered layout -------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Top-left corners of the tables, each edge's label box (x, y, height) and route."""

    boxes: dict[str, tuple[float, float]]
    heights: dict[str, float]
    label_boxes: dict[tuple[str, str], tuple[float, float, float]]
    routes: dict[tuple[str, str], list[tuple[float, float]]]
    reversed_edges: frozenset[tuple[str, str]]
    width: float
    height: float
    vertical: bool = False


def components(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Weakly connected parts of the graph, each drawn (and collapsible) on its own."""
    parent = {n: n for n in nodes}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for u, v in edges:
        parent[root(u)] = root(v)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in parent:
        groups[root(n)].append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def back_edges(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Edges closing a cycle (a job reading what a later job writes); laid out reversed."""
    successors: dict[str, list[str]] = defaultdict(list)
    for u, v in edges:
        successors[u].append(v)
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 finished
    found: set[tuple[str, str]] = set()
    for start in nodes:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(successors[start]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                found.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(successors[child])))
    return found


def assign_layers(nodes: Sequence[str], dag: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the sources; sources then move next to their first reader."""
    successors: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(nodes, 0)
    for u, v in dag:
        successors[u].append(v)
        indegree[v] += 1
    layer = dict.fromkeys(nodes, 0)
    ready = [n for n in nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in successors[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    has_parent = {v for _, v in dag}
    for node in order:
        if node not in has_parent and successors[node]:
            layer[node] = min(layer[c] for c in successors[node]) - 1
    return layer


def order_layers(
    layers: list[list[str]], segments: Sequence[tuple[str, str]], sweeps: int = SWEEPS
) -> list[list[str]]:
    """Barycentre sweeps down and up; keeps the ordering with the fewest crossings."""
    parents: dict[str, list[str]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for u, v in segments:
        parents[v].append(u)
        children[u].append(v)
    best = [list(layer) for layer in layers]
    best_crossings = crossings(best, segments)
    current = [list(layer) for layer in layers]
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        links = parents if downward else children
        indices = range(1, len(current)) if downward else range(len(current) - 2, -1, -1)
        for i in indices:
            neighbour = {n: p for p, n in enumerate(current[i - 1] if downward else current[i + 1])}
            own = {n: p for p, n in enumerate(current[i])}
            weight = {n: mean([neighbour[m] for m in links[n] if m in neighbour], own[n]) for n in own}
            current[i] = sorted(current[i], key=weight.__getitem__)
        count = crossings(current, segments)
        if count < best_crossings:
            best, best_crossings = [list(layer) for layer in current], count
    return best


def crossings(layers: Sequence[Sequence[str]], segments: Sequence[tuple[str, str]]) -> int:
    """Pairs of segments between adjacent layers that cross."""
    where = {n: (depth, p) for depth, layer in enumerate(layers) for p, n in enumerate(layer)}
    by_gap: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for u, v in segments:
        (depth, pu), (_, pv) = where[u], where[v]
        by_gap[depth].append((pu, pv))
    return sum(inversions([v for _, v in sorted(pairs)]) for pairs in by_gap.values())


def inversions(values: Sequence[int]) -> int:
    """Pairs i < j with values[i] > values[j], counted with a Fenwick tree in O(n log n)."""
    size = max(values, default=0) + 1
    tree = [0] * (size + 1)
    total = 0
    for seen, value in enumerate(values):
        index, not_greater = value + 1, 0
        while index > 0:
            not_greater += tree[index]
            index -= index & -index
        total += seen - not_greater
        index = value + 1
        while index <= size:
            tree[index] += 1
            index += index & -index
    return total


def layout(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    label_heights: Mapping[tuple[str, str], float] | None = None,
    node_heights: Mapping[str, float] | None = None,
    *,
    vertical: bool = False,
) -> Layout:
    """A layered drawing: tables in even columns left to right, and each edge's label a node of
    its own in the column after the edge's source, so labels sit on their edge and never overlap.
    Longer edges pass through dummy nodes; edges closing a cycle are laid out reversed. A table
    whose name wraps onto several lines is taller (``node_heights``). ``vertical`` lays the same
    layers out top to bottom instead (for graphs too wide for the page): rows of tables and labels
    side by side."""
    heights = label_heights or {}
    tall = node_heights or {}
    reversed_edges = back_edges(nodes, edges)
    layer = assign_layers(nodes, [(v, u) if (u, v) in reversed_edges else (u, v) for u, v in edges])
    column = {n: 2 * layer[n] for n in nodes}
    size = {n: float(tall.get(n, NODE_H)) for n in nodes}
    kind = dict.fromkeys(nodes, "table")
    chains: dict[tuple[str, str], list[str]] = {}
    labels: dict[tuple[str, str], str] = {}
    for edge in edges:
        u, v = (edge[1], edge[0]) if edge in reversed_edges else edge
        chain = [u]
        for step in range(column[u] + 1, column[v]):
            inner = f"i:{len(column)}"
            column[inner] = step
            if step == column[u] + 1 and edge in heights:
                labels[edge], size[inner], kind[inner] = inner, heights[edge], "label"
            else:
                size[inner], kind[inner] = float(DUMMY_H), "dummy"
            chain.append(inner)
        chains[edge] = [*chain, v]
    segments = [pair for chain in chains.values() for pair in itertools.pairwise(chain)]
    depth = max(column.values(), default=0) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for node in sorted(column, key=lambda n: (kind[n] != "table", n)):
        layers[column[node]].append(node)
    sweeps = SWEEPS if len(segments) <= LARGE_LAYOUT else SWEEPS_LARGE
    layers = order_layers(layers, segments, sweeps)
    if vertical:
        return _vertical(nodes, layers, segments, chains, labels, size, kind, column, reversed_edges, sweeps)
    centre = vertical_positions(layers, segments, size, kind, sweeps)
    x = {n: column_x(c) for n, c in column.items()}
    return Layout(
        boxes={n: (x[n], centre[n] - size[n] / 2) for n in nodes},
        heights={n: size[n] for n in nodes},
        label_boxes={e: (x[n], centre[n] - size[n] / 2, size[n]) for e, n in labels.items()},
        routes={edge: route(chain, x, centre, column) for edge, chain in chains.items()},
        reversed_edges=frozenset(reversed_edges),
        width=column_x(depth - 1) + column_width(depth - 1) + PAD,
        height=max((centre[n] + size[n] / 2 for n in column), default=0.0) + PAD,
    )


def _vertical(
    nodes: Sequence[str],
    layers: Sequence[Sequence[str]],
    segments: Sequence[tuple[str, str]],
    chains: Mapping[tuple[str, str], list[str]],
    labels: Mapping[tuple[str, str], str],
    size: Mapping[str, float],
    kind: Mapping[str, str],
    column: Mapping[str, int],
    reversed_edges: set[tuple[str, str]],
    sweeps: int,
) -> Layout:
    """The layers as rows: x across a row as the horizontal layout places y, rows as tall as
    their tallest box, edges leaving a box's bottom and entering the next one's top."""
    width = {
        n: float(NODE_W if kind[n] == "table" else LABEL_W if kind[n] == "label" else DUMMY_H) for n in column
    }
    centre_x = vertical_positions(layers, segments, width, kind, sweeps)
    row_h = [max((size[n] if kind[n] != "dummy" else 0.0 for n in layer), default=0.0) for layer in layers]
    row_top: list[float] = []
    top = float(PAD)
    for h in row_h:
        row_top.append(top)
        top += h + ROW_GAP
    mid = {n: row_top[column[n]] + row_h[column[n]] / 2 for n in column}
    half = {n: (size[n] / 2 if kind[n] != "dummy" else 0.0) for n in column}
    return Layout(
        boxes={n: (centre_x[n] - NODE_W / 2, mid[n] - size[n] / 2) for n in nodes},
        heights={n: size[n] for n in nodes},
        label_boxes={
            e: (centre_x[n] - LABEL_W / 2, mid[n] - size[n] / 2, size[n]) for e, n in labels.items()
        },
        routes={
            edge: [
                point
                for i, n in enumerate(chain)
                for point in (
                    [(centre_x[n], mid[n] + half[n])]
                    if i == 0
                    else [(centre_x[n], mid[n] - half[n])]
                    if i == len(chain) - 1
                    else [(centre_x[n], mid[n] - half[n]), (centre_x[n], mid[n] + half[n])]
                )
            ]
            for edge, chain in chains.items()
        },
        reversed_edges=frozenset(reversed_edges),
        width=max((centre_x[n] + width[n] / 2 for n in column), default=0.0) + PAD,
        height=top - ROW_GAP + PAD,
        vertical=True,
    )


def column_width(column: int) -> float:
    return float(NODE_W if column % 2 == 0 else LABEL_W)


def column_x(column: int) -> float:
    """Left edge of a column: tables and labels alternate, COLUMN_GAP apart."""
    pair = NODE_W + LABEL_W + 2 * COLUMN_GAP
    return float(PAD + (column // 2) * pair + (column % 2) * (NODE_W + COLUMN_GAP))


def vertical_positions(
    layers: Sequence[Sequence[str]],
    segments: Sequence[tuple[str, str]],
    size: Mapping[str, float],
    kind: Mapping[str, str],
    sweeps: int = SWEEPS,
) -> dict[str, float]:
    """Centre y of every node: each layer as level with its neighbours as order and spacing allow."""
    parents: dict[str, list[str]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for u, v in segments:
        parents[v].append(u)
        children[u].append(v)
    offsets = [spacing(layer, size, kind) for layer in layers]
    tallest = max((o[-1] for o in offsets if o), default=0.0)
    centre = {
        n: (tallest - o[-1]) / 2 + off
        for layer, o in zip(layers, offsets, strict=True)
        for n, off in zip(layer, o, strict=True)
    }
    order = list(range(len(layers)))
    for sweep in range(sweeps):
        links, indices = (parents, order[1:]) if sweep % 2 == 0 else (children, order[-2::-1])
        for i in indices:
            wanted = [mean([centre[m] for m in links[n]], centre[n]) for n in layers[i]]
            for n, y in zip(layers[i], fit_in_order(wanted, offsets[i]), strict=True):
                centre[n] = y
    top = min((centre[n] - size[n] / 2 for n in centre), default=0.0)
    return {n: y - top + PAD for n, y in centre.items()}


def spacing(layer: Sequence[str], size: Mapping[str, float], kind: Mapping[str, str]) -> list[float]:
    """Smallest centre-to-centre distances from the layer's first node; dummies pack tightest."""
    offsets: list[float] = []
    for previous, node in zip([None, *layer], layer, strict=False):
        if previous is None:
            offsets.append(0.0)
            continue
        kinds = {kind[previous], kind[node]}
        gap = DUMMY_GAP_Y if "dummy" in kinds else NODE_GAP_Y if kinds == {"table"} else LABEL_GAP_Y
        offsets.append(offsets[-1] + size[previous] / 2 + gap + size[node] / 2)
    return offsets


def mean(values: Sequence[float], fallback: float) -> float:
    return sum(values) / len(values) if values else fallback


def fit_in_order(wanted: Sequence[float], offsets: Sequence[float]) -> list[float]:
    """Positions closest (least squares) to ``wanted`` that keep the order and the spacing.

    With ``z = y - offset`` the constraint is that ``z`` never decreases: pool adjacent violators.
    """
    blocks: list[tuple[float, int]] = []  # (sum, count) of pooled z values
    for target, offset in zip(wanted, offsets, strict=True):
        total, count = target - offset, 1
        while blocks and blocks[-1][0] / blocks[-1][1] > total / count:
            previous_total, previous_count = blocks.pop()
            total, count = total + previous_total, count + previous_count
        blocks.append((total, count))
    pooled = [total / count for total, count in blocks for _ in range(count)]
    return [z + offset for z, offset in zip(pooled, offsets, strict=True)]


def route(
    chain: Sequence[str], x: Mapping[str, float], centre: Mapping[str, float], column: Mapping[str, int]
) -> list[tuple[float, float]]:
    """Out of the right side of the first node, through each label or dummy, into the last."""
    points = [(x[chain[0]] + NODE_W, centre[chain[0]])]
    for inner in chain[1:-1]:
        points += [(x[inner], centre[inner]), (x[inner] + column_width(column[inner]), centre[inner])]
    points.append((x[chain[-1]], centre[chain[-1]]))
    return points


def path_data(points: Sequence[tuple[float, float]], vertical: bool = False) -> str:
    """Smooth curves across the gaps between columns (rows), straight lines through labels and
    dummies."""
    (x0, y0), rest = points[0], points[1:]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    previous = points[0]
    for i, (x1, y1) in enumerate(rest):
        if i % 2 == 0 and vertical:
            mid = (previous[1] + y1) / 2
            parts.append(f"C{previous[0]:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}")
        elif i % 2 == 0:
            mid = (previous[0] + x1) / 2
            parts.append(f"C{mid:.1f},{previous[1]:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        else:
            parts.append(f"L{x1:.1f},{y1:.1f}")
        previous = (x1, y1)
    return " ".join(parts)


# --- the flow graph: SVG ------------------------------------------------------------------------


def flows_section(graph: FlowGraph, job_count: int) -> str:
    show_plain = job_count <= SMALL_ESTATE_JOBS
    drawn = {k: e for k, e in graph.edges.items() if e.style != "plain" or show_plain}
    hidden_plain = len(graph.edges) - len(drawn)
    intro = (
        '<p class="note">Tables and query results are boxes, laid out left to right in the order data '
        "flows (top to bottom when that is too wide for the page); each arrow is one or more jobs "
        "moving columns from one table to another, labelled with the identifying columns it carries "
        "(coloured by category) and how they are transformed. Arrows are coloured by the worst decision "
        "among those jobs; follow one to its job below.</p>"
    )
    if hidden_plain:
        intro += (
            f'<p class="note">{hidden_plain} flows that carry no identifying column are not drawn '
            f"(more than {SMALL_ESTATE_JOBS} jobs).</p>"
        )
    if not drawn:
        return section_flows(
            intro, '<p class="note">No columns flow from one table to another in these jobs.</p>'
        )
    nodes = sorted({k for edge in drawn for k in edge})
    parts = components(nodes, list(drawn))
    rendered = [
        component_graph(number, part, graph, drawn, open_=number < OPEN_COMPONENTS, single=len(parts) == 1)
        for number, part in enumerate(parts)
    ]
    toolbar = (
        '<p class="graph-tools" id="graph-tools" hidden><label><input type="checkbox" id="only-denied"> '
        "Show only flows of blocked and warned jobs</label></p>"
    )
    return section_flows(intro + legend() + toolbar, "".join(rendered) + flows_table(graph, drawn))


def section_flows(intro: str, body: str) -> str:
    return (
        '<section id="flows" aria-labelledby="flows-h"><h2 id="flows-h">Flows of identifying columns</h2>'
        f"{intro}{body}</section>"
    )


def legend() -> str:
    edge_items = "".join(
        f'<li><svg width="34" height="10" aria-hidden="true"><g class="edge {style}">'
        f'<path d="M1,5 L33,5"/></g></svg>{text}</li>'
        for style, text in (
            ("blocked", "blocked job"),
            ("not-run", "not run (downstream of a blocked job)"),
            ("warned", "warned job"),
            ("allowed", "allowed job"),
            ("plain", "no identifying column"),
        )
    )
    category_items = "".join(
        f'<li><span class="swatch {cls}" aria-hidden="true"></span>{text}</li>'
        for _, cls, text in CATEGORY_FAMILIES
    )
    transforms = "; ".join(f"{text} = {name}" for name, text in TRANSFORM_TEXT.items() if text != name)
    return (
        f'<ul class="legend" aria-label="Arrow colours">{edge_items}</ul>'
        f'<ul class="legend" aria-label="Column colours">{category_items}'
        f"<li>transforms: {_esc(transforms)}, others by name</li></ul>"
    )


def component_graph(
    number: int,
    nodes: Sequence[str],
    graph: FlowGraph,
    drawn: Mapping[tuple[str, str], FlowEdge],
    *,
    open_: bool,
    single: bool,
) -> str:
    members = set(nodes)
    edges = {k: e for k, e in drawn.items() if k[0] in members}
    labelled = len(edges) <= LABELLED_EDGES
    lines = {key: label_lines(edge) for key, edge in edges.items()} if labelled else {}
    names = {key: wrap_name(graph.nodes[key].label, NODE_CHARS) for key in nodes}
    arguments = (
        nodes,
        sorted(edges),
        {key: label_height(text) for key, text in lines.items()},
        {key: node_height(lines_) for key, lines_ in names.items()},
    )
    placed = layout(*arguments)
    tall = layout(*arguments, vertical=True) if placed.width > WIDE_GRAPH else None
    outcomes = {name: sum(1 for e in edges.values() if e.style == name) for name in OUTCOMES}
    counts = ", ".join(f"{n} {OUTCOME_TEXT[name]}" for name, n in outcomes.items() if n)
    name = "All flows" if single else f"Part {number + 1}"
    summary = f"{name}: {len(nodes)} tables, {len(edges)} flows" + (f" ({counts})" if counts else "")
    if not labelled:
        summary += "; too many to label: hover an arrow, or see the table of flows"
    is_open = open_ and len(nodes) <= OPEN_COMPONENT_NODES
    return (
        f'<details class="component"{" open" if is_open else ""}><summary>{_esc(summary)}</summary>'
        '<div class="graph-zoom" hidden>Zoom <button type="button" data-zoom="out" aria-label="Zoom out">−'
        '</button><button type="button" data-zoom="in" aria-label="Zoom in">+</button>'
        '<button type="button" data-zoom="fit">Fit width</button>'
        '<button type="button" data-zoom="reset">100%</button><span class="zoom-level">100%</span>'
        "<span>· drag or scroll to pan</span></div>"
        '<div class="graph-scroll" data-layout="wide">'
        f"{svg(number, summary, graph, edges, placed, lines)}</div>"
        + (
            f'<div class="graph-scroll" data-layout="tall" hidden>'
            f"{svg(number, summary, graph, edges, tall, lines, suffix='-v')}</div>"
            if tall is not None
            else ""
        )
        + "</details>"
    )


def svg(
    number: int,
    summary: str,
    graph: FlowGraph,
    edges: Mapping[tuple[str, str], FlowEdge],
    placed: Layout,
    lines: Mapping[tuple[str, str], LabelLines],
    suffix: str = "",
) -> str:
    width, height = f"{placed.width:.0f}", f"{placed.height:.0f}"
    ident = f"{number}{suffix}"
    parts = [
        f'<svg class="flow-graph" xmlns="http://www.w3.org/2000/svg" role="group" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="graph-title-{ident}">'
        f'<title id="graph-title-{ident}">{_esc(summary)}: identifying columns flowing between tables'
        "</title>",
        markers(ident),
    ]
    parts.extend(edge_svg(ident, edge, placed, graph) for _, edge in sorted(edges.items()))
    parts.extend(
        node_svg(graph.nodes[key], placed.boxes[key], placed.heights[key]) for key in sorted(placed.boxes)
    )
    parts.extend(
        label_svg(edges[key], lines[key], placed.label_boxes[key], graph)
        for key in sorted(placed.label_boxes)
    )
    parts.append("</svg>")
    return "".join(parts)


def markers(number: int | str) -> str:
    return (
        "<defs>"
        + "".join(
            f'<marker id="arrow-{style}-{number}" class="{style}" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">'
            '<path class="head" d="M0,0 L10,5 L0,10 z"/></marker>'
            for style in (*OUTCOMES, "plain")
        )
        + "</defs>"
    )


def edge_tooltip(edge: FlowEdge, graph: FlowGraph) -> str:
    head = f"{graph.nodes[edge.source].label} → {graph.nodes[edge.target].label}"
    jobs = ", ".join(graph.job_names[i] for i in edge.jobs)
    lines = [head, f"by {jobs} ({edge.outcome})"]
    lines += [
        f"{flow_text(f)} [{', '.join(transform_text(t) for t in f.transforms)}]"
        f" {', '.join(f.categories) or 'not identifying'}"
        for f in edge.flows
    ]
    return "\n".join(lines)


def edge_svg(number: int | str, edge: FlowEdge, placed: Layout, graph: FlowGraph) -> str:
    key = (edge.source, edge.target)
    marker = "marker-start" if key in placed.reversed_edges else "marker-end"
    jobs = " ".join(str(i) for i in edge.jobs)
    first_job = next(iter(edge.jobs))
    return (
        f'<g class="edge {edge.style}" data-jobs="{jobs}"><a href="#job-{first_job}">'
        f"<title>{_esc(edge_tooltip(edge, graph))}</title>"
        f'<path d="{path_data(placed.routes[key], placed.vertical)}" '
        f'{marker}="url(#arrow-{edge.style}-{number})"/>'
        "</a></g>"
    )


def node_svg(node: FlowNode, box: tuple[float, float], height: float) -> str:
    """A table: its whole name, wrapped at dots onto as many lines as it needs (never cut)."""
    x, y = box
    what = {"source": "table read by jobs", "written": "table written by a job", "output": "query result"}
    lines = wrap_name(node.label, NODE_CHARS)
    top = y + (height - len(lines) * NAME_LINE_H) / 2 + NAME_LINE_H - 4
    texts = "".join(
        f'<text x="{x + 8:.1f}" y="{top + i * NAME_LINE_H:.1f}">{_esc(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="node {node.kind}"><title>{_esc(node.label)} ({what[node.kind]})</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{height:.1f}" rx="6"/>{texts}</g>'
    )


def wrap_name(name: str, limit: int) -> list[str]:
    """``analytics.warehouse.mart_client_outcomes`` → ``["analytics.warehouse.",
    "mart_client_outcomes"]``: breaks after dots first, then (inside a longer part) after ``_``
    or ``→``, and only inside a word longer than a line, so the whole name is always shown."""
    return _pack(
        _pieces(name, "."), limit, lambda part: _pack(_pieces(part, "_→"), limit, lambda w: _chunks(w, limit))
    )


def _pack(pieces: Sequence[str], limit: int, split: Callable[[str], list[str]]) -> list[str]:
    lines: list[str] = []
    current = ""
    for piece in pieces:
        parts = split(piece) if len(piece) > limit else [piece]
        for part in parts:
            if current and len(current) + len(part) > limit:
                lines.append(current)
                current = ""
            current += part
            if len(parts) > 1 and part is not parts[-1]:
                lines.append(current)
                current = ""
    return [*lines, current] if current or not lines else lines


def _pieces(text: str, breaks: str) -> list[str]:
    """Pieces of ``text`` each ending at a break character (kept) or the end."""
    pieces, start = [], 0
    for i, ch in enumerate(text):
        if ch in breaks and i + 1 < len(text):
            pieces.append(text[start : i + 1])
            start = i + 1
    pieces.append(text[start:])
    return [p for p in pieces if p]


def _chunks(word: str, limit: int) -> list[str]:
    return [word[i : i + limit] for i in range(0, len(word), limit)] or [word]


def node_height(lines: Sequence[str]) -> float:
    return float(max(NODE_H, len(lines) * NAME_LINE_H + 12))


def flow_text(flow: ColumnFlow) -> str:
    return flow.source if flow.source == flow.target else f"{flow.source}→{flow.target}"


def label_lines(edge: FlowEdge) -> LabelLines:
    """Identifying flows first; at most MAX_LABEL_LINES flows, then how many more. A flow's text
    wraps onto further lines rather than being cut; its transform ends the first line."""
    flows = sorted(edge.flows, key=lambda f: (not f.identifying, f.source, f.target))
    shown = [f for f in flows if f.identifying] or flows
    lines: list[tuple[str, str, str]] = []
    for flow in shown[:MAX_LABEL_LINES]:
        transform = "+".join(transform_text(t) for t in flow.transforms)
        cls = category_class(flow.categories)
        text = flow_text(flow)
        first = wrap_name(text, max(LABEL_CHARS - len(transform) - 1, 8))[0]
        lines.append((cls, first, transform))
        rest = text[len(first) :]
        lines.extend((cls, part, "") for part in wrap_name(rest, LABEL_CHARS) if rest)
    more = len(flows) - min(len(shown), MAX_LABEL_LINES)
    if more:
        lines.append(("cat-none", f"+{more} more column{'s' if more > 1 else ''}", ""))
    return tuple(lines)


def label_height(lines: LabelLines) -> float:
    return len(lines) * LINE_H + 6


def label_svg(edge: FlowEdge, lines: LabelLines, box: tuple[float, float, float], graph: FlowGraph) -> str:
    """The label box sits on its edge (the edge runs through it, hidden behind the box)."""
    x, y, height = box
    jobs = " ".join(str(i) for i in edge.jobs)
    texts = "".join(
        f'<text x="{x + 6:.1f}" y="{y + 14 + i * LINE_H:.1f}">'
        f'<tspan class="{cls}">{_esc(columns)}</tspan>'
        + (f' <tspan class="transform">{_esc(transform)}</tspan>' if transform else "")
        + "</text>"
        for i, (cls, columns, transform) in enumerate(lines)
    )
    return (
        f'<g class="label {edge.style}" data-jobs="{jobs}"><title>{_esc(edge_tooltip(edge, graph))}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{LABEL_W}" height="{height:.1f}" rx="4"/>{texts}</g>'
    )


def flows_table(graph: FlowGraph, drawn: Mapping[tuple[str, str], FlowEdge]) -> str:
    """The graph as a table: for screen readers, and for estates too large to read as a picture."""
    rows = []
    for _, edge in sorted(drawn.items()):
        for flow in sorted(edge.flows, key=lambda f: (f.source, f.target)):
            jobs = ", ".join(graph.job_names[i] for i in edge.jobs)
            rows.append(
                "<tr>"
                f'<td class="mono wrap">{_esc(graph.nodes[edge.source].label)}.{_esc(flow.source)}</td>'
                f'<td class="mono wrap">{_esc(graph.nodes[edge.target].label)}.{_esc(flow.target)}</td>'
                f"<td>{_esc(', '.join(transform_text(t) for t in flow.transforms))}</td>"
                f"<td>{category_chips(flow.categories, True)}</td>"
                f"<td>{_esc(jobs)}</td><td>{_esc(edge.outcome)}</td>"
                "</tr>"
            )
    return (
        f'<details class="component"><summary>All drawn flows as a table ({len(rows)} columns)</summary>'
        '<div class="table-scroll"><table><thead><tr><th scope="col">From</th><th scope="col">To</th>'
        '<th scope="col">Transforms</th><th scope="col">Categories</th><th scope="col">Jobs</th>'
        f'<th scope="col">Worst decision</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
        "</details>"
    )
