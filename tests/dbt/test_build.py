"""``kaitiaki dbt build|run``: denied models and their descendants never reach the database."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from kaitiaki.report.decision_log import verify
from tests.dbt.conftest import USER_EXCLUDED, BuiltProject, copy_example, run_dbt_command

pytestmark = pytest.mark.dbt

BLOCKED = {
    "marts.nhi_benefit_match",
    "marts.client_snapshot",
    "exports.school_ethnicity_report",
    "exports.client_profile_offshore",
}
DESCENDANT = "marts.benefit_health_summary"
ALLOWED = {
    "staging.stg_msd_clients",
    "staging.stg_moh_patients",
    "staging.stg_moe_students",
    "staging.stg_ot_children_in_care",
    "intermediate.int_client_keys",
    "intermediate.int_child_health_link",
    "intermediate.int_student_enrolments",
    "marts.benefit_uptake_by_region",
    "marts.children_in_care_by_placement",
    "marts.winter_energy_outreach",
}
SEEDS = {
    "msd.clients",
    "health.patients",
    "education.students",
    "oranga_tamariki.children_in_care",
    "stats.spine",
}


def relations(database: Path) -> set[str]:
    """Every table and view in the DuckDB file, as ``schema.name``.

    Not read-only: dbt-duckdb keeps its connection open in this process, and DuckDB refuses a
    second connection to the same file with a different configuration.
    """
    connection = duckdb.connect(str(database))
    try:
        rows = connection.execute("select table_schema, table_name from information_schema.tables").fetchall()
    finally:
        connection.close()
    return {f"{schema}.{name}" for schema, name in rows}


def test_blocked_models_and_descendants_do_not_exist_allowed_ones_do(built: BuiltProject) -> None:
    assert built.build.exit_code == 1, built.build.stderr
    present = relations(built.database)
    assert present >= ALLOWED
    assert present >= SEEDS
    assert not (BLOCKED | {DESCENDANT}) & present
    assert f"marts.{USER_EXCLUDED}" not in present  # the user's own --exclude was kept


def test_build_summary_names_what_was_blocked_why_and_what_ran(built: BuiltProject) -> None:
    stderr = built.build.stderr
    assert "4 of 20 nodes blocked" in stderr  # 15 models (one excluded by the user), 5 seeds
    for rule in ("PM-11", "PM-05", "SV-06", "SV-02"):
        assert rule in stderr
    assert "excluded with them (downstream): benefit_health_summary" in stderr
    assert "dbt ran" in stderr and "stg_msd_clients (success)" in stderr
    assert built.build.stdout == ""  # no --format: stdout stays empty


def test_every_decision_is_in_the_hash_chained_log(built: BuiltProject) -> None:
    log = built.path / ".kaitiaki" / "decisions.jsonl"
    result = verify(log)
    assert result.ok
    text = log.read_text()
    assert "dbt:model.nz_social.client_profile_offshore" in text
    assert "Waikato" not in text  # facts about columns only, never values


def test_warn_mode_runs_everything(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "nz_social")
    result = run_dbt_command(project, "build", "--mode", "warn", "--select", "+client_snapshot")
    assert result.exit_code == 0, result.stderr
    assert "denied (mode warn: running anyway)" in result.stderr
    assert "marts.client_snapshot" in relations(project / "nz_social.duckdb")


def test_dbt_run_failure_exits_2_with_dbts_error(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "nz_social")
    (project / "models" / "marts" / "bad_cast.sql").write_text(
        "select cast('not a number' as integer) as n\n"
    )
    result = run_dbt_command(project, "run", "--select", "bad_cast", "--format", "json")
    assert result.exit_code == 2, result.stderr
    assert "Conversion Error" in result.stderr  # DuckDB's message, through dbt
    assert "dbt run did not succeed" in result.stderr
    assert '"allow": true' in result.stdout  # it was allowed; dbt itself failed
