"""The estate report's structure, parsed with html.parser: jobs, filters, details, the flow graph."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kaitiaki.model import Verdict
from kaitiaki.report import render
from kaitiaki.report.html import OUTCOME_TEXT, outcome, render_html
from tests.report_html.dom import Element, parse
from tests.report_html.estate import (
    NOW,
    REVISION,
    UNIQUE_MSD,
    column,
    flow,
    sample_estate,
    sql_file,
    verdict,
    violation,
)

NOT_RUN = {"dbt:model.nz_social.mart_readmissions"}
BLOCKED = {
    "airflow:moh_export.share_readmissions",
    "dbt:model.nz_social.int_client_health",
    "sql:jobs/benefit_health.sql",
    "sql:jobs/broken.sql",
}


@pytest.fixture(scope="module")
def estate() -> list[Verdict]:
    return sample_estate()


@pytest.fixture(scope="module")
def doc(estate: list[Verdict]) -> Element:
    return parse(render_html(estate, title="MSD estate", generated_at=NOW))


def job_rows(doc: Element) -> dict[str, Element]:
    return {body.find(cls="job-id").text(): body for body in doc.find_all("tbody", cls="job")}


def edge(doc: Element, source: str, target: str) -> Element:
    """The graph edge whose tooltip starts ``source → target``."""
    for group in (g for svg in doc.find_all("svg", cls="flow-graph") for g in svg.find_all("g", cls="edge")):
        title = group.find("title").text()
        if title.startswith(f"{source} → {target}\n"):
            return group
    raise AssertionError(f"no edge {source} → {target}")


def test_header_counts_revision_time_and_mode(doc: Element) -> None:
    counts = {div.find("dt").text(): div.find("dd").text() for div in doc.find("dl", cls="counts").children}
    assert counts == {"Jobs": "9", "Allowed": "3", "Blocked": "4", "Not run": "1", "Warned": "1"}
    meta = doc.find("p", cls="meta")
    assert meta.find("time").attrs["datetime"] == NOW
    assert REVISION in meta.text() and "mode enforce" in meta.text()
    assert doc.find("title").text() == "MSD estate" == doc.find("h1").text()


def test_every_job_has_a_row_with_its_decision(doc: Element, estate: list[Verdict]) -> None:
    rows = job_rows(doc)
    assert set(rows) == {v.job.id for v in estate}
    for checked in estate:
        row = rows[checked.job.id]
        expected = (
            "blocked"
            if checked.job.id in BLOCKED
            else "not-run"
            if checked.job.id in NOT_RUN
            else outcome(checked)
        )
        assert row.attrs["data-decision"] == expected
        assert OUTCOME_TEXT[expected] in row.find("span", cls="badge").text()
        cells = [td.text() for td in row.children[0].children]
        assert cells[1] == checked.job.kind
        assert cells[2] == (checked.job.purpose or "none")
        assert cells[3] == (checked.job.owner or "none")
    assert rows["dbt:model.nz_social.stg_health_events"].attrs["data-decision"] == "warned"
    assert rows["sql:jobs/waikato_contacts.sql"].attrs["data-decision"] == "allowed"


def test_blocked_jobs_come_first(doc: Element) -> None:
    decisions = [body.attrs["data-decision"] for body in doc.find_all("tbody", cls="job")]
    assert decisions == sorted(decisions, key=["blocked", "not-run", "warned", "allowed"].index)


def test_a_model_downstream_of_a_blocked_one_is_not_run(doc: Element) -> None:
    """mart_readmissions is allowed itself, but reads int_client_health, which is blocked: a dbt
    run leaves it out, so the report must not call it allowed."""
    row = job_rows(doc)["dbt:model.nz_social.mart_readmissions"]
    assert row.attrs["data-decision"] == "not-run"
    assert "not run" in row.find("span", cls="badge").text()
    assert "downstream of a blocked model (dbt:model.nz_social.int_client_health)" in row.text()


def test_violations_show_rule_title_level_and_waived_distinctly(doc: Element) -> None:
    rows = job_rows(doc)
    blocked = rows["dbt:model.nz_social.int_client_health"].find("ul", cls="violations")
    texts = [li.text() for li in blocked.children]
    assert any(t.startswith("PM-11 Another agency's unique identifier") and "hard" in t for t in texts)
    assert any(t.startswith("PM-10 Linking needs approval") and "soft" in t for t in texts)
    waived = rows["sql:jobs/waikato_contacts.sql"].find("ul", cls="violations").find("li")
    assert "waived" in waived.classes
    assert waived.find("span", cls="tag-waived").text() == "waived"


def test_filters_offer_every_rule_purpose_owner_and_decision(doc: Element, estate: list[Verdict]) -> None:
    form = doc.find("form", id="filters")
    assert "hidden" in form.attrs, "filters are shown only once the script runs"
    options = {
        select.attrs["name"]: [o.text() for o in select.find_all("option")][1:]
        for select in form.find_all("select")
    }
    assert options["decision"] == ["blocked", "not run", "warned", "allowed"]
    assert set(options["rule"]) == {v.rule for verdict in estate for v in verdict.decision.violations}
    assert set(options["purpose"]) == {v.job.purpose for v in estate}
    assert set(options["owner"]) == {v.job.owner for v in estate}
    assert form.find("input", type="search").attrs["name"] == "q"
    assert doc.find("noscript")


def test_filter_codes_on_rows_match_the_options(doc: Element) -> None:
    form = doc.find("form", id="filters")
    rule_code = {o.text(): o.attrs["value"] for o in form.find("select", name="rule").find_all("option")}
    row = job_rows(doc)["airflow:moh_export.share_readmissions"]
    assert set(row.attrs["data-rules"].split()) == {rule_code["SV-02"], rule_code["SV-04"]}
    purpose_code = {
        o.text(): o.attrs["value"] for o in form.find("select", name="purpose").find_all("option")
    }
    assert row.attrs["data-purpose"] == purpose_code["readmission-research"]


def test_job_detail_explains_each_violation_and_lists_columns(doc: Element) -> None:
    row = job_rows(doc)["airflow:moh_export.share_readmissions"]
    detail = row.find("details", cls="job-detail")
    text = detail.text()
    assert "Identifiable column patient_key goes to an offshore destination" in text
    assert "Record the IPP12 basis" in text
    assert "dags/moh_export.py:43" in text, "the SQL line is mapped to the file line (offset 41)"
    assert "dev.main.mart_readmissions.patient_key" in text
    columns = detail.find_all("table")[-1]
    cells = [[td.text() for td in tr.children] for tr in columns.find("tbody").children]
    assert cells[0][:4] == ["dev.main.mart_readmissions.patient_key", "person_key", "select", "raw"]


def test_unverifiable_sql_is_listed_in_the_detail(doc: Element) -> None:
    detail = job_rows(doc)["sql:jobs/broken.sql"].find("details", cls="job-detail")
    assert "What could not be verified" in detail.text()
    assert "analysis_error: Expected table name but got <EOF> (line 1)" in detail.text()


def test_graph_draws_identifying_flows_between_tables(doc: Element) -> None:
    svgs = doc.find_all("svg", cls="flow-graph")
    assert svgs and all(svg.attrs["role"] == "group" and svg.attrs["aria-labelledby"] for svg in svgs)
    nodes = {g.find("title").text().split(" (")[0] for g in doc.find_all("g", cls="node")}
    assert {"raw.cms_clients", "dev.main.stg_clients", "dev.main.int_client_health"} <= nodes
    assert {"exports.moh_readmissions", "analytics.benefit_health", "uptake_by_region.sql"} <= nodes
    staging = edge(doc, "raw.cms_clients", "dev.main.stg_clients")
    label = staging.find("title").text()
    assert "client_id [raw] unique_identifier:msd_client" in label
    assert "date_of_birth→birth_year [truncate] quasi_identifier" in label
    hashed = edge(doc, "dev.main.int_client_health", "dev.main.mart_readmissions").find("title").text()
    assert "nhi→patient_key [hash]" in hashed
    assert "event_date→admissions [Σ aggregate]" in hashed


def test_blocked_jobs_edges_are_marked_and_link_to_the_job(doc: Element) -> None:
    rows = job_rows(doc)
    linked = edge(doc, "dev.main.stg_clients", "dev.main.int_client_health")
    assert "blocked" in linked.classes
    anchor = linked.find("a").attrs["href"]
    assert anchor == "#" + rows["dbt:model.nz_social.int_client_health"].attrs["id"]
    path = linked.find("path")
    assert path.attrs["marker-end"].startswith("url(#arrow-blocked-")
    assert "allowed" in edge(doc, "raw.cms_clients", "dev.main.stg_clients").classes
    assert "warned" in edge(doc, "raw.health_events", "dev.main.stg_health_events").classes
    assert "blocked" in edge(doc, "health_extract", "analytics.benefit_health").classes


def test_edge_labels_are_coloured_by_category(doc: Element) -> None:
    labels = doc.find_all("g", cls="label")
    classes = {span.attrs["class"] for label in labels for span in label.find_all("tspan")}
    assert {"cat-unique", "cat-direct", "cat-sensitive", "cat-quasi", "transform"} <= classes
    staging = next(g for g in labels if g.find("title").text().startswith("raw.cms_clients →"))
    first = staging.find("text")
    assert first.find("tspan").text() == "client_id" and "cat-unique" in first.find("tspan").classes


def test_flows_table_is_a_text_alternative_to_the_graph(doc: Element) -> None:
    table = doc.find("section", id="flows").find_all("table")[-1]
    rows = [[td.text() for td in tr.children] for tr in table.find("tbody").children]
    assert ["dev.main.int_client_health.nhi", "dev.main.mart_readmissions.patient_key", "hash"] in [
        r[:3] for r in rows
    ]


def test_registered_as_the_html_reporter(estate: list[Verdict]) -> None:
    page = render("html", estate, color=False)
    assert page.startswith("<!doctype html>")
    assert len(parse(page).find_all("tbody", cls="job")) == len(estate)


def test_empty_estate_is_a_page_that_says_so() -> None:
    doc = parse(render_html([], generated_at=NOW))
    assert "No jobs were checked." in doc.text()
    assert "No columns flow from one table to another" in doc.text()
    assert not doc.find_all("svg", cls="flow-graph")


def test_without_analysis_facts_the_graph_uses_the_policy_inputs_outputs() -> None:
    """Adapters may hand over verdicts without SqlFacts; the input's outputs still name sources."""
    base = sample_estate()[4]  # the Airflow export task
    assert base.input is not None
    document = dict(base.input)
    document["outputs"] = [
        {
            "table": "exports.moh_readmissions",
            "column": "patient_key",
            "categories": ["person_key"],
            "transforms": ["none"],
            "sources": ["dev.main.mart_readmissions.patient_key"],
        }
    ]
    stripped = replace(base, facts=None, input=document)
    doc = parse(render_html([stripped], generated_at=NOW))
    exported = edge(doc, "dev.main.mart_readmissions", "exports.moh_readmissions")
    assert "blocked" in exported.classes
    assert "patient_key [raw] person_key" in exported.find("title").text()


def test_a_blocked_jobs_unclassified_flows_are_still_red() -> None:
    cols = [column("ref.regions", "region", [], ["select"], ["none"], ["out.regions.region"])]
    lineage = [flow("ref.regions.region", "out.regions.region")]
    denied = violation("PM-01", "Purpose declared", "hard", "no purpose", [], 1, "declare one")
    allowed = verdict(sql_file("jobs/a.sql", "p"), cols, lineage)
    blocked = verdict(sql_file("jobs/b.sql", None), [], [flow("ref.codes.code", "out.codes.code")], [denied])
    doc = parse(render_html([allowed, blocked], generated_at=NOW))
    assert "plain" in edge(doc, "ref.regions", "out.regions").classes
    red = edge(doc, "ref.codes", "out.codes")
    assert "blocked" in red.classes and "code [raw] not identifying" in red.find("title").text()


def test_a_rule_firing_for_several_columns_is_listed_once_with_a_count() -> None:
    cols = [column("t", c, [UNIQUE_MSD], ["select"], ["none"], [f".{c}"]) for c in ("a", "b")]
    fired = [
        violation("PM-03", "Use within the purpose", "hard", f"{c} not allowed", [f"t.{c}"], 1, "")
        for c in "ab"
    ]
    doc = parse(render_html([verdict(sql_file("jobs/x.sql", "p"), cols, [], fired)], generated_at=NOW))
    items = doc.find("ul", cls="violations").find_all("li")
    assert len(items) == 1 and items[0].find("span", cls="times").text() == "×2"
    assert len(doc.find("details", cls="job-detail").find("ol", cls="explain").find_all("li")) == 2


def test_waivers_panel_states_each_waiver(doc: Element) -> None:
    rows = doc.find("section", id="waivers").find_all("tr", cls="waiver")
    assert [
        (r.children[0].text(), r.children[1].text(), r.find("span", cls="state").text()) for r in rows
    ] == [("PM-05", "sql:jobs/waikato_contacts.sql", "in force")]
    assert rows[0].find("a").attrs["href"].startswith("#job-")


def test_waivers_panel_shows_ignored_unused_expiring_and_unmatched(estate: list[Verdict]) -> None:
    from dataclasses import replace

    from kaitiaki.config import Waiver
    from kaitiaki.model import IgnoredWaiver

    contacts = next(v for v in estate if v.job.id == "sql:jobs/waikato_contacts.sql")
    offered = [
        {
            "rule": "PM-05",
            "job": contacts.job.id,
            "justification": "j",
            "approved_by": "b",
            "expires": "2026-12-01",
        },
        {
            "rule": "PM-07",
            "job": contacts.job.id,
            "justification": "j",
            "approved_by": "b",
            "expires": "2026-01-01",
        },
        {
            "rule": "AI-01",
            "job": contacts.job.id,
            "justification": "j",
            "approved_by": "b",
            "expires": "2027-01-01",
        },
    ]
    decision = replace(
        contacts.decision,
        ignored_waivers=(IgnoredWaiver("PM-07", "it has expired or has no readable expiry date"),),
    )
    changed = replace(contacts, decision=decision, input={**(contacts.input or {}), "waivers": offered})
    elsewhere = Waiver(
        rule="PM-10", job="sql:jobs/gone.sql", justification="j", approved_by="b", expires="2027-01-01"
    )
    page = parse(render_html([changed], generated_at=NOW, waivers=[elsewhere]))
    states = {
        r.children[0].text(): r.find("span", cls="state").text()
        for r in page.find("section", id="waivers").find_all("tr", cls="waiver")
    }
    assert states == {
        "PM-07": "ignored",
        "PM-05": "expiring",  # lifts PM-05 and ends within 30 days of the report's date
        "AI-01": "unused",
        "PM-10": "matches no job here",
    }
    assert "expired" in page.find("section", id="waivers").text()


def test_column_view_lists_every_identifying_source_column(doc: Element) -> None:
    section = doc.find("section", id="columns")
    options = [o.text() for o in section.find("select").find_all("option")][1:]
    assert "raw.health_events.nhi" in options and "cms.clients.full_name" in options
    assert "dev.main.stg_clients.client_id" not in options, "a written column is reached, not a source"
    views = section.find_all("details", cls="column-view")
    assert len(views) == len(options)
