"""The report in a real headless Chromium: it draws, its script runs cleanly, filters work, the CSP
holds, hostile names stay inert, and without JavaScript every job is still shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kaitiaki.report.html import asset, csp_hash, render_html
from tests.report_html.dom import Element, parse
from tests.report_html.estate import NOW, sample_estate
from tests.report_html.hostile import hostile_verdict
from tests.report_html.png import colours, read_png
from tests.report_html.screenshot import WINDOW, chromium, dump_dom, screenshot

pytestmark = pytest.mark.skipif(
    chromium() is None,
    reason="chromium is not installed (Debian: apt-get install chromium); these tests need a real browser",
)

PANEL = (0xF4, 0xF6, 0xF8)  # the header's background, --panel in report.css
BLOCKED_RED = (0xB3, 0x26, 0x1E)  # --blocked: badges, counts and blocked arrows

PROBE = """<script>
const form = document.getElementById("filters");
const visibleJobs = () => [...document.querySelectorAll("tbody.job")]
  .filter((b) => !b.hidden)
  .map((b) => b.querySelector(".job-id").textContent);
const results = {};
form.elements.decision.value = "blocked";
form.dispatchEvent(new Event("change"));
results.blocked = visibleJobs();
results.dimmed = document.querySelectorAll(".flow-graph .edge.dimmed").length;
results.undimmedBlocked = document.querySelectorAll(".flow-graph .edge.blocked:not(.dimmed)").length;
form.elements.decision.value = "";
form.elements.q.value = "Diagnosis_Code";
form.dispatchEvent(new Event("input"));
results.search = visibleJobs();
form.elements.q.value = "";
const rule = [...form.elements.rule.options].find((o) => o.textContent === "PM-05");
form.elements.rule.value = rule.value;
form.dispatchEvent(new Event("change"));
results.rule = visibleJobs();
results.shown = document.getElementById("shown").textContent;
document.body.dataset.probe = JSON.stringify(results);
</script>"""


def write(tmp_path: Path, markup: str, name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(markup, encoding="utf-8")
    return path


def sample_page() -> str:
    return render_html(sample_estate(), generated_at=NOW)


def dom_after_scripts(path: Path) -> Element:
    run = dump_dom(path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert not run.script_errors, run.script_errors
    return parse(run.stdout)


def test_screenshot_is_a_drawn_page(tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    run = screenshot(write(tmp_path, sample_page()), png)
    assert run.returncode == 0, run.stderr[-2000:]
    assert not run.script_errors, run.script_errors
    image = read_png(png)
    assert (image.width, image.height) == WINDOW
    counts = colours(image)
    total = sum(counts.values())
    assert len(counts) > 100, "a blank or unstyled page has a handful of colours"
    assert max(counts.values()) / total < 0.9, "no single colour covers the page"
    assert image.pixel(5, 5)[:3] == PANEL, "the inline stylesheet was applied"
    assert counts.get((*BLOCKED_RED, 255), counts.get(BLOCKED_RED, 0)) > 50, "blocked jobs are drawn in red"


def test_script_runs_and_shows_the_filters(tmp_path: Path) -> None:
    doc = dom_after_scripts(write(tmp_path, sample_page()))
    assert doc.find("html").attrs.get("data-js") == "ready"
    assert "hidden" not in doc.find("form", id="filters").attrs
    assert "hidden" not in doc.find("p", id="graph-tools").attrs
    assert doc.find("p", id="shown").text() == "9 of 9 jobs shown"


def test_filters_and_search_hide_jobs_and_dim_their_flows(tmp_path: Path) -> None:
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", sample_page())
    page = page.replace("</body>", PROBE + "</body>")  # the probe runs after the report's script
    doc = dom_after_scripts(write(tmp_path, page))
    results = json.loads(doc.find("body").attrs["data-probe"])
    assert sorted(results["blocked"]) == [
        "airflow:moh_export.share_readmissions",
        "dbt:model.nz_social.int_client_health",
        "sql:jobs/benefit_health.sql",
        "sql:jobs/broken.sql",
    ]
    assert results["dimmed"] > 0 and results["undimmedBlocked"] > 0
    assert "dbt:model.nz_social.stg_clients" not in results["search"]
    assert {"sql:jobs/benefit_health.sql", "dbt:model.nz_social.stg_health_events"} <= set(results["search"])
    assert results["rule"] == ["sql:jobs/waikato_contacts.sql"]
    assert results["shown"] == "1 of 9 jobs shown"


def test_content_security_policy_blocks_an_injected_script(tmp_path: Path) -> None:
    injected = '<script>document.documentElement.dataset.injected = "yes";</script>'
    path = write(tmp_path, sample_page().replace("</body>", injected + "</body>"))
    run = dump_dom(path)
    assert run.returncode == 0
    doc = parse(run.stdout)
    assert "data-injected" not in doc.find("html").attrs
    assert doc.find("html").attrs.get("data-js") == "ready", "the report's own script is allowed"
    assert any("Content Security Policy" in line for line in run.console)


def test_hostile_names_stay_inert_in_the_browser(tmp_path: Path) -> None:
    page = render_html([hostile_verdict(), *sample_estate()], generated_at=NOW)
    doc = dom_after_scripts(write(tmp_path, page))
    tags = {e.tag for e in doc.iter()}
    assert not tags & {"img", "iframe", "b", "i"}
    assert len(doc.find_all("script")) == 1
    assert doc.find("p", id="shown").text() == "10 of 10 jobs shown"


def test_without_its_script_every_job_and_detail_is_shown(tmp_path: Path) -> None:
    """As with JavaScript off: headless Chromium cannot screenshot or dump the DOM with scripting
    disabled, so the page's CSP is made to refuse the report's script instead."""
    allowed = f"script-src &#x27;{csp_hash(asset('report.js'))}&#x27;"
    page = sample_page()
    assert allowed in page
    page = page.replace(allowed, "script-src &#x27;none&#x27;")
    path = write(tmp_path, page)
    run = dump_dom(path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert any("Content Security Policy" in line for line in run.console), "the script was refused"
    doc = parse(run.stdout)
    assert "data-js" not in doc.find("html").attrs
    assert "hidden" in doc.find("form", id="filters").attrs, "filters that cannot work are not offered"
    jobs = doc.find_all("tbody", cls="job")
    assert len(jobs) == 9 and not any("hidden" in b.attrs for b in jobs)
    assert len(doc.find_all("details", cls="job-detail")) == 9
    png = tmp_path / "nojs.png"
    assert screenshot(path, png).returncode == 0
    image = read_png(png)
    assert image.pixel(5, 5)[:3] == PANEL and len(colours(image)) > 100
