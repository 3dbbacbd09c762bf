"""Old vs new DPUP policies on the same decision corpus: every changed decision, and the time (not a test).

The policy inputs are built once, by today's analysis and classification, from the existing
corpora: the bypass corpus (tests/bypass), the worked examples and twins (tests/e2e), the example
SQL jobs and the nz_social dbt project (examples/). Each input is then decided by the embedded
engine loaded with the old policy tree (``git archive OLD policies``) and with the checkout's, under
the same kaitiaki.yaml settings. Every decision whose outcome or set of (rule, level) differs is
listed; then both engines decide the 50-column inputs of bench/engines.py and the corpus, rounds
interleaved, and the medians are compared.

    .venv/bin/python bench/policy_compare.py [--old REV] [--rounds N] [--output FILE]

The default OLD is the last main commit with the policies before issue #18 (the analysis facts
were already there, so both trees see the same input). Results: bench/results/policy_compare.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engines import ISSUERS, OLD, old_tree  # noqa: E402
from bench.engines import inputs as fifty_column_inputs  # noqa: E402
from kaitiaki.cli import main as kaitiaki_main  # noqa: E402
from kaitiaki.config import Settings, load_settings  # noqa: E402
from kaitiaki.engine import Engine, load_engine  # noqa: E402
from kaitiaki.engine.sources import bundled_policies_dir  # noqa: E402
from kaitiaki.gate import Gate  # noqa: E402
from kaitiaki.hookspecs import hookimpl  # noqa: E402
from kaitiaki.model import Decision, Job  # noqa: E402
from kaitiaki.plugins import get_plugin_manager  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "policy_compare.md"
NOW = "2026-11-26T00:00:00Z"


@dataclass(frozen=True)
class Case:
    """One decided job: where it came from, its policy input, and the settings it was decided under."""

    corpus: str
    job: str
    document: dict[str, Any]
    settings: Settings


class Capture:
    """A plugin that keeps every policy input the gate decides (the CLI runs in this process)."""

    def __init__(self) -> None:
        self.documents: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def kaitiaki_decision_made(self, job: Job, input: dict[str, Any], decision: Decision) -> None:
        self.documents.append((job.id, json.loads(json.dumps(input))))


@contextlib.contextmanager
def captured() -> Iterator[Capture]:
    capture = Capture()
    pm = get_plugin_manager()
    pm.register(capture)
    try:
        yield capture
    finally:
        pm.unregister(capture)


def run_cli(args: Sequence[str], cwd: Path) -> None:
    """The real CLI in this process (its output is not needed, only the inputs it decides)."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            contextlib.suppress(SystemExit),
        ):
            kaitiaki_main(list(args))
    finally:
        os.chdir(here)


def cli_cases(corpus: str, config: Path, runs: Sequence[tuple[Sequence[str], Path]]) -> list[Case]:
    settings = load_settings(config)
    with captured() as capture:
        for args, cwd in runs:
            run_cli([*args, "--config", str(config)], cwd)
    return [Case(corpus, job, document, settings) for job, document in capture.documents]


def bypass_cases() -> list[Case]:
    from tests.bypass.test_bypass import CASES, HERE, bypass_job

    settings = load_settings(HERE / "kaitiaki.yaml")
    gate = Gate(settings, now=NOW)
    found = []
    for case in CASES:
        job = bypass_job(case)
        verdict = gate.decide(job)
        if verdict.input is not None:
            found.append(Case("tests/bypass", job.id, verdict.input, settings))
    return found


def e2e_cases(tmp: Path) -> list[Case]:
    from tests.e2e.test_worked_examples import EXAMPLES, ISSUERS

    found = []
    for example in EXAMPLES:
        folder = tmp / f"worked-{example.name}"
        folder.mkdir()
        (folder / "kaitiaki.yaml").write_text(ISSUERS + example.config)
        (folder / "job.sql").write_text(example.sql)
        runs = [(["check", "job.sql", "--format", "json", *example.args], folder)]
        found += cli_cases("tests/e2e worked examples", folder / "kaitiaki.yaml", runs)
    twins = yaml.safe_load((ROOT / "tests" / "e2e" / "twins.yaml").read_text())
    folder = tmp / "twins"
    folder.mkdir()
    (folder / "kaitiaki.yaml").write_text(twins["config"])
    runs = []
    for case in twins["cases"]:
        (folder / f"{case['name']}.sql").write_text(case["sql"] + "\n")
        args = case.get("args") or ["--purpose", "plan"]
        runs.append((["check", f"{case['name']}.sql", "--format", "json", *args], folder))
    return found + cli_cases("tests/e2e twins", folder / "kaitiaki.yaml", runs)


def example_cases() -> list[Case]:
    jobs = ROOT / "examples" / "sql_jobs"
    kept = ["--tag", "retention:P1Y"]
    runs = [
        (["check", "jobs/uptake_by_region.sql", "--purpose", "benefit-uptake"], jobs),
        (["check", "jobs/waikato_contacts.sql", "--purpose", "client-contact", *kept], jobs),
        (["check", "jobs/benefit_health.sql", "--purpose", "benefit-health-outcomes", *kept], jobs),
    ]
    found = cli_cases("examples/sql_jobs", jobs / "kaitiaki.yaml", runs)
    project = ROOT / "examples" / "nz_social"
    dbt = [(["dbt", "check", "--project-dir", ".", "--profiles-dir", ".", "--no-cache"], project)]
    return found + cli_cases("examples/nz_social", project / "kaitiaki.yaml", dbt)


class Engines:
    """One embedded engine per (tree, settings), loaded once."""

    def __init__(self, trees: dict[str, Path]) -> None:
        self.trees = trees
        self.loaded: dict[tuple[str, int], Engine] = {}

    def get(self, tree: str, settings: Settings) -> Engine:
        key = (tree, id(settings))
        if key not in self.loaded:
            self.loaded[key] = load_engine(replace(settings, policies=(self.trees[tree],)))
        return self.loaded[key]


def outcome(decision: Decision) -> tuple[bool, frozenset[tuple[str, str]]]:
    return decision.allow, frozenset((v.rule, v.level) for v in decision.violations)


def show(found: frozenset[tuple[str, str]]) -> str:
    return ", ".join(f"{rule} {level}" for rule, level in sorted(found)) or "none"


@dataclass(frozen=True)
class Decided:
    """One case decided by the old and the new tree."""

    case: Case
    old: Decision
    new: Decision


def decide_both(cases: list[Case], engines: Engines) -> list[Decided]:
    return [
        Decided(
            case,
            engines.get("old", case.settings).evaluate(case.document),
            engines.get("new", case.settings).evaluate(case.document),
        )
        for case in cases
    ]


def changes(decided: list[Decided]) -> list[str]:
    rows = []
    for item in decided:
        old, new = outcome(item.old), outcome(item.new)
        if old != new:
            verdict = {True: "allow", False: "block"}
            rows.append(
                f"| {item.case.corpus} | `{item.case.job}` | {verdict[old[0]]} → {verdict[new[0]]} | "
                f"{show(old[1] - new[1])} | {show(new[1] - old[1])} |"
            )
    return rows


def fifty_column_cases() -> list[Case]:
    """bench/engines.py's 50-column inputs, under its settings."""
    default = Settings(identifier_issuers=ISSUERS)
    inputs = fifty_column_inputs().items()
    return [Case("bench/engines.py", label, document, default) for label, document in inputs]


def whole(decision: Decision) -> Any:
    """Every field of a decision but its policy revision (which names the tree)."""
    return {key: value for key, value in decision.to_dict().items() if key != "policy_revision"}


def differing(decided: list[Decided]) -> list[str]:
    """Jobs whose decisions differ in any field (a message, a column list, a line), beyond the
    outcome and rules that `changes` compares: a change meant to keep decisions must list none."""
    return [f"{i.case.corpus}: `{i.case.job}`" for i in decided if whole(i.old) != whole(i.new)]


def timings(cases: list[Case], engines: Engines, rounds: int) -> dict[str, dict[str, float]]:
    """Median CPU ms per decision (this thread's: on a shared machine the wall clock includes waiting
    for a core), rounds interleaved old/new so the machine's load hits both alike."""
    sets: dict[str, list[tuple[Settings, dict[str, Any]]]] = {
        f"50 columns, {case.job}": [(case.settings, case.document)] for case in fifty_column_cases()
    }
    sets["whole corpus (per decision)"] = [(c.settings, c.document) for c in cases]
    results: dict[str, dict[str, float]] = {}
    for label, items in sets.items():
        samples: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(rounds):
            for tree in ("old", "new"):
                start = time.thread_time()
                for settings, document in items:
                    engines.get(tree, settings).evaluate(document)
                samples[tree].append((time.thread_time() - start) * 1000 / len(items))
        results[label] = {tree: statistics.median(values) for tree, values in samples.items()}
    return results


def render(
    rev: str,
    cases: list[Case],
    rows: list[str],
    differ: list[str],
    times: dict[str, dict[str, float]],
    load: str,
) -> str:
    corpora: dict[str, int] = {}
    for case in cases:
        corpora[case.corpus] = corpora.get(case.corpus, 0) + 1
    lines = [
        "# Old vs new DPUP policies on the decision corpus",
        "",
        f"Old: `policies/` at {rev}; new: the checkout's. Same inputs (today's analysis and",
        "classification), same settings, embedded engine.",
        "Command: `.venv/bin/python bench/policy_compare.py`.",
        "",
        "| corpus | decisions |",
        "|---|---|",
        *(f"| {name} | {count} |" for name, count in corpora.items()),
        "",
        f"## Changed decisions ({len(rows)} of {len(cases)})",
        "",
        "| corpus | job | outcome | only old | only new |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Decisions that differ in any field (messages, columns, lines, levels; every field but the"
        f" policy revision): {len(differ)} of {len(cases) + len(fifty_column_cases())}"
        " (the corpus and the 50-column inputs).",
        "",
        *(f"- {job}" for job in differ),
        *([""] if differ else []),
        f"## Embedded decision time (median CPU ms per decision; load average {load};"
        f" Python {platform.python_version()})",
        "",
        "| inputs | old | new | new / old |",
        "|---|---|---|---|",
        *(
            f"| {label} | {t['old']:.3f} | {t['new']:.3f} | {t['new'] / t['old']:.2f} |"
            for label, t in times.items()
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=OLD, help="git revision of the old policies (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="where to write the results (default %(default)s)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engines = Engines({"old": old_tree(args.old, Path(tmp)), "new": bundled_policies_dir()})
        cases = bypass_cases() + e2e_cases(Path(tmp)) + example_cases()
        decided = decide_both(cases, engines)
        rows = changes(decided)
        differ = differing(decided + decide_both(fifty_column_cases(), engines))
        times = timings(cases, engines, args.rounds)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    text = render(args.old, cases, rows, differ, times, load)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}; command: {shlex.join(sys.argv)}", file=sys.stderr)


if __name__ == "__main__":
    main()
