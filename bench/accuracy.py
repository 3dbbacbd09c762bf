"""Lineage accuracy and old-vs-new timing for ``bench/analysis.py`` (same run, same machine).

- **Precision / recall** against lineage written by hand: on the fixture corpus (every case marked
  ``lineage_exact``) and on the real-world corpus (``tests/analysis/corpus``), for kaitiaki and for
  sqllineage on the same text (a bare SELECT is given to sqllineage as ``CREATE TABLE
  bench_out.t AS …``, whose target columns are then read as the SELECT's outputs). Names compare
  without case or quotes; transforms are not compared.
- **False SYS-01**: real-world corpus statements (valid SQL, full schema) on which kaitiaki
  reports an error or anything unresolved.
- **Old vs new**: ``analyze_sql`` of a baseline commit (``git archive`` of its ``src/`` into a
  temporary folder) and of this tree, each in its own child process, alternating rounds over the
  same statements; medians per statement, then the ratio of the summed medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml
from sqlglot.errors import SqlglotError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "analysis" / "fixtures"
sys.path.insert(0, str(ROOT))

from kaitiaki.analysis import analyze_sql, normalise_schema  # noqa: E402
from tests.analysis.realworld import (  # noqa: E402
    Score,
    Statement,
    analyse,
    facts_edges,
    load_corpus,
    load_schemas,
)

Edge = tuple[str, str]
TIMING_ROUNDS = 2
TIMING_REPEATS = 7


@dataclass(frozen=True)
class Labelled:
    """One statement with lineage written by hand, from either corpus."""

    name: str
    dialect: str
    sql: str
    schema: dict[str, dict[str, str]] | None
    expected: frozenset[Edge]


def _clean(name: str) -> str:
    return name.lower().replace("`", "").replace('"', "").replace("<default>.", "")


def fixture_cases() -> list[Labelled]:
    """Fixture cases whose lineage is written out exactly (``lineage_exact: true``)."""
    schemas: dict[str, Any] = yaml.safe_load((FIXTURES / "schemas.yaml").read_text(encoding="utf-8"))
    cases: list[Labelled] = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        if path.name == "schemas.yaml":
            continue
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if not raw.get("lineage_exact") or raw.get("errors"):
                continue
            dialect = raw.get("dialect", "postgres")
            spec = raw.get("schema")
            mapping = schemas[spec] if isinstance(spec, str) else spec
            expected = frozenset(_fixture_edge(text) for text in raw.get("lineage", []))
            schema = normalise_schema(mapping, dialect) if mapping else None
            cases.append(Labelled(f"{path.stem}:{raw['name']}", dialect, raw["sql"], schema, expected))
    return cases


def _fixture_edge(text: str) -> Edge:
    arrow = text.partition("[")[0]
    source, _, target = arrow.partition("->")
    return _clean(source.strip()), _clean(target.strip())


def realworld_cases() -> list[Labelled]:
    schemas = load_schemas()
    return [
        Labelled(s.id, s.dialect, s.sql, normalise_schema(schemas[s.dialect], s.dialect), s.expected)
        for s in load_corpus()
    ]


def kaitiaki_found(case: Labelled) -> frozenset[Edge]:
    return facts_edges(analyze_sql(case.sql, dialect=case.dialect, schema=case.schema))


def sqllineage_found(
    case: Labelled, paths: Callable[[str, Labelled], list[Any]], write: str | None
) -> frozenset[Edge] | None:
    """sqllineage's edges in the corpus's terms, or None where it cannot read the statement."""
    if write is None:
        return None
    try:
        found = paths(write, case)
    except Exception:  # sqllineage gives up on some dialect syntax
        return None
    edges = set()
    for path in found:
        if len(path) < 2:
            continue
        source, target = _clean(str(path[0])), _clean(str(path[-1]))
        if target.startswith("bench_out.t."):
            target = target[len("bench_out.t.") :]
        edges.add((source, target))
    return frozenset(edges)


@dataclass
class Accuracy:
    corpus: str
    statements: int
    kaitiaki: Score
    sqllineage: Score
    sqllineage_read: int  # statements sqllineage could read
    false_sys01: list[str]


def measure(
    corpus: str,
    cases: Iterable[Labelled],
    paths: Callable[[str, Labelled], list[Any]],
    comparable: Callable[[Labelled], str | None],
    count_sys01: bool,
) -> Accuracy:
    ours, theirs = Score(), Score()
    read = 0
    blocked: list[str] = []
    listed = list(cases)
    for case in listed:
        facts = analyze_sql(case.sql, dialect=case.dialect, schema=case.schema)
        if count_sys01 and (facts.errors or facts.unresolved):
            blocked.append(case.name)
        ours.add(case.expected, facts_edges(facts))
        try:
            write = comparable(case)
        except SqlglotError:  # the comparison wraps the SQL with plain sqlglot, which cannot read it
            write = None
        found = sqllineage_found(case, paths, write)
        if found is None:
            theirs.add(case.expected, frozenset())
        else:
            read += 1
            theirs.add(case.expected, found)
    return Accuracy(corpus, len(listed), ours, theirs, read, blocked)


def accuracy_lines(results: list[Accuracy]) -> list[str]:
    lines = [
        "## Lineage precision and recall (against lineage written by hand)",
        "",
        "Edges are (source column, output column); names compare without case or quotes; transforms "
        "are not compared. A statement sqllineage cannot read counts as no edges found.",
        "",
        "| corpus | statements | kaitiaki precision | kaitiaki recall | sqllineage precision | "
        "sqllineage recall | sqllineage read | false SYS-01 (kaitiaki) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        sys01 = str(len(r.false_sys01)) if r.corpus.startswith("real-world") else "—"
        lines.append(
            f"| {r.corpus} | {r.statements} | **{r.kaitiaki.precision:.3f}** | **{r.kaitiaki.recall:.3f}** "
            f"| {r.sqllineage.precision:.3f} | {r.sqllineage.recall:.3f} | {r.sqllineage_read} | {sys01} |"
        )
    for r in results:
        if r.false_sys01:
            lines.append(f"- false SYS-01 in {r.corpus}: {', '.join(r.false_sys01)}")
    return [*lines, ""]


# --- old vs new ---------------------------------------------------------------------------------

_WORKER = r"""
import json, statistics, sys, time, logging
logging.disable(logging.WARNING)
expected_root, repeats = sys.argv[1], int(sys.argv[2])
import kaitiaki
assert kaitiaki.__file__.startswith(expected_root), (kaitiaki.__file__, expected_root)
from kaitiaki.analysis import analyze_sql
cases = json.load(sys.stdin)
out = []
for case in cases:
    call = lambda: analyze_sql(case["sql"], dialect=case["dialect"], schema=case["schema"])
    call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter(); call(); samples.append(time.perf_counter() - start)
    out.append(statistics.median(samples))
json.dump(out, sys.stdout)
"""


def _baseline_src(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _time_in_child(src: Path, cases: list[Labelled]) -> list[float]:
    payload = json.dumps([{"sql": c.sql, "dialect": c.dialect, "schema": c.schema} for c in cases])
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, str(src), str(TIMING_REPEATS)],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return [float(x) for x in json.loads(done.stdout)]


@dataclass
class OldNew:
    corpus: str
    statements: int
    old_total: float
    new_total: float
    per_case_ratio: float

    @property
    def ratio(self) -> float:
        return self.new_total / self.old_total


def old_vs_new(corpus: str, cases: list[Labelled], label: str, old_src: Path | str) -> OldNew:
    """Alternating rounds (old, new, old, new …) so both see the same load; medians per statement.

    ``old_src`` is a commit (a string: its ``src/`` is archived into a temporary folder) or a
    source folder already prepared (e.g. this tree with some commits reverted).
    """
    with tempfile.TemporaryDirectory() as tmp:
        old = old_src if isinstance(old_src, Path) else _baseline_src(old_src, Path(tmp))
        new_src = ROOT / "src"
        old_rounds, new_rounds = [], []
        for _ in range(TIMING_ROUNDS):
            old_rounds.append(_time_in_child(old, cases))
            new_rounds.append(_time_in_child(new_src, cases))
    before = [statistics.median(values) for values in zip(*old_rounds, strict=True)]
    after = [statistics.median(values) for values in zip(*new_rounds, strict=True)]
    ratios = statistics.median(n / o for n, o in zip(after, before, strict=True) if o > 0)
    return OldNew(f"{corpus}, against {label}", len(cases), sum(before), sum(after), ratios)


def old_new_lines(results: list[OldNew], load: tuple[float, float, float]) -> list[str]:
    lines = [
        "## Analysis time, this tree against earlier ones, same run",
        "",
        f"Each version in its own child process, {TIMING_ROUNDS} alternating rounds, median of "
        f"{TIMING_REPEATS} runs per statement; load average {', '.join(f'{x:.1f}' for x in load)} "
        "when this part began.",
        "",
        "| corpus, baseline | statements | old total | new total | new / old (sums) "
        "| new / old (median per statement) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.corpus} | {r.statements} | {r.old_total * 1e3:.1f} ms | {r.new_total * 1e3:.1f} ms "
            f"| **{r.ratio:.3f}** | {r.per_case_ratio:.3f} |"
        )
    return [*lines, ""]


__all__ = [
    "Accuracy",
    "Labelled",
    "OldNew",
    "Statement",
    "accuracy_lines",
    "analyse",
    "fixture_cases",
    "kaitiaki_found",
    "measure",
    "old_new_lines",
    "old_vs_new",
    "realworld_cases",
]
