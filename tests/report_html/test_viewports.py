"""The report at 1280 and 1920 px in a real headless Chromium: nothing sticks out of the page
(every element is inside the viewport or inside a scroll container), the whole flow graph of the
sample estate is visible without scrolling sideways, no table name or label is cut, and the
column view answers "where does health.patients.nhi go"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kaitiaki.report.html import render_html
from tests.report_html.dom import parse
from tests.report_html.estate import NOW, sample_estate
from tests.report_html.png import colours, read_png
from tests.report_html.screenshot import chromium, run_chromium, screenshot

pytestmark = pytest.mark.skipif(
    chromium() is None,
    reason="chromium is not installed (Debian: apt-get install chromium); these tests need a real browser",
)
VIEWPORTS = (1280, 1920)
HEIGHT = 1200

PROBE = """<script>
const scrollBox = (el) => {
  for (let p = el.parentElement; p; p = p.parentElement) {
    const style = getComputedStyle(p);
    const root = p === document.documentElement || p === document.body;
    if (/(auto|scroll)/.test(style.overflowX) && !root) return p;
  }
  return null;
};
const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const results = {width: innerWidth, pageOverflow: document.documentElement.scrollWidth - innerWidth,
  outside: [], graphs: [], cut: []};
for (const el of document.body.querySelectorAll("*")) {
  const inSvg = el.closest("svg") && el.tagName.toLowerCase() !== "svg";
  if (!visible(el) || el.closest(".skip") || inSvg) continue;
  const r = el.getBoundingClientRect();
  if ((r.right > innerWidth + 1 || r.left < -1) && !scrollBox(el)) {
    const name = typeof el.className === "string" ? el.className : "";
    const where = el.closest("section") ? el.closest("section").id : "";
    results.outside.push(`${where} ${el.tagName} ${name} ${Math.round(r.left)}-${Math.round(r.right)}`);
  }
}
for (const svg of document.querySelectorAll("details.component[open] svg.flow-graph")) {
  if (!visible(svg)) continue;
  const box = svg.closest(".graph-scroll");
  results.graphs.push({layout: box.dataset.layout, scale: Number(svg.dataset.scale || "1"),
    width: svg.getBoundingClientRect().width, room: box.clientWidth});
  for (const g of svg.querySelectorAll("g.node, g.label")) {
    const rect = g.querySelector("rect");
    const room = Number(rect.getAttribute("width")) - 6;
    for (const text of g.querySelectorAll("text")) {
      if (text.getComputedTextLength() > room) results.cut.push(text.textContent);
    }
  }
}
const choice = document.getElementById("column-select");
const option = [...choice.options].find((o) => o.textContent === "raw.health_events.nhi");
choice.value = option.value;
choice.dispatchEvent(new Event("change"));
const shown = [...document.querySelectorAll("details.column-view")].filter((d) => !d.hidden);
results.columnViews = shown.map((d) => ({open: d.open, text: d.textContent}));
document.body.dataset.probe = JSON.stringify(results);
</script>"""


def probe(tmp_path: Path, width: int) -> dict[str, object]:
    page = re.sub(
        r'<meta http-equiv="Content-Security-Policy"[^>]*>',
        "",
        render_html(sample_estate(), generated_at=NOW),
    )
    path = tmp_path / f"probe-{width}.html"
    path.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    run = run_chromium(path, "--dump-dom", window=(width, HEIGHT))
    assert run.returncode == 0, run.stderr[-2000:]
    assert not run.script_errors, run.script_errors
    return dict(json.loads(parse(run.stdout).find("body").attrs["data-probe"]))


@pytest.mark.parametrize("width", VIEWPORTS)
def test_nothing_is_clipped_and_the_graph_is_whole(tmp_path: Path, width: int) -> None:
    results = probe(tmp_path, width)
    assert results["width"] == width
    assert results["pageOverflow"] <= 0, "the page scrolls sideways"
    assert results["outside"] == [], "elements outside the viewport and not in a scroll container"
    graphs = results["graphs"]
    assert isinstance(graphs, list) and len(graphs) == 4
    for graph in graphs:
        assert graph["width"] <= graph["room"] + 1, f"the graph is wider than its box: {graph}"
        assert graph["scale"] >= 1, f"the graph had to shrink to fit: {graph}"
    assert results["cut"] == [], "text longer than its box"
    assert any(g["layout"] == "tall" for g in graphs), "the five-layer part is laid out top to bottom"


def test_the_column_view_shows_where_nhi_goes(tmp_path: Path) -> None:
    views = probe(tmp_path, 1280)["columnViews"]
    assert isinstance(views, list) and len(views) == 1
    (view,) = views
    assert view["open"] is True
    assert "raw.health_events.nhi (unique_identifier:nhi)" in view["text"]
    assert "dev.main.mart_readmissions.patient_key" in view["text"]
    assert "exports.moh_readmissions.patient_key" in view["text"]
    assert "hash" in view["text"]
    assert "moh_export.share_readmissions" in view["text"] and "blocked" in view["text"]


@pytest.mark.parametrize("width", VIEWPORTS)
def test_screenshots_at_both_widths_are_drawn(tmp_path: Path, width: int) -> None:
    html = tmp_path / "report.html"
    html.write_text(render_html(sample_estate(), generated_at=NOW), encoding="utf-8")
    png = tmp_path / f"report-{width}.png"
    run = screenshot(html, png, window=(width, HEIGHT))
    assert run.returncode == 0 and not run.script_errors, run.stderr[-2000:]
    image = read_png(png)
    assert (image.width, image.height) == (width, HEIGHT)
    counts = colours(image)
    assert len(counts) > 100 and max(counts.values()) / sum(counts.values()) < 0.9
