"""Issue #16: partial facts, readable messages and identifier rules, checked on their wording.

The fixture corpus pins kinds and lineage; these tests pin what a person reads. Real sqlglot.
"""

from __future__ import annotations

from kaitiaki.analysis import analyze_sql


def test_partial_facts_name_the_expression_and_keep_the_rest() -> None:
    sql = "select x.c,\n  (select max(v) from y join z on y.id = z.id where y.k = x.k) as m\nfrom x"
    facts = analyze_sql(sql, dialect="postgres")
    (entry,) = facts.unresolved
    assert entry.kind == "ambiguous_column" and entry.line == 2
    assert "column v in `MAX(v)` (the SELECT list of a subquery)" in entry.detail
    assert "every other column is still analysed" in entry.detail
    assert {(e.source.qualified, e.target.column) for e in facts.lineage} == {("x.c", "c")}


def test_partial_facts_twin_with_schema_resolves_everything() -> None:
    sql = "select x.c,\n  (select max(v) from y join z on y.id = z.id where y.k = x.k) as m\nfrom x"
    schema = {"x": {"c": "", "k": ""}, "y": {"id": "", "k": "", "v": ""}, "z": {"id": ""}}
    facts = analyze_sql(sql, dialect="postgres", schema=schema)
    assert not facts.unresolved
    assert ("y.v", "m") in {(e.source.qualified, e.target.column) for e in facts.lineage}
