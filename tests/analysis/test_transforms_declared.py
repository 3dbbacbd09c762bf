"""A platform's masking function masks only when kaitiaki.yaml declares it
(``pseudonymisation.masking_functions``): real sqlglot, the analysis as the gate calls it."""

from __future__ import annotations

import pytest

from kaitiaki.analysis.analyze import analyze_sql

SCHEMA = {"health.patients": {"nhi": "text", "region": "text"}}


@pytest.mark.parametrize(
    ("declared", "transform"), [(frozenset(), "none"), (frozenset({"mask_nhi"}), "mask")]
)
def test_a_named_mask_masks_only_when_declared(declared: frozenset[str], transform: str) -> None:
    facts = analyze_sql(
        "select Mask_NHI(nhi) as m from health.patients", dialect="postgres", schema=SCHEMA, masks=declared
    )
    (edge,) = [e for e in facts.lineage if e.target.column == "m"]
    assert edge.transforms == (transform,)
