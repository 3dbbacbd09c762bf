"""Benchmark: the fail-closed analysis — growth curves of adversarial shapes, and its overhead.

Run as ``python bench/fail_closed.py [--baseline REV]`` (not a test). Two parts:

- growth: analysis time and peak memory of the three shapes that used to hang the CLI (a chain
  of one operator ``a+a+…``, CTEs that each cross-join the previous one's star, MySQL ``/*! */``
  comments nested in each other), each point in a fresh process with a 60 s timeout, at sizes up
  to the input limit. Near-linear growth, and a budget answer (SYS-01) rather than a hang.
- overhead: ``analyze_sql`` over the analysis fixture corpus (``bench/analysis.py``'s corpus),
  this tree against the source of revision ``REV`` (the one before the change), alternating old
  and new processes in the same run so load affects both alike.

Writes ``bench/results/fail_closed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "fail_closed.md"
TIMEOUT_S = 60
ROUNDS = 5

_POINT = r"""
import json, resource, sys, time
from kaitiaki.analysis import analyze_sql, normalise_schema
shape, n = sys.argv[1], int(sys.argv[2])
if shape == "chain":
    sql, dialect = "select " + "+".join(["clinic_id"] * n) + " as x from ref.clinics", "postgres"
elif shape == "stars":
    ctes = ["c0 as (select * from ref.clinics)"]
    ctes += [f"c{i} as (select * from c{i - 1} a cross join c{i - 1} b)" for i in range(1, n)]
    sql, dialect = "with " + ", ".join(ctes) + f" select * from c{n - 1}", "postgres"
else:
    sql, dialect = "select clinic_id from ref.clinics", "mysql"
    for _ in range(n):
        sql = "/*! " + sql + " */"
clinics = {"clinic_id": "int", "clinic_name": "text", "region": "text"}
schema = normalise_schema({"ref.clinics": clinics}, dialect)
start = time.perf_counter()
facts = analyze_sql(sql, dialect=dialect, schema=schema)
elapsed = time.perf_counter() - start
kinds = sorted({u.kind for u in facts.unresolved} | ({"error"} if facts.errors else set()))
print(json.dumps({"bytes": len(sql), "seconds": elapsed,
                  "mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "answer": kinds}))
"""

_CORPUS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from bench.analysis import load_corpus
from kaitiaki.analysis import analyze_sql
if sys.argv[2:] == ["off"]:  # this tree with the fail-closed passes switched off, for their cost alone
    from kaitiaki.analysis import allowlist, analyze
    analyze.admit = lambda statement, dialect, line: allowlist.Admission()
    analyze.star_budget_problem = lambda query, lookup: None
    analyze.nested_comment_line = lambda sql, tokens, dialect: None
cases = load_corpus()
for case in cases:
    analyze_sql(case.sql, dialect=case.dialect, schema=case.schema)
start = time.perf_counter()
for _ in range(3):
    for case in cases:
        analyze_sql(case.sql, dialect=case.dialect, schema=case.schema)
print(json.dumps({"cases": len(cases), "seconds": (time.perf_counter() - start) / 3}))
"""

SIZES = {
    "chain": [500, 1000, 2000, 4000, 8000, 16000, 32000, 64000],
    "stars": [4, 8, 10, 12, 13, 14, 16, 21],
    "comments": [2, 4, 8, 9, 16, 64, 1000, 10000],
}


def _point(shape: str, size: int, src: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _POINT, shape, str(size)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return {"bytes": None, "seconds": None, "mib": None, "answer": ["timeout"]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _corpus_seconds(src: Path, *extra: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", _CORPUS, str(ROOT), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def _baseline_src(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="git revision to compare the corpus overhead against")
    args = parser.parse_args()
    src = ROOT / "src"
    lines = ["# Fail-closed analysis: growth curves and overhead", "", f"Load before: {_load()}", ""]
    lines += ["## Growth (one fresh process per point, 60 s timeout)", ""]
    lines += ["| shape | size | SQL bytes | seconds | peak MiB | answer |", "|---|---|---|---|---|---|"]
    for shape, sizes in SIZES.items():
        for size in sizes:
            point = _point(shape, size, src)
            seconds = point["seconds"]
            shown = f"{seconds:.2f}" if isinstance(seconds, float) else "—"
            mib = point["mib"]
            answer = ", ".join(point["answer"]) if point["answer"] else "analysed"  # type: ignore[arg-type]
            lines.append(
                f"| {shape} | {size} | {point['bytes']} | {shown} | {mib:.0f} | {answer} |"
                if isinstance(mib, float)
                else f"| {shape} | {size} | — | {shown} | — | {answer} |"
            )
            print(lines[-1], flush=True)
    if args.baseline:
        with tempfile.TemporaryDirectory() as folder:
            old_src = _baseline_src(args.baseline, Path(folder))
            old, new, off = [], [], []
            for _ in range(ROUNDS):
                old.append(_corpus_seconds(old_src))
                new.append(_corpus_seconds(src))
                off.append(_corpus_seconds(src, "off"))
            ratio = statistics.median(new) / statistics.median(old)
            own = statistics.median(new) / statistics.median(off)
            lines += ["", f"## Overhead on the analysis fixture corpus (vs {args.baseline})", ""]
            lines.append(
                f"Median of {ROUNDS} alternating rounds, one pass over the corpus each: "
                f"baseline {statistics.median(old):.3f} s, this tree {statistics.median(new):.3f} s, "
                f"ratio **{ratio:.3f}** (rounds: old {[round(s, 3) for s in old]}, "
                f"new {[round(s, 3) for s in new]})."
            )
            lines.append(
                f"The fail-closed passes alone (this tree with the allowlist walk, star budget and "
                f"comment check switched off, same rounds): {statistics.median(off):.3f} s, ratio "
                f"**{own:.3f}** (rounds: {[round(s, 3) for s in off]}). The baseline ratio also "
                "includes every other change to the analysis since that revision."
            )
            print(lines[-2], lines[-1], sep="\n", flush=True)
    lines += ["", f"Load after: {_load()}", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    return 0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores shared; load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min)"


if __name__ == "__main__":
    raise SystemExit(main())
