"""Governance tooling behind ``kaitiaki policy test|docs|bundle build``.

- ``run_policy_tests``: every ``test_*`` rule of the given paths, evaluated like ``opa test`` on the
  embedded engine (which supports ``with``), with line coverage per policy file;
- ``write_policy_docs``: the policy reference, generated from the rules' ``# METADATA``;
- ``build_bundle``: an OPA bundle (``.tar.gz`` with ``.manifest``) an OPA fleet can load.

Each takes the policy paths (the bundled library is always the base, as for the engines).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kaitiaki.config import Settings
from kaitiaki.engine import engine_data, policy_set
from kaitiaki.engine.base import canonical_json, compute_revision, first_lines, located_error, with_revision
from kaitiaki.engine.embedded import UNDEFINED, new_regorus_engine
from kaitiaki.engine.metadata import rule_metadata, with_params
from kaitiaki.engine.signing import SIGNATURES_FILE, SigningKey, signatures_document
from kaitiaki.engine.sources import PolicyFile, PolicySet, merge_fragments
from kaitiaki.errors import PolicyError

_TEST_RULE = re.compile(r"^(?P<name>(?:todo_)?test_\w+)\b", re.MULTILINE)


# --- tests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    """One ``test_*`` rule: passed when it evaluates to true, failed when false or undefined."""

    package: str
    name: str
    path: str
    line: int
    passed: bool
    skipped: bool = False
    error: str | None = None
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "name": self.name,
            "location": {"file": self.path, "row": self.line},
            "pass": self.passed,
            "skip": self.skipped,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 3),
        }


@dataclass(frozen=True)
class FileCoverage:
    path: str
    covered: tuple[int, ...]
    not_covered: tuple[int, ...]

    @property
    def percent(self) -> float:
        total = len(self.covered) + len(self.not_covered)
        return 100.0 if total == 0 else 100.0 * len(self.covered) / total

    def to_dict(self) -> dict[str, Any]:
        return {
            "covered": list(self.covered),
            "not_covered": list(self.not_covered),
            "coverage": round(self.percent, 2),
        }


@dataclass(frozen=True)
class TestReport:
    """What ``kaitiaki policy test`` prints (text) or emits (``--format json``)."""

    results: tuple[TestResult, ...]
    coverage: tuple[FileCoverage, ...] = field(default_factory=tuple)
    with_coverage: bool = False

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed and not r.skipped)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.results if r.skipped)

    @property
    def total_coverage(self) -> float:
        covered = sum(len(c.covered) for c in self.coverage)
        total = covered + sum(len(c.not_covered) for c in self.coverage)
        return 100.0 if total == 0 else 100.0 * covered / total

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tests": [r.to_dict() for r in self.results],
            "summary": {"passed": self.passed, "failed": self.failed, "skipped": self.skipped},
        }
        if self.with_coverage:
            out["coverage"] = {
                "files": {c.path: c.to_dict() for c in self.coverage},
                "coverage": round(self.total_coverage, 2),
            }
        return out

    def render_text(self) -> str:
        lines: list[str] = []
        for r in self.results:
            if r.skipped:
                lines.append(f"SKIPPED {r.package}.{r.name} ({r.path}:{r.line})")
            elif not r.passed:
                reason = f": {r.error}" if r.error else ""
                lines.append(f"FAIL {r.package}.{r.name} ({r.path}:{r.line}){reason}")
        if self.with_coverage:
            lines.append("")
            lines.append("Coverage (policy files):")
            for c in self.coverage:
                lines.append(f"  {c.percent:6.2f}%  {c.path}" + _uncovered_text(c))
            lines.append(f"  {self.total_coverage:6.2f}%  total")
        lines.append("-" * 60)
        summary = f"PASS: {self.passed}/{len(self.results) - self.skipped}"
        if self.failed:
            summary += f"  FAIL: {self.failed}"
        if self.skipped:
            summary += f"  SKIPPED: {self.skipped}"
        lines.append(summary)
        return "\n".join(lines) + "\n"


def _uncovered_text(c: FileCoverage) -> str:
    if not c.not_covered:
        return ""
    shown = ", ".join(str(n) for n in c.not_covered[:12])
    more = f" (+{len(c.not_covered) - 12})" if len(c.not_covered) > 12 else ""
    return f"  not covered: {shown}{more}"


def run_policy_tests(paths: Sequence[Path], coverage: bool = False) -> TestReport:
    """Run every ``test_*`` rule in the policy files under ``paths`` (``todo_test_*`` are skipped)."""
    policies = policy_set(paths)
    selected = _files_under(policies, paths)
    engine = new_regorus_engine(policies.modules(tests=True), _test_data(policies)).engine
    if coverage:
        engine.set_enable_coverage(True)
    results = [_run_test(engine, f, m) for f in selected if f.is_test for m in _TEST_RULE.finditer(f.text)]
    files = _coverage(engine, selected) if coverage else ()
    return TestReport(results=tuple(results), coverage=files, with_coverage=coverage)


def _test_data(policies: PolicySet) -> dict[str, Any]:
    data = engine_data(policies)
    return with_revision(data, compute_revision(policies.modules(), data))


def _files_under(policies: PolicySet, paths: Sequence[Path]) -> list[PolicyFile]:
    roots = [Path(p).resolve() for p in paths]
    return [f for f in policies.files if any(f.path == r or r in f.path.parents for r in roots)]


def _run_test(engine: Any, policy: PolicyFile, match: re.Match[str]) -> TestResult:
    name = match.group("name")
    line = policy.text.count("\n", 0, match.start()) + 1
    if name.startswith("todo_"):
        return TestResult(policy.package, name, policy.name, line, passed=False, skipped=True)
    started = time.perf_counter()
    error = _test_error(engine, f"data.{policy.package}.{name}")
    elapsed = (time.perf_counter() - started) * 1000
    return TestResult(
        policy.package, name, policy.name, line, passed=error is None, error=error, duration_ms=elapsed
    )


def _test_error(engine: Any, rule: str) -> str | None:
    """None when the test rule is true; otherwise why it is not."""
    try:
        value = json.loads(engine.eval_rule_as_json(rule))
    except RuntimeError as exc:
        path, at, message = located_error(str(exc))
        return f"{path}:{at}: {message}" if path else first_lines(str(exc), 2)
    if value is True:
        return None
    return "undefined" if value == UNDEFINED else f"evaluated to {value!r}"


def _coverage(engine: Any, selected: list[PolicyFile]) -> tuple[FileCoverage, ...]:
    report = json.loads(engine.get_coverage_report_as_json())
    names = {f.name for f in selected if not f.is_test}
    out = [
        FileCoverage(
            path=entry["path"],
            covered=tuple(sorted(entry.get("covered", []))),
            not_covered=tuple(sorted(entry.get("not_covered", []))),
        )
        for entry in report.get("files", [])
        if entry.get("path") in names
    ]
    return tuple(sorted(out, key=lambda c: c.path))


# --- docs -------------------------------------------------------------------------------------

LEVEL_NOTE = {
    "advisory": "reported, never blocks",
    "soft": "blocks in enforce mode unless a valid waiver names the job and the rule",
    "hard": "always blocks in enforce mode; never waivable",
}


def write_policy_docs(paths: Sequence[Path], out: Path) -> Path:
    """Write the Markdown policy reference (a rule table, then one section per rule)."""
    policies = policy_set(paths)
    metadata = rule_metadata(policies.policy_files())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_policy_docs(metadata, policies), encoding="utf-8")
    return out


def render_policy_docs(metadata: dict[str, dict[str, Any]], policies: PolicySet) -> str:
    """The reference states thresholds as the library's data sets them (``>= 6``), the same
    words a blocked engineer reads, not the ``{min_count_cell}`` placeholders of the METADATA."""
    params = merge_fragments(d.fragment() for d in policies.data_files).get("params")
    filled = with_params(metadata, params)
    rules = sorted(filled.values(), key=lambda r: _rule_order(r["id"]))
    lines = [
        "# Policy reference",
        "",
        "<!-- Generated by `kaitiaki policy docs` from the rules' # METADATA: edit the .rego files, "
        "not this page. -->",
        "",
        "Levels: **advisory** is reported and never blocks; **soft** blocks (in `enforce` mode) unless "
        "a valid waiver names the job and the rule; **hard** always blocks. kaitiaki.yaml's `levels:` "
        "can change any rule's level. See [governance.md](governance.md). What each rule enforces, its "
        "source and what it deliberately does not cover: [legal-basis.md](legal-basis.md). Where the "
        "meaning of a rule is a judgement call rather than the letter of its source, its section says "
        "so (**Judgement call**).",
        "",
        "| Rule | Title | Level | Guideline | Principle | Law |",
        "|---|---|---|---|---|---|",
    ]
    for r in rules:
        lines.append(
            f"| [{r['id']}](#{_anchor(r)}) | {_cell(r['title'])} | {_level_text(r)} | "
            f"{_cell(r['guideline'])} | {_cell(r['principle'])} | {_cell(r['law'])} |"
        )
    for r in rules:
        lines += ["", f"## {r['id']}: {r['title']}", ""]
        if r["description"]:
            lines += [r["description"], ""]
        lines += [
            f"- **Level:** {_level_text(r)} ({LEVEL_NOTE[r['level']]})",
            f"- **Guideline / principle:** {r['guideline'] or '-'} / {r['principle'] or '-'}",
            f"- **Law:** {r['law'] or '-'}",
            f"- **Remediation:** {r['remediation'] or '-'}",
            *([f"- **Judgement call:** {r['judgement']}"] if r.get("judgement") else []),
            f"- **Defined in:** `{_display_path(r['path'], policies)}` (package `{r['package']}`)",
        ]
    return "\n".join(lines) + "\n"


def _rule_order(rule_id: str) -> tuple[int, str]:
    prefixes = ["PM", "TC", "AI", "SV", "SYS"]
    prefix = rule_id.split("-")[0]
    return (prefixes.index(prefix) if prefix in prefixes else len(prefixes), rule_id)


def _level_text(rule: dict[str, Any]) -> str:
    extra = [
        f"{v} ({k.removeprefix('level_').replace('_', ' ')})"
        for k, v in rule.items()
        if k.startswith("level_")
    ]
    return str(rule["level"]) + (f"; {', '.join(extra)}" if extra else "")


def _anchor(rule: dict[str, Any]) -> str:
    text = f"{rule['id']}: {rule['title']}".lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _display_path(path: str, policies: PolicySet) -> str:
    for f in policies.files:
        if f.name == path:
            return f"{f.root.name}/{f.relative.as_posix()}"
    return path


# --- bundles ----------------------------------------------------------------------------------

BUNDLE_ROOT = "kaitiaki"


def build_bundle(
    paths: Sequence[Path],
    out: Path,
    revision: str | None = None,
    *,
    settings: Settings | None = None,
    signing: SigningKey | None = None,
) -> Path:
    """Write an OPA bundle: ``.manifest`` (revision, roots ["kaitiaki"]), the policy files (tests
    left out) and ``kaitiaki/data.json`` holding data.kaitiaki (the data.json fragments, the rules'
    METADATA, the revision, and with ``settings`` kaitiaki.yaml's policy_data, levels and issuers);
    with ``signing``, a ``.signatures.json`` that OPA verifies.

    The default revision is the one the embedded engine reports for the same policies and data, so
    decisions from the fleet and from an embedded engine name the same policy revision.
    """
    policies = policy_set(paths)
    document = engine_data(policies, settings)
    modules = policies.modules()
    chosen = revision or compute_revision(modules, document)
    document = with_revision(document, chosen)
    document["kaitiaki"]["revision"] = chosen
    entries = _bundle_entries(policies, document, chosen)
    if signing is not None:
        entries[SIGNATURES_FILE] = signatures_document(entries, signing)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(_tar_gz(entries))
    return out


def bundle_path(policy: PolicyFile) -> str:
    """Where a policy file goes in the bundle: the folder its package names (as OPA lays out a
    tree), so the path does not depend on where the file was found (a checkout's ``policies/``
    or an installed wheel's ``kaitiaki/_policies/``)."""
    return "/".join([*policy.package.split("."), policy.path.name])


def _bundle_entries(policies: PolicySet, document: dict[str, Any], revision: str) -> dict[str, bytes]:
    manifest = {"revision": revision, "roots": [BUNDLE_ROOT], "rego_version": 1}
    entries: dict[str, bytes] = {".manifest": canonical_json(manifest).encode()}
    for f in policies.policy_files():
        name = bundle_path(f)
        if name in entries:
            raise PolicyError(f"two policy files would share the bundle path {name}.", path=f.name)
        entries[name] = f.text.encode()
    entries[f"{BUNDLE_ROOT}/data.json"] = json.dumps(document["kaitiaki"], indent=1, sort_keys=True).encode()
    return entries


def _tar_gz(entries: dict[str, bytes]) -> bytes:
    """A reproducible .tar.gz: sorted entries, fixed times and owners."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            info = tarfile.TarInfo(f"/{name}")
            info.size = len(entries[name])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(entries[name]))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()
