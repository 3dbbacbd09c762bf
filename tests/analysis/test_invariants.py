"""Properties every analysis result must have, checked over the whole fixture corpus."""

from __future__ import annotations

from typing import Any

import pytest

from kaitiaki.analysis.transforms import TRANSFORM_ORDER
from kaitiaki.model import USES
from tests.analysis.test_fixtures import CASES, analyse


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_facts_are_consistent_and_sorted(case: dict[str, Any]) -> None:
    facts = analyse(case)
    columns = {c.qualified: c for c in facts.columns}
    assert list(columns) == sorted(columns, key=lambda q: tuple(q.rsplit(".", 1)))
    for edge in facts.lineage:
        assert edge.source.table is not None
        source = columns[edge.source.qualified]  # every edge starts at a reported column
        assert edge.target.qualified in source.outputs
        assert set(edge.transforms) <= set(source.transforms)
        assert edge.transforms and list(edge.transforms) == [
            t for t in TRANSFORM_ORDER if t in edge.transforms
        ]
    for column in facts.columns:
        feeding = [e for e in facts.lineage if e.source.qualified == column.qualified]
        assert set(column.transforms) == {t for e in feeding for t in e.transforms}
        assert set(column.outputs) == {e.target.qualified for e in feeding}
        assert list(column.uses) == [u for u in USES if u in column.uses] and column.uses
        assert list(column.lines) == sorted(set(column.lines))
    for join in facts.joins:
        assert join.left.qualified in columns and join.right.qualified in columns
        assert "join" in columns[join.left.qualified].uses
    lines = len(case["sql"].splitlines()) or 1
    for line in [n for c in facts.columns for n in c.lines] + [j.line for j in facts.joins]:
        assert 1 <= line <= lines
    assert facts.to_dict() == analyse(case).to_dict()  # deterministic
