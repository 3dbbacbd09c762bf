"""Propagation through a five-job chain (SqlFacts built by hand, as the analysis would emit them).

raw.clients ─► stg.clients ─► int.pseudonymised ─► int.flags ─► mart.counts ─► mart.summary
    catalog      raw flow       hash/mask/trunc      renames       aggregate       raw flow
"""

from __future__ import annotations

import random

from kaitiaki.classify import classify, classify_jobs, lineage_order, propagated_categories
from kaitiaki.model import SqlFacts

from .support import by_column, edge, entry, facts, plugin_manager

PM = plugin_manager()
CATALOG = {
    "raw.clients": entry(
        "raw.clients",
        {
            "client_id": ["unique_identifier:msd_client"],
            "full_name": ["direct_identifier"],
            "opted_out": ["opt_out_flag"],
        },
        agency="msd",
    )
}


def chain() -> list[SqlFacts]:
    stg = [
        edge(f"raw.clients.{c}", f"stg.clients.{c}")
        for c in ("client_id", "full_name", "date_of_birth", "ethnicity", "region", "opted_out")
    ]
    pseudo = [
        edge("stg.clients.client_id", "int.pseudonymised.client_key", "hash"),
        edge("stg.clients.full_name", "int.pseudonymised.initial", "mask"),
        edge("stg.clients.date_of_birth", "int.pseudonymised.birth_year", "truncate"),
        edge("stg.clients.ethnicity", "int.pseudonymised.eth_group"),
        edge("stg.clients.region", "int.pseudonymised.region"),
        edge("stg.clients.opted_out", "int.pseudonymised.opted_out"),
    ]
    flags = [
        edge("int.pseudonymised.client_key", "int.flags.k"),
        edge("int.pseudonymised.initial", "int.flags.tag"),
        edge("int.pseudonymised.eth_group", "int.flags.eth_group"),
        edge("int.pseudonymised.region", "int.flags.region"),
        edge("int.pseudonymised.opted_out", "int.flags.excluded"),
    ]
    counts = [
        edge("int.flags.region", "mart.counts.region"),
        edge("int.flags.eth_group", "mart.counts.eth_group"),
        edge("int.flags.k", "mart.counts.people", "aggregate"),
    ]
    summary = [
        edge("mart.counts.region", "mart.summary.region"),
        edge("mart.counts.people", "mart.summary.people"),
    ]
    jobs = []
    for name, edges in (
        ("stg", stg),
        ("pseudo", pseudo),
        ("flags", flags),
        ("counts", counts),
        ("summary", summary),
    ):
        target = edges[0].target.table
        uses = [(e.source.qualified, ["select"]) for e in edges]
        if name == "flags":
            uses.append(("int.pseudonymised.opted_out", ["filter"]))
        jobs.append(facts(uses, edges, targets=[target], path=f"jobs/{name}.sql"))
    return jobs


def test_writers_are_ordered_before_their_readers_whatever_the_input_order() -> None:
    jobs = chain()
    shuffled = jobs[:]
    random.Random(3).shuffle(shuffled)
    order = lineage_order(shuffled)
    assert [shuffled[i].path for i in order] == [j.path for j in jobs]


def test_categories_flow_down_the_chain() -> None:
    jobs = chain()
    shuffled = jobs[:]
    random.Random(5).shuffle(shuffled)
    results = {
        r.facts.path: r for r in classify_jobs(shuffled, catalog=CATALOG, plugins=PM, strict_catalog=True)
    }

    pseudo = {o.column: o.categories for o in results["jobs/pseudo.sql"].outputs}
    assert pseudo == {
        "client_key": ("person_key",),
        "initial": ("direct_identifier",),
        "birth_year": ("quasi_identifier:dob",),
        "eth_group": ("sensitive:ethnicity",),
        "region": (),
        "opted_out": ("opt_out_flag",),
    }
    flags = results["jobs/flags.sql"]
    flag_cols = by_column(flags.columns)
    assert flag_cols["int.pseudonymised.client_key"].categories == ("person_key",)
    assert flag_cols["int.pseudonymised.initial"].categories == ("direct_identifier",)
    assert flag_cols["int.pseudonymised.initial"].classified_by == ("lineage",)  # no rule knows "initial"
    assert flags.tables[0].categories == (
        "direct_identifier",
        "opt_out_flag",
        "person_key",
        "quasi_identifier:dob",
        "sensitive:ethnicity",
    )
    counts = {o.column: o.categories for o in results["jobs/counts.sql"].outputs}
    assert counts == {"region": (), "eth_group": ("sensitive:ethnicity",), "people": ()}
    summary = by_column(results["jobs/summary.sql"].columns)
    assert summary["mart.counts.people"].categories == ()
    assert summary["mart.counts.people"].classified_by == ("lineage",)
    # Every intermediate table was produced by a classified job: the strict catalog knows them all.
    assert all(not r.warnings for r in results.values())


def test_manual_chaining_with_propagated_categories_gives_the_same_answer() -> None:
    inherited: dict[str, tuple[str, ...]] = {}
    manual = []
    for job in chain():
        result = classify(job, catalog=CATALOG, inherited=inherited, plugins=PM)
        inherited.update(propagated_categories(result))
        manual.append(result)
    assert manual == list(classify_jobs(chain(), catalog=CATALOG, plugins=PM))
    assert inherited["int.flags.k"] == ("person_key",)
    assert inherited["mart.summary.people"] == ()


def test_without_propagation_the_strict_catalog_reports_the_intermediate_tables() -> None:
    flags = chain()[2]
    result = classify(flags, catalog=CATALOG, strict_catalog=True, plugins=PM)
    assert [w for w in result.warnings if w.startswith("strict_catalog: table 'int.pseudonymised'")]


def test_jobs_reading_each_others_targets_converge() -> None:
    first = facts(
        [("raw.clients.full_name", ["select"]), ("loop.b.y", ["select"])],
        [edge("raw.clients.full_name", "loop.a.x"), edge("loop.b.y", "loop.a.z")],
        targets=["loop.a"],
        path="a.sql",
    )
    second = facts(
        [("loop.a.x", ["select"])], [edge("loop.a.x", "loop.b.y")], targets=["loop.b"], path="b.sql"
    )
    a, b = classify_jobs([first, second], catalog=CATALOG, plugins=PM)
    assert {o.column: o.categories for o in a.outputs} == {
        "x": ("direct_identifier",),
        "z": ("direct_identifier",),
    }
    assert b.outputs[0].categories == ("direct_identifier",)
