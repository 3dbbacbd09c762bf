"""The allowlist holds by construction: every sqlglot node class is either modelled or reported.

Walking sqlglot's own class hierarchy means the next sqlglot release cannot add a construct the
analysis silently skips: a new class fails the first test until it is reviewed, and until then
the analysis reports it (``unmodelled_node``). Real sqlglot, no mocks.
"""

from __future__ import annotations

import pytest
from sqlglot import exp

from kaitiaki.analysis import analyze_sql
from kaitiaki.analysis.allowlist import REPORTED, UNMODELLED, node_problem
from kaitiaki.analysis.nodes import MODELLED


def _classes() -> set[type[exp.Expr]]:
    found: set[type[exp.Expr]] = {exp.Expr}
    stack: list[type[exp.Expr]] = [exp.Expr]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found and sub.__module__.startswith("sqlglot."):
                found.add(sub)
                stack.append(sub)
    return found


def test_every_sqlglot_class_is_modelled_or_reported() -> None:
    classes = _classes()
    assert len(classes) > 900  # the walk really covers sqlglot's hierarchy
    unreviewed = sorted(c.__name__ for c in classes if c.__name__ not in MODELLED and c not in REPORTED)
    assert not unreviewed, f"review these sqlglot classes and add them to nodes.py or REPORTED: {unreviewed}"
    both = sorted(c.__name__ for c in REPORTED if c.__name__ in MODELLED)
    assert not both, both
    stale = sorted(MODELLED - {c.__name__ for c in classes})
    assert not stale, f"nodes.py names classes sqlglot no longer has: {stale}"


@pytest.mark.parametrize("cls", sorted(REPORTED, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_reported_class_is_reported(cls: type[exp.Expr]) -> None:
    node = cls(this=exp.Literal.string("x")) if cls is exp.TableFromRows else cls()
    problem = node_problem(node, "postgres")
    assert problem is not None and problem[1]


def test_a_class_sqlglot_adds_later_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A class missing from the reviewed list (as a new one would be) is reported where it stands.

    sqlglot runs compiled here (its classes cannot be subclassed from Python), so the new class is
    simulated by taking a real one out of the list.
    """
    monkeypatch.setattr("kaitiaki.analysis.allowlist.MODELLED", MODELLED - {"ReadCSV"})
    problem = node_problem(exp.ReadCSV(this=exp.Literal.string("people.csv")), "duckdb")
    assert problem is not None and problem[0] == UNMODELLED
    assert "ReadCSV" in problem[1]
    facts = analyze_sql("select count(*) from read_csv('people.csv')", dialect="duckdb")
    assert UNMODELLED in {u.kind for u in facts.unresolved}


def _kinds(sql: str, dialect: str = "postgres") -> set[str]:
    return {u.kind for u in analyze_sql(sql, dialect=dialect).unresolved}


@pytest.mark.parametrize(
    ("dialect", "sql", "kind"),
    [
        ("duckdb", "select * from (pivot health.patients on region using first(nhi))", "statement_as_query"),
        ("duckdb", "with x as (summarize health.patients) select * from x", "statement_as_query"),
        ("snowflake", "select * from table($t)", "runtime_name"),
        ("snowflake", "select identifier(:c) from health.patients", "runtime_name"),
        ("spark", "select ${c} from health.patients", "runtime_name"),
        ("hive", "select region from health.patients where region = '${c}'", "runtime_name"),
        ("databricks", "select region from health.patients where region = '${hiveconf:c}'", "runtime_name"),
        ("postgres", "select :c from health.patients", "runtime_name"),
        ("clickhouse", "select {c:Identifier} from health.patients", "runtime_name"),
        ("postgres", "select query_to_xml('select 1', true, false, '')", "dynamic_sql"),
        ("oracle", "select dbms_xmlgen.getxml('x') from dual", "dynamic_sql"),
        ("postgres", "select my_runner('select nhi from health.patients')", "dynamic_sql"),
        ("postgres", "select most_common_vals from pg_stats", "catalog_values"),
    ],
)
def test_unmodelled_constructs_are_unresolved_with_a_line(dialect: str, sql: str, kind: str) -> None:
    facts = analyze_sql(f"\n{sql}", dialect=dialect)
    found = [u for u in facts.unresolved if u.kind == kind]
    assert found, facts.unresolved
    assert all(u.line == 2 for u in found)


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("duckdb", "select count(*) from health.patients pivot (count(*) for region in ('a', 'b'))"),
        ("snowflake", "select * from table(flatten(input => parse_json('[1]')))"),
        ("snowflake", "select region from identifier('health.patients')"),
        ("postgres", "select region from health.patients where region = :r limit ?"),
        ("postgres", "update scratch.t set k = ? where id = ?"),
        ("clickhouse", "select region from health.patients where region = {r:String}"),
        ("postgres", "select regexp_replace(region, 'select', '') from health.patients"),
        ("postgres", "select tablename from pg_tables"),
        ("clickhouse", "with 2 as two select region, two from health.patients"),
        ("hive", "select region from health.patients where region = '$c'"),
        ("postgres", "select region from health.patients where region = '${c}'"),
    ],
)
def test_legitimate_twins_are_not_reported(dialect: str, sql: str) -> None:
    assert _kinds(sql, dialect) == set()
