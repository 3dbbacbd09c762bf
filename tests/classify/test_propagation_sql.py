"""Propagation through five SQL files analysed by the real analysis (sqlglot), given in any order."""

from __future__ import annotations

import random

from kaitiaki.analysis import analyze_sql
from kaitiaki.classify import classify, classify_jobs
from kaitiaki.model import SqlFacts

from .support import by_column, entry, plugin_manager

PM = plugin_manager()
CATALOG = {
    "raw.clients": entry(
        "raw.clients",
        {
            "client_id": ["unique_identifier:msd_client"],
            "nhi": ["unique_identifier:nhi"],
            "opted_out": ["opt_out_flag"],
        },
        agency="msd",
    )
}
SCHEMA = {
    "raw.clients": {
        "client_id": "int",
        "full_name": "text",
        "nhi": "text",
        "date_of_birth": "date",
        "ethnicity": "text",
        "region": "text",
        "opted_out": "boolean",
    }
}
JOBS = {
    "stg.sql": """
        create table stg.clients as
        select client_id, full_name, nhi, date_of_birth, ethnicity, region, opted_out from raw.clients""",
    "pseudo.sql": """
        create table int.pseudonymised as
        select md5(nhi) as patient_key, left(full_name, 1) as initial,
               date_trunc('year', date_of_birth) as birth_year, ethnicity as eth_group, region, opted_out
        from stg.clients""",
    "flags.sql": """
        create table int.flags as
        select patient_key as k, initial as tag, eth_group, region, opted_out as excluded
        from int.pseudonymised where not opted_out""",
    "counts.sql": """
        create table mart.counts as
        select region, eth_group, count(distinct k) as people from int.flags
        group by region, eth_group having count(distinct k) >= 6""",
    "summary.sql": "create table mart.summary as select region, people from mart.counts",
}


def analysed(path: str) -> SqlFacts:
    return analyze_sql(JOBS[path], dialect="postgres", schema=SCHEMA, path=path)


def test_five_analysed_sql_files_carry_categories_in_any_order() -> None:
    paths = list(JOBS)
    random.Random(9).shuffle(paths)
    results = {
        r.facts.path: r
        for r in classify_jobs([analysed(p) for p in paths], catalog=CATALOG, strict_catalog=True, plugins=PM)
    }
    assert all(r.facts.complete for r in results.values())
    assert {o.column: o.categories for o in results["pseudo.sql"].outputs} == {
        "patient_key": ("person_key",),
        "initial": ("direct_identifier",),
        "birth_year": ("quasi_identifier:dob",),
        "eth_group": ("sensitive:ethnicity",),
        "region": (),
        "opted_out": ("opt_out_flag",),
    }
    flags = by_column(results["flags.sql"].columns)
    assert flags["int.pseudonymised.initial"].classified_by == ("lineage",)
    assert flags["int.pseudonymised.opted_out"].categories == ("opt_out_flag",)
    assert "filter" in flags["int.pseudonymised.opted_out"].uses
    counts = results["counts.sql"]
    assert by_column(counts.columns)["int.flags.k"].categories == ("person_key",)
    assert {o.column: o.categories for o in counts.outputs} == {
        "region": (),
        "eth_group": ("sensitive:ethnicity",),
        "people": (),
    }
    summary = by_column(results["summary.sql"].columns)
    assert summary["mart.counts.people"].categories == ()
    assert summary["mart.counts.people"].classified_by == ("lineage",)
    assert all(not r.warnings for r in results.values())


def test_a_later_statement_of_one_file_reads_what_an_earlier_one_wrote() -> None:
    sql = (
        "create table tmp.contacts as select full_name as who, region from raw.clients;\n"
        "insert into mart.letters select who, region from tmp.contacts;\n"
    )
    result = classify(analyze_sql(sql, dialect="postgres", schema=SCHEMA), catalog=CATALOG, plugins=PM)
    assert by_column(result.columns)["tmp.contacts.who"].categories == ("direct_identifier",)
    written = {f"{o.table}.{o.column}": o.categories for o in result.outputs}
    assert written["mart.letters.who"] == ("direct_identifier",)
    assert written["mart.letters.region"] == ()
