"""The example SQL estate (examples/sql_jobs) through the real gate — real sqlglot analysis, real
classification, the DPUP Rego library on the embedded engine — rendered as the HTML report, and
the same through ``kaitiaki check --format html``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kaitiaki.config import load_settings
from kaitiaki.gate import Gate, sql_job
from kaitiaki.model import Verdict
from kaitiaki.report.html import render_html
from tests.e2e.cli_runner import run_cli
from tests.report_html.dom import Element, parse
from tests.report_html.png import colours, read_png
from tests.report_html.screenshot import chromium, screenshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "sql_jobs"
DBT_EXAMPLE = EXAMPLES / "nz_social"
JOBS = {  # file -> (purpose, tags), as `make demo` checks them
    "uptake_by_region.sql": ("benefit-uptake", ()),
    "waikato_contacts.sql": ("client-contact", ("retention:P1Y",)),
    "benefit_health.sql": ("benefit-health-outcomes", ("retention:P1Y",)),
    "broken.sql": ("benefit-uptake", ()),
}


@pytest.fixture(scope="module")
def estate_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example, so the decision log is written to a temporary directory."""
    root = tmp_path_factory.mktemp("sql_jobs")
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".kaitiaki"))
    return root


@pytest.fixture(scope="module")
def verdicts(estate_dir: Path) -> list[Verdict]:
    settings = load_settings(estate_dir / "kaitiaki.yaml")
    gate = Gate(settings)
    decided = []
    for name, (purpose, tags) in JOBS.items():
        path = estate_dir / "jobs" / name
        job = sql_job(
            path,
            display_path=f"jobs/{name}",
            sql=path.read_text(encoding="utf-8"),
            dialect=None,
            purpose=purpose,
            destination=settings.default_destination,
            tags=tags,
        )
        decided.append(gate.decide(job))
    return decided


@pytest.fixture(scope="module")
def page(verdicts: list[Verdict]) -> str:
    return render_html(verdicts, title="examples/sql_jobs")


def edge_titles(doc: Element) -> dict[str, Element]:
    return {
        g.find("title").text().split("\n")[0]: g
        for svg in doc.find_all("svg", cls="flow-graph")
        for g in svg.find_all("g", cls="edge")
    }


def test_every_job_shows_the_gates_decision(page: str, verdicts: list[Verdict]) -> None:
    doc = parse(page)
    rows = {b.find(cls="job-id").text(): b for b in doc.find_all("tbody", cls="job")}
    assert set(rows) == {f"sql:jobs/{name}" for name in JOBS}
    for verdict in verdicts:
        decision = rows[verdict.job.id].attrs["data-decision"]
        assert (decision == "blocked") == verdict.blocked
        rules = (
            rows[verdict.job.id].find("ul", cls="violations").text() if verdict.decision.violations else ""
        )
        assert all(v.rule in rules for v in verdict.decision.violations)
    assert "SYS-01" in rows["sql:jobs/broken.sql"].text()
    assert rows["sql:jobs/uptake_by_region.sql"].attrs["data-decision"] == "allowed"


def test_graph_shows_the_real_lineage_with_catalog_categories(page: str, verdicts: list[Verdict]) -> None:
    edges = edge_titles(parse(page))
    linked = edges["benefits → analytics.benefit_health"]
    assert "blocked" in linked.classes
    assert "client_id [raw] unique_identifier:msd_client" in linked.find("title").text()
    assert "blocked" in edges["health_extract → analytics.benefit_health"].classes
    counted = edges["service_events → uptake_by_region.sql"]
    assert "allowed" in counted.classes
    assert "client_key→clients [Σ aggregate] unique_identifier:msd_client" in counted.find("title").text()
    broken = next(v for v in verdicts if v.job.id == "sql:jobs/broken.sql")
    assert broken.facts is not None and not broken.facts.lineage


def test_check_format_html_through_the_cli(estate_dir: Path) -> None:
    result = run_cli(
        [
            "check",
            "jobs/uptake_by_region.sql",
            "jobs/broken.sql",
            "--purpose",
            "benefit-uptake",
            "--format",
            "html",
        ],
        cwd=estate_dir,
    )
    assert result.exit_code == 1, result.stderr
    doc = parse(result.stdout)
    decisions = {
        b.find(cls="job-id").text(): b.attrs["data-decision"] for b in doc.find_all("tbody", cls="job")
    }
    assert decisions == {"sql:jobs/broken.sql": "blocked", "sql:jobs/uptake_by_region.sql": "allowed"}


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_example_report_draws_in_chromium(page: str, tmp_path: Path) -> None:
    html_path = tmp_path / "report.html"
    html_path.write_text(page, encoding="utf-8")
    run = screenshot(html_path, tmp_path / "report.png")
    assert run.returncode == 0 and not run.script_errors, run.script_errors
    assert len(colours(read_png(tmp_path / "report.png"))) > 100


@pytest.mark.dbt
@pytest.mark.slow
def test_dbt_example_links_models_through_their_relations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kaitiaki dbt check --format html` on examples/nz_social (real dbt compile): a model's
    output node is its relation, so staging → intermediate → mart chains join up in the graph."""
    project = tmp_path / "nz_social"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal", ".kaitiaki")
    shutil.copytree(DBT_EXAMPLE, project, ignore=ignore)
    monkeypatch.setenv("NZ_SOCIAL_DUCKDB", str(project / "nz_social.duckdb"))
    args = ["dbt", "check", "--project-dir", str(project), "--profiles-dir", str(project), "--format", "html"]
    result = run_cli(args, cwd=project)
    assert result.exit_code in (0, 1), result.stderr
    doc = parse(result.stdout)
    nodes = [*(DBT_EXAMPLE / "models").rglob("*.sql"), *(DBT_EXAMPLE / "seeds").glob("*.csv")]
    jobs = sorted(b.find(cls="job-name").text() for b in doc.find_all("tbody", cls="job"))
    assert jobs == sorted(p.stem for p in nodes)  # every model, and every seed (a load is gated too)
    edges = edge_titles(doc)
    written = {g.find("title").text().split(" (")[0] for g in doc.find_all("g", cls="written")}
    model_to_model = [title for title in edges if title.split(" → ")[0] in written]
    assert any(".staging.stg_msd_clients → " in t for t in model_to_model), sorted(edges)
