"""The report is one file: nothing is loaded at view time, and its CSP forbids loading anything."""

from __future__ import annotations

import re

import pytest

from kaitiaki.report.html import asset, csp_hash, render_html
from tests.report_html.dom import Element, parse
from tests.report_html.estate import NOW, sample_estate


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(sample_estate(), generated_at=NOW)


@pytest.fixture(scope="module")
def doc(page: str) -> Element:
    return parse(page)


def test_no_resource_is_referenced(doc: Element) -> None:
    for element in doc.iter():
        for name in ("src", "href", "xlink:href", "action", "data", "poster", "srcset"):
            value = element.attrs.get(name)
            if value is not None:
                assert value.startswith("#"), f"<{element.tag} {name}={value!r}> loads or leaves the page"
    assert not doc.find_all("link") and not doc.find_all("img") and not doc.find_all("iframe")


def test_styles_and_markup_only_reference_fragments(page: str) -> None:
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\")", page), "only the SVG namespace URI"
    assert "@import" not in page and "@font-face" not in page
    assert all(ref.startswith("#") for ref in re.findall(r"url\(([^)]*)\)", page))


def test_content_security_policy_allows_only_the_inline_style_and_script(doc: Element) -> None:
    meta = doc.find("meta", http_equiv="Content-Security-Policy")
    directives = dict(d.strip().split(" ", 1) for d in meta.attrs["content"].split(";"))
    assert directives["default-src"] == "'none'"
    style, script = doc.find("style").text(), doc.find("script").text()
    assert style == asset("report.css") and script == asset("report.js")
    assert directives["style-src"] == f"'{csp_hash(style)}'"
    assert directives["script-src"] == f"'{csp_hash(script)}'"
    assert directives["form-action"] == "'none'"
