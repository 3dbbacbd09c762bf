"""``kaitiaki waivers list``: every waiver's state, what is expiring, and what no decision used."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.e2e.cli_runner import run_cli
from tests.support.clients_estate import CLIENTS_CATALOG, CONTACT_PURPOSE, CONTACTS_SQL, REGIONS_SQL

TODAY = dt.datetime.now(dt.timezone.utc).date()

CONFIG = (
    "agency: msd\ndecision_log: decisions.jsonl\n"
    + CLIENTS_CATALOG
    + "default_purpose: contact\npurposes:\n"
    + CONTACT_PURPOSE
    + "    expires: 2099-06-30\nwaivers:\n"
)


def waiver(rule: str, job: str, days: int) -> str:
    expires = (TODAY + dt.timedelta(days=days)).isoformat()
    return (
        f"  - rule: {rule}\n    job: {job}\n    justification: agreed in DG-1\n"
        f"    approved_by: MSD Data Governance Board\n    expires: {expires}\n"
    )


def estate(tmp_path: Path) -> Path:
    """contacts.sql has a PM-07 finding (three identifiers); regions.sql has none."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "contacts.sql").write_text(CONTACTS_SQL)
    (tmp_path / "jobs" / "regions.sql").write_text(REGIONS_SQL)
    config = tmp_path / "kaitiaki.yaml"
    config.write_text(
        CONFIG
        + waiver("PM-07", "sql:jobs/contacts.sql", 200)  # used, in force
        + waiver("PM-07", "sql:jobs/regions.sql", 10)  # expiring, nothing to lift: unused
        + waiver("PM-05", "sql:jobs/contacts.sql", -3)  # expired: ignored
        + waiver("pm-07", "sql:jobs/contacts.sql", 100)  # invalid rule id
    )
    return config


def listing(tmp_path: Path, *args: str) -> list[dict[str, object]]:
    result = run_cli(["waivers", "list", *args, "--format", "json"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout)["waivers"])


def test_every_waiver_with_its_state(tmp_path: Path) -> None:
    estate(tmp_path)
    rows = listing(tmp_path)
    assert [(r["rule"], r["state"]) for r in rows] == [
        ("PM-07", "in force"),
        ("PM-07", "expiring"),
        ("PM-05", "ignored"),
        ("pm-07", "invalid"),
    ]
    assert rows[2]["days_left"] == -3
    assert rows[3]["problems"][0]["hint"].startswith("did you mean 'PM-07'")  # type: ignore[index]


def test_expiring_keeps_waivers_in_force_that_end_within_the_span(tmp_path: Path) -> None:
    estate(tmp_path)
    assert [r["job"] for r in listing(tmp_path, "--expiring", "30d")] == ["sql:jobs/regions.sql"]
    assert [r["job"] for r in listing(tmp_path, "--expiring", "1w")] == []
    assert len(listing(tmp_path, "--expiring", "365d")) == 2


def test_unused_from_deciding_the_paths_now(tmp_path: Path) -> None:
    estate(tmp_path)
    rows = listing(tmp_path, "jobs", "--unused")
    assert [(r["rule"], r["job"]) for r in rows] == [
        ("PM-07", "sql:jobs/regions.sql"),
        ("PM-05", "sql:jobs/contacts.sql"),
        ("pm-07", "sql:jobs/contacts.sql"),
    ]  # the in-force PM-07 waiver of contacts.sql lifted its finding: it is not listed


def test_unused_from_the_decision_log(tmp_path: Path) -> None:
    estate(tmp_path)
    assert run_cli(["check", "jobs"], cwd=tmp_path).exit_code == 0
    rows = listing(tmp_path, "--unused")
    assert ("PM-07", "sql:jobs/contacts.sql") not in [(r["rule"], r["job"]) for r in rows]
    assert ("PM-07", "sql:jobs/regions.sql") in [(r["rule"], r["job"]) for r in rows]


def test_unused_without_decisions_is_a_usage_error(tmp_path: Path) -> None:
    estate(tmp_path)
    result = run_cli(["waivers", "list", "--unused"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "--unused needs decisions" in result.stderr


def test_the_decision_log_records_ignored_waivers(tmp_path: Path) -> None:
    estate(tmp_path)
    run_cli(["check", "jobs/contacts.sql"], cwd=tmp_path)
    record = json.loads((tmp_path / "decisions.jsonl").read_text().splitlines()[-1])
    assert record["labels"]["job"] == "sql:jobs/contacts.sql"
    assert record["result"]["ignored_waivers"] == [
        {"rule": "PM-05", "reason": "it has expired or has no readable expiry date"}
    ]
    assert run_cli(["log", "verify", "decisions.jsonl"], cwd=tmp_path).exit_code == 0


def test_text_listing_names_state_days_and_use(tmp_path: Path) -> None:
    estate(tmp_path)
    result = run_cli(["waivers", "list", "jobs"], cwd=tmp_path)
    assert "PM-07  sql:jobs/contacts.sql  in force  expires" in result.stdout
    assert "(3 days ago)" in result.stdout
    assert "  unused" in result.stdout and "  used" in result.stdout


def test_the_html_report_lists_every_waiver_with_its_state(tmp_path: Path) -> None:
    config = estate(tmp_path)
    config.write_text(config.read_text() + waiver("PM-10", "sql:jobs/gone.sql", 100))
    result = run_cli(["report", "jobs", "--out", "estate.html"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "estate.html").read_text()
    panel = page.split('<section id="waivers"', 1)[1].split("</section>", 1)[0]
    for state in ("in force", "unused", "ignored", "matches no job here"):
        assert f">{state}</span>" in panel, state
    assert "sql:jobs/gone.sql" in panel
