"""Accessibility basics: WCAG AA contrast of the stylesheet's text colours, labelled controls,
and decisions that are not told by colour alone."""

from __future__ import annotations

import re

import pytest

from kaitiaki.report.html import OUTCOME_TEXT, asset, render_html
from tests.report_html.dom import Element, parse
from tests.report_html.estate import NOW, sample_estate

CSS = asset("report.css")
TEXT_ON_BACKGROUND = [  # (text colour, background) as the stylesheet pairs them
    ("--ink", "--paper"),
    ("--ink", "--panel"),
    ("--muted", "--paper"),
    ("--muted", "--panel"),
    ("--focus", "--paper"),
    ("--blocked", "--paper"),
    ("--warned", "--paper"),
    ("--allowed", "--paper"),
    ("--blocked", "--blocked-bg"),
    ("--warned", "--warned-bg"),
    ("--allowed", "--allowed-bg"),
]


def variable(name: str) -> str:
    match = re.search(rf"{name}:\s*(#[0-9a-fA-F]{{6}})", CSS)
    assert match, f"{name} is not a #rrggbb colour in report.css"
    return match.group(1)


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("text", "background"), TEXT_ON_BACKGROUND)
def test_text_colours_meet_wcag_aa(text: str, background: str) -> None:
    ratio = contrast(variable(text), variable(background))
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}:1"


def test_category_colours_are_readable_on_white_labels() -> None:
    colours = dict(re.findall(r"\.(cat-[a-z]+) \{ color: (#[0-9a-fA-F]{6});", CSS))
    assert {"cat-unique", "cat-direct", "cat-quasi", "cat-sensitive", "cat-child", "cat-optout"} <= set(
        colours
    )
    for name, colour in colours.items():
        assert contrast(colour, "#ffffff") >= 4.5, f".{name} {colour}"


@pytest.fixture(scope="module")
def doc() -> Element:
    return parse(render_html(sample_estate(), generated_at=NOW))


def test_page_is_landmarked_and_every_control_is_labelled(doc: Element) -> None:
    assert doc.find("html").attrs["lang"] == "en"
    assert doc.find_all("header") and doc.find_all("main") and doc.find_all("footer")
    for control in doc.find_all("select") + doc.find_all("input"):
        assert any(a.tag == "label" for a in control.ancestors()), f"<{control.tag} {control.attrs}>"
    headers = doc.find("table", cls="jobs").find("thead").find_all("th")
    assert all(th.attrs.get("scope") == "col" for th in headers)


def test_decisions_are_written_not_only_coloured(doc: Element) -> None:
    for body in doc.find_all("tbody", cls="job"):
        assert OUTCOME_TEXT[body.attrs["data-decision"]] in body.find("span", cls="badge").text()
    for svg in doc.find_all("svg", cls="flow-graph"):
        for group in svg.find_all("g", cls="edge"):
            assert (
                f"({group.attrs['class'].split()[1]})" in group.find("title").text()
                or "plain" in group.classes
            )
