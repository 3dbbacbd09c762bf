"""``kaitiaki analyze --format text``: readable tables built from real analysis results."""

from __future__ import annotations

from kaitiaki.analysis import analyze_sql, normalise_schema
from kaitiaki.report.analyze_text import render_analysis_text

SCHEMA = normalise_schema({"health.patients": {"nhi": "text", "region": "text"}}, "postgres")
SQL = """with c as (select md5(nhi) as k, region from health.patients)
select c.region, count(*) as n
from c join health.visits v on md5(v.nhi) = c.k
group by c.region having count(*) >= 10;
select * from health.mystery;
select from;
"""


def test_one_block_per_file_with_every_section() -> None:
    facts = analyze_sql(SQL, dialect="postgres", schema=SCHEMA, path="jobs/report.sql")
    text = render_analysis_text([facts])
    lines = text.splitlines()
    assert lines[0] == "== jobs/report.sql (postgres) =="
    assert lines[1].startswith("statements: 3: select (line 1); select (line 5); unparseable (line 6)")
    table = lines[lines.index("columns:") + 1 :]
    assert table[0].split() == ["column", "uses", "transforms", "outputs", "lines", "star"]
    region = next(row for row in table if row.strip().startswith("health.patients.region"))
    assert region.split() == ["health.patients.region", "select,", "group", "none", "region", "1,", "2,", "4"]
    star = next(row for row in table if row.strip().startswith("health.mystery.*"))
    assert star.rstrip().endswith("only *")
    assert "  health.patients.nhi = health.visits.nhi  inner  line 3" in lines
    assert "unresolved:" in lines and any(
        line.startswith("  line 5: star_without_schema: ") for line in lines
    )
    assert "errors:" in lines and any(
        line.startswith("  line 6: statement 3 cannot be parsed") for line in lines
    )
    assert "analysis complete" not in text


def test_columns_line_up() -> None:
    facts = analyze_sql("select nhi, region from health.patients", dialect="postgres", schema=SCHEMA)
    lines = render_analysis_text([facts]).splitlines()
    header = lines[lines.index("columns:") + 1]
    rows = [lines[lines.index("columns:") + 3], lines[lines.index("columns:") + 4]]
    start = header.index("uses")
    assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows)


def test_complete_grouped_file() -> None:
    facts = analyze_sql(
        "select region, count(*) as n from health.patients group by region having count(*) >= 6",
        dialect="postgres",
        schema=SCHEMA,
    )
    text = render_analysis_text([facts])
    assert "aggregation: grouped; counts; smallest group ≥ 6" in text
    assert text.endswith("analysis complete: nothing unresolved\n")
    assert "joins: none" in text


def test_several_files_and_none() -> None:
    first = analyze_sql("select 1", dialect="postgres", path="a.sql")
    second = analyze_sql("select nhi from p", dialect="snowflake", path="b.sql")
    text = render_analysis_text([first, second])
    assert text.index("== a.sql (postgres) ==") < text.index("== b.sql (snowflake) ==")
    assert "columns: none" in text and "aggregation: person-level output (not grouped)" in text
    assert render_analysis_text([]) == "no SQL files analysed\n"


def test_no_sql_literal_values_in_the_report() -> None:
    facts = analyze_sql(
        "select nhi from health.patients where nhi = 'ZZZ0016'", dialect="postgres", schema=SCHEMA
    )
    assert "ZZZ0016" not in render_analysis_text([facts])
