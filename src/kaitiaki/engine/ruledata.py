"""The rules' ``# METADATA`` as data files in the policy tree, so that OPA reads the tree as it is.

kaitiaki derives ``data.kaitiaki.rules`` and ``data.kaitiaki.violation_fields`` from the METADATA
when it loads the policies (a forked or custom rule's METADATA counts at once). ``opa test`` and
``opa run`` on the tree read data files instead, so the bundled library carries the same two
documents as ``kaitiaki/rules/data.json`` and ``kaitiaki/violation_fields/data.json``, where OPA
mounts them. They are generated, never edited: ``make policy-data`` writes them and
``make rego-test`` fails while they differ from the METADATA.

    python -m kaitiaki.engine.ruledata [--check] [ROOT]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kaitiaki.engine.metadata import rule_metadata, rules_table, violation_fields, with_params
from kaitiaki.engine.sources import OPA_DATA_ROOT, bundled_policies_dir, discover, merge_fragments
from kaitiaki.errors import PolicyError


def rule_documents(root: Path) -> dict[Path, Any]:
    """The generated data file path → its content, for the policy tree at ``root``: the rules of
    that tree only (an organisation's folder lists its own rules; OPA merges them with the
    library's when both trees are loaded), with the thresholds of the library and the tree."""
    resolved = root.resolve()
    bundled = resolved == bundled_policies_dir().resolve()
    policies = discover(()) if bundled else discover([root])
    params = merge_fragments(d.fragment() for d in policies.data_files).get("params")
    own = [f for f in policies.policy_files() if bundled or f.root == resolved]
    rules = with_params(rules_table(rule_metadata(own)), params)
    base = root / OPA_DATA_ROOT
    return {
        base / "rules" / "data.json": rules,
        base / "violation_fields" / "data.json": violation_fields(rules),
    }


def render(content: Any) -> str:
    return json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale_files(root: Path) -> list[Path]:
    """The generated files that are missing or differ from what the METADATA gives."""
    stale = []
    for path, content in rule_documents(root).items():
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != render(content):
            stale.append(path)
    return stale


def write_files(root: Path) -> list[Path]:
    written = []
    for path, content in rule_documents(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(content), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kaitiaki.engine.ruledata", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is out of date")
    parser.add_argument(
        "root", nargs="?", type=Path, default=None, help="the policy tree (default: the bundled one)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root or bundled_policies_dir()
    try:
        if args.check:
            stale = stale_files(root)
            for path in stale:
                print(
                    f"{path}: out of date with the rules' METADATA; run `make policy-data` and commit it.",
                    file=sys.stderr,
                )
            return 1 if stale else 0
        for path in write_files(root):
            print(path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
