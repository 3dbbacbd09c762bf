"""An engine fault blocks only while it lasts: nothing remembers a block the policies never made.

Real dbt-core with dbt-duckdb and the OPA engine against the local OPA-API server: the server
answers HTTP 500, then recovers; the next ``kaitiaki dbt check`` (as users run it, cache on)
must ask the engine again and allow the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli_runner import run_cli
from tests.policies.engines import bundle_for
from tests.reliability.entry_points import CONTROL, dbt_database, write_dbt_project
from tests.reliability.faults import Failure, decision_records, write_config
from tests.support.opa_server import serve_bundle

pytestmark = [pytest.mark.dbt, pytest.mark.slow]


def test_a_recovered_engine_is_asked_again_not_replayed_from_the_cache(tmp_path: Path) -> None:
    project = write_dbt_project(tmp_path / "project", [Failure(CONTROL, "the control model", "", ())])
    with serve_bundle(bundle_for(tmp_path / "bundle.tar.gz")) as server:
        config = write_config(tmp_path / "config", "opa_500", {"opa_500": server.url})
        args = ["dbt", "check", "--config", str(config), "--project-dir", str(project)]
        args += ["--profiles-dir", str(project), "--select", CONTROL]
        with dbt_database(tmp_path / "config" / "warehouse.duckdb"):
            server.faults.status = 500
            during = run_cli(args, cwd=tmp_path)
            server.faults.status = None
            after = run_cli(args, cwd=tmp_path)
    assert during.exit_code == 1 and "HTTP 500" in during.stdout, during.stdout + during.stderr
    assert after.exit_code == 0, after.stdout + after.stderr
    records = decision_records(tmp_path / "config", f"dbt:model.reliability.{CONTROL}")
    assert [(r["result"]["allow"], [v["rule"] for v in r["result"]["violations"]]) for r in records] == [
        (False, ["SYS-02"]),
        (True, []),
    ]
    # Answers from a remote fleet are never cached (the key cannot see the bundle it loaded).
    assert not (project / "target" / "kaitiaki-cache.json").exists()
