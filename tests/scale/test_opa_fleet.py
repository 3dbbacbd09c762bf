"""Scale-out: the gate against a fleet of two OPA-compatible servers behind one URL list.

Both servers load the same bundle, built by `kaitiaki policy bundle build` from the same
kaitiaki.yaml, and listen on 127.0.0.1 only. With both up, the decisions equal the embedded
engine's whichever server is listed first; with the first down (refusing connections, hanging past
the timeout, or answering HTTP 500) the second answers with the same decisions; with both down
every job is blocked by SYS-02 and the decision log records the block: never an allow.

The servers are tests/support/opa_server.py (OPA's REST data API, regorus underneath), because no
`opa` binary is installed here; tests/engine runs the real binary against the same bundle when
one is on PATH. Everything else is real: the CLI, sqlglot, the gate, the dbt adapter's worker
processes and the decision log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.gen_manifest import write
from tests.e2e.cli_runner import CliResult, run_cli
from tests.support.opa_server import OpaTestServer

TIMEOUT_MS = 1000
PURPOSE = "benefit-uptake"

CONFIG = """\
agency: msd
mode: enforce
identifier_issuers: {nhi: moh, msd_client: msd}
decision_log: .kaitiaki/decisions.jsonl
catalog:
  msd.clients:
    agency: msd
    columns:
      client_number: [unique_identifier:msd_client]
      full_name: [direct_identifier]
      phone: [direct_identifier]
      region: []
      benefit_type: []
      opted_out: [opt_out_flag]
  health.patients:
    agency: moh
    columns:
      nhi: [unique_identifier:nhi]
      diagnosis_code: ["sensitive:health"]
  stats.spine:
    agency: stats
    columns:
      client_number: [unique_identifier:msd_client]
      nhi: [unique_identifier:nhi]
purposes:
  benefit-uptake:
    description: Measure benefit uptake by region to plan service centres; aggregate statistics only.
    allowed_categories: [unique_identifier, opt_out_flag]
    approved_by: MSD Data Governance Board
    expires: 2099-06-30
    linking_approved: false
"""

JOBS = {
    "uptake_by_region.sql": """\
create table analytics.benefit_uptake_by_region as
select region, count(distinct client_number) as clients
from msd.clients
where not opted_out
group by region
having count(distinct client_number) >= 10
""",
    "client_extract.sql": """\
create table exports.client_extract as
select client_number, full_name, phone, region
from msd.clients
where not opted_out
""",
    "benefit_health.sql": """\
create table analytics.benefit_health as
select c.client_number, c.benefit_type, p.diagnosis_code
from msd.clients c
join stats.spine s on s.client_number = c.client_number
join health.patients p on p.nhi = s.nhi
""",
}


@dataclass(frozen=True)
class Estate:
    """SQL jobs and their kaitiaki.yaml, the bundle built from it, and the embedded engine's report."""

    folder: Path
    bundle: Path
    embedded: dict[str, Any]


def engine_line(*urls: str) -> str:
    return f"engine: {{kind: opa, urls: [{', '.join(urls)}], timeout_ms: {TIMEOUT_MS}}}\n"


def use_engine(config: Path, line: str) -> None:
    """kaitiaki.yaml with ``line`` as its engine (the only line that differs between runs)."""
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(entry for entry in lines if not entry.startswith("engine:")) + line)


def checked(result: CliResult) -> dict[str, Any]:
    assert result.exit_code in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def check_sql(folder: Path) -> tuple[int, dict[str, Any]]:
    args = ["check", *sorted(JOBS), "--purpose", PURPOSE, "--format", "json"]
    result = run_cli([*args, "--config", str(folder / "kaitiaki.yaml")], cwd=folder)
    return result.exit_code, checked(result)


def build_bundle(config: Path, out: Path) -> Path:
    """The bundle an OPA fleet would load, built by the real CLI from the fleet's kaitiaki.yaml."""
    result = run_cli(["policy", "bundle", "build", "--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    folder = tmp_path_factory.mktemp("fleet")
    (folder / "kaitiaki.yaml").write_text(CONFIG)
    for name, sql in JOBS.items():
        (folder / name).write_text(sql)
    bundle = build_bundle(folder / "kaitiaki.yaml", folder / "bundle.tar.gz")
    _, embedded = check_sql(folder)
    assert {job["decision"]["allow"] for job in embedded["jobs"]} == {True, False}
    return Estate(folder, bundle, embedded)


@pytest.fixture
def fleet(estate: Estate) -> Iterator[tuple[OpaTestServer, OpaTestServer]]:
    """Two servers loading the same bundle, stopped at the end unless a test stopped them first."""
    servers = (OpaTestServer(estate.bundle).start(), OpaTestServer(estate.bundle).start())
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
        yield servers


def test_both_up_decisions_equal_the_embedded_engine_whichever_is_first(
    estate: Estate, fleet: tuple[OpaTestServer, OpaTestServer]
) -> None:
    first, second = fleet
    config = estate.folder / "kaitiaki.yaml"
    use_engine(config, engine_line(first.url, second.url))
    _, report = check_sql(estate.folder)
    assert report == estate.embedded
    assert (first.requests, second.requests) == (len(JOBS), 0)  # a URL list is an order, not a balancer
    use_engine(config, engine_line(second.url, first.url))
    _, report = check_sql(estate.folder)
    assert report == estate.embedded
    assert (first.requests, second.requests) == (len(JOBS), len(JOBS))


@pytest.mark.parametrize("failure", ["stopped", "hanging", "http 500"])
def test_first_down_the_second_answers_the_same(
    estate: Estate, fleet: tuple[OpaTestServer, OpaTestServer], failure: str
) -> None:
    first, second = fleet
    if failure == "stopped":
        first.stop()
    elif failure == "hanging":
        first.faults.delay_s = TIMEOUT_MS / 1000 * 1.5
    else:
        first.faults.status = 500
    use_engine(estate.folder / "kaitiaki.yaml", engine_line(first.url, second.url))
    exit_code, report = check_sql(estate.folder)
    assert exit_code == 1  # the denied jobs are still denied
    assert report == estate.embedded
    assert second.requests == len(JOBS)
    assert first.requests == (0 if failure == "stopped" else 1)  # then asked last while it rests


def test_both_down_blocks_every_job_by_sys02_and_logs_it(
    estate: Estate, fleet: tuple[OpaTestServer, OpaTestServer]
) -> None:
    first, second = fleet
    first.stop()
    second.faults.status = 503
    use_engine(estate.folder / "kaitiaki.yaml", engine_line(first.url, second.url))
    log = estate.folder / ".kaitiaki" / "decisions.jsonl"
    logged_before = len(log.read_text().splitlines()) if log.exists() else 0
    exit_code, report = check_sql(estate.folder)
    assert exit_code == 1
    assert len(report["jobs"]) == len(JOBS)
    assert report["allow"] is False
    for job in report["jobs"]:
        decision = job["decision"]
        assert decision["allow"] is False
        assert [v["rule"] for v in decision["violations"]] == ["SYS-02"]
        message = decision["violations"][0]["message"]
        assert f"{first.url}: cannot connect" in message
        assert f"{second.url}: HTTP 503" in message
    records = [json.loads(line) for line in log.read_text().splitlines()[logged_before:]]
    assert len(records) == len(JOBS)
    assert all(record["result"]["allow"] is False for record in records)
    assert run_cli(["log", "verify", str(log)]).exit_code == 0


@pytest.fixture
def dbt_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    """A generated 96-model manifest, checked by two worker processes; the embedded engine's report."""
    write(tmp_path, models=96, seed=3)
    monkeypatch.setenv("KAITIAKI_WORKERS", "2")
    return tmp_path, check_manifest(tmp_path)


def check_manifest(project: Path) -> dict[str, Any]:
    args = ["dbt", "check", "--manifest", str(project / "target" / "manifest.json"), "--no-cache"]
    return checked(run_cli([*args, "--format", "json", "--config", str(project / "kaitiaki.yaml")]))


def test_dbt_workers_fail_over_and_fail_closed(
    dbt_project: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    project, embedded = dbt_project
    assert {job["decision"]["allow"] for job in embedded["jobs"]} == {True, False}
    bundle = build_bundle(project / "kaitiaki.yaml", tmp_path_factory.mktemp("bundle") / "bundle.tar.gz")
    with ExitStack() as stack:
        first, second = (OpaTestServer(bundle).start(), OpaTestServer(bundle).start())
        stack.callback(second.stop)
        first.stop()
        use_engine(project / "kaitiaki.yaml", engine_line(first.url, second.url))
        assert check_manifest(project) == embedded
        assert second.requests == len(embedded["jobs"])
        second.stop()
        blocked = check_manifest(project)
    assert len(blocked["jobs"]) == len(embedded["jobs"])
    assert not any(job["decision"]["allow"] for job in blocked["jobs"])
    assert all("SYS-02" in {v["rule"] for v in job["decision"]["violations"]} for job in blocked["jobs"])
