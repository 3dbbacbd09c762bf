"""Hostile job names, identifiers and policy texts must come out as text, never as markup or script."""

from __future__ import annotations

import pytest

from kaitiaki.report.html import asset, render_html
from tests.report_html.dom import Element, parse
from tests.report_html.estate import NOW, sample_estate
from tests.report_html.hostile import (
    COLUMN,
    DESTINATION,
    JOB_ID,
    JOB_NAME,
    MESSAGE,
    OWNER,
    PURPOSE,
    RULE,
    TABLE,
    TARGET,
    TITLE,
    TRANSFORM,
    hostile_verdict,
)

PAGE_TAGS = {
    "#document", "html", "head", "meta", "title", "style", "body", "a", "header", "h1", "h2", "h3", "p",
    "time", "code", "dl", "div", "dt", "dd", "nav", "main", "section", "ul", "li", "ol", "span", "details",
    "summary", "svg", "g", "path", "rect", "text", "tspan", "defs", "marker", "line", "table", "caption",
    "thead", "tbody", "tr", "th", "td", "form", "label", "select", "option", "input", "button", "noscript",
    "footer", "script",
}  # fmt: skip


@pytest.fixture(scope="module")
def page() -> str:
    return render_html([hostile_verdict(), *sample_estate()], title=TITLE, generated_at=NOW)


@pytest.fixture(scope="module")
def doc(page: str) -> Element:
    return parse(page)  # strict: an injected end tag would not match its element


def test_no_injected_elements(doc: Element) -> None:
    tags = {e.tag for e in doc.iter()}
    assert tags <= PAGE_TAGS, f"unexpected elements: {tags - PAGE_TAGS}"
    scripts = doc.find_all("script")
    assert len(scripts) == 1 and scripts[0].text() == asset("report.js")
    assert doc.find("head").find("title").text() == TITLE


def test_no_event_handler_or_javascript_attributes(doc: Element) -> None:
    for element in doc.iter():
        for name, value in element.attrs.items():
            assert not name.startswith("on"), f"<{element.tag} {name}=…>"
            assert not value.lower().startswith("javascript:"), f"<{element.tag} {name}={value!r}>"


def test_hostile_strings_survive_as_text(doc: Element) -> None:
    row = next(b for b in doc.find_all("tbody", cls="job") if b.find(cls="job-id").text() == JOB_ID)
    assert row.find(cls="job-name").text() == JOB_NAME
    cells = [td.text() for td in row.children[0].children]
    assert cells[2:5] == [PURPOSE, OWNER, f"external · nz · {DESTINATION}"]
    detail = row.find("details", cls="job-detail").text()
    for text in (MESSAGE, RULE, f"{TABLE}.{COLUMN}", TRANSFORM):
        assert text in detail
    nodes = {g.find("title").text() for g in doc.find_all("g", cls="node")}
    assert f"{TABLE} (table read by jobs)" in nodes
    assert f"{TARGET} (table written by a job)" in nodes


def test_data_attributes_carry_only_codes(doc: Element) -> None:
    for body in doc.find_all("tbody", cls="job"):
        assert body.attrs["data-decision"] in {"blocked", "not-run", "warned", "allowed"}
        for name in ("data-index", "data-purpose", "data-owner"):
            assert body.attrs[name].isdigit()
        assert all(code.isdigit() for code in body.attrs["data-rules"].split())
    graph_groups = [g for g in doc.find_all("g") if "data-jobs" in g.attrs]
    assert graph_groups
    for group in graph_groups:
        assert all(i.isdigit() for i in group.attrs["data-jobs"].split())


def test_raw_markup_never_reaches_the_page(page: str) -> None:
    for raw in ("<script>alert", "<img", "<iframe", "<b>", "<i ", "<svg onload"):
        assert raw not in page
    assert "&lt;img src=x onerror=alert(&quot;column&quot;)&gt;" in page
