"""Policy inputs built by hand for the DPUP rules (fixtures/), shared by the policy tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from kaitiaki.engine.sources import deep_merge

FIXTURES = Path(__file__).parent / "fixtures"
ISSUERS = {"nhi": "moh", "ird": "ird", "nsn": "moe", "msd_client": "msd"}

COLUMN_DEFAULTS: dict[str, Any] = {
    "uses": ["select"],
    "transforms": ["none"],
    "outputs": [],
    "lines": [2],
    "from_star": False,
    "categories": [],
    "classified_by": ["catalog"],
}
OUTPUT_DEFAULTS: dict[str, Any] = {"table": None, "categories": [], "transforms": ["none"], "sources": []}


def base_input() -> dict[str, Any]:
    return json.loads((FIXTURES / "base_input.json").read_text())


def worked_examples() -> list[dict[str, Any]]:
    """The DPUP worked examples E1–E5: {description, sql, expect: {allow, rules}, input}."""
    return [
        {"name": path.stem, **json.loads(path.read_text())} for path in sorted(FIXTURES.glob("e[0-9]_*.json"))
    ]


def rule_cases() -> list[dict[str, Any]]:
    return list(yaml.safe_load((FIXTURES / "rule_cases.yaml").read_text()))


def case_input(case: dict[str, Any]) -> dict[str, Any]:
    """base_input.json with the case's selected columns, column facts, outputs and patch."""
    document = base_input()
    for qualified, categories in (case.get("select") or {}).items():
        table, column = qualified.rsplit(".", 1)
        document["columns"].append(
            {
                **COLUMN_DEFAULTS,
                "table": table,
                "column": column,
                "categories": categories,
                "outputs": [column],
            }
        )
        document["outputs"].append(
            {**OUTPUT_DEFAULTS, "column": column, "categories": categories, "sources": [qualified]}
        )
    document["columns"] += [{**COLUMN_DEFAULTS, **copy.deepcopy(c)} for c in case.get("columns", [])]
    document["outputs"] += [{**OUTPUT_DEFAULTS, **copy.deepcopy(o)} for o in case.get("outputs", [])]
    return deep_merge(document, case.get("patch") or {})
