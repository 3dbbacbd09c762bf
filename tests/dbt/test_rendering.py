"""SQL a model runs while dbt renders it (``run_query`` in its Jinja), on real dbt-duckdb.

dbt executes it while it compiles the model: during ``kaitiaki dbt check`` itself, and again as it
runs the model. Without kaitiaki.rendering, ``{% do run_query("create table … as select full_name,
ird_number …") %}`` beside a harmless SELECT copied 300 names and IRD numbers, the model allowed,
by the check alone. A read rendered into the SQL (``dbt_utils.get_column_values``' way) is the twin.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dbt.conftest import copy_example, run_dbt_command
from tests.dbt.routes import tables

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

COUNTS = """
select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
"""
MODELS = {
    "render_leak": '{% do run_query("create table main.render_leak_copy as select full_name, ird_number '
    'from msd.clients") %}' + COUNTS,
    "render_at_run": "{% if execute and flags.WHICH in ('run', 'build') %}"
    '{% do run_query("create table main.render_run_copy as select full_name from msd.clients") %}'
    "{% endif %}" + COUNTS,
    "render_read": "{% set found = run_query('select distinct region from msd.clients') %}" + COUNTS,
}
PROPERTIES = "models:\n" + "".join(
    f"  - name: {name}\n    config: {{meta: {{kaitiaki: {{purpose: benefit-uptake}}}}}}\n" for name in MODELS
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = copy_example(tmp_path_factory.mktemp("rendering") / "nz_social")
    seeded = run_dbt_command(path, "seed", "--quiet")  # before the models: render_read reads a seed
    assert seeded.exit_code == 0, seeded.stderr
    for name, sql in MODELS.items():
        (path / "models" / "marts" / f"{name}.sql").write_text(sql)
    (path / "models" / "marts" / "_rendering.yml").write_text(PROPERTIES)
    return path


def test_a_model_that_writes_while_it_renders_is_blocked_and_the_check_runs_nothing(project: Path) -> None:
    result = run_dbt_command(project, "check", "--select", "render_leak render_read", "--format", "json")
    jobs = {job["job"]["id"]: job for job in json.loads(result.stdout)["jobs"]}
    refused = jobs["dbt:model.nz_social.render_leak#render-write.0"]
    assert result.exit_code == 1, result.stderr
    assert [v["rule"] for v in refused["decision"]["violations"]] == ["SYS-01"]
    assert "writes while dbt renders it" in refused["decision"]["violations"][0]["message"]
    assert "main.render_leak_copy" not in tables(project / "nz_social.duckdb")
    # the twin reads while it renders (as dbt_utils.get_column_values does): allowed, nothing refused
    assert jobs["dbt:model.nz_social.render_read"]["decision"]["allow"]
    assert "dbt:model.nz_social.render_read#render-write.0" not in jobs


def test_a_model_that_writes_only_when_it_runs_fails_before_it_writes(project: Path) -> None:
    built = run_dbt_command(project, "build", "--select", "+render_at_run", "--exclude", "resource_type:test")
    assert built.exit_code == 2, built.stderr  # the model failed: dbt did not succeed
    assert "writes while dbt renders it" in built.stderr
    assert "main.render_run_copy" not in tables(project / "nz_social.duckdb")
    # the route is real: in warn mode nothing is refused and the copy is made
    warned = run_dbt_command(project, "run", "--select", "render_at_run", "--mode", "warn")
    assert warned.exit_code == 0, warned.stderr
    assert "main.render_run_copy" in tables(project / "nz_social.duckdb")


def test_a_passed_through_compile_refuses_a_write_while_it_renders(project: Path) -> None:
    """dbt compile is dbt's own (nothing decided), but it renders models: the write is refused."""
    compiled = run_dbt_command(project, "compile", "--select", "render_leak")
    assert compiled.exit_code != 0
    assert "main.render_leak_copy" not in tables(project / "nz_social.duckdb")
    read = run_dbt_command(project, "compile", "--select", "render_read")
    assert read.exit_code == 0, read.stderr
