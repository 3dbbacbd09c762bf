"""A cosmos task that gives dbt its own vars or env: the manifest's compiled SQL was rendered with
other values, so a model that reads one of them cannot be decided from it and the task fails
closed, unless dbt's run_results.json beside the manifest shows it was compiled with the same
vars; vars the model does not read change nothing.

One real dbt-duckdb project compiled once, decided through ``decide_dbt_node`` on real cosmos
operators (built without Airflow's DAG machinery, as the guard sees them after rendering).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from kaitiaki.errors import KaitiakiError
from tests.airflow.cosmos_project import dbt_run, write_settings
from tests.airflow.cosmos_project import decide as cosmos_decide

pytestmark = [pytest.mark.airflow, pytest.mark.dbt]

MODELS = {
    # the column comes from a var, the manifest compiled with its default
    "by_var": "select {{ var('cols', 'region') }} from {{ source('msd', 'clients') }}",
    # the column comes from an env var read in a macro the model calls
    "by_env": "select {{ region_column() }} from {{ source('msd', 'clients') }}",
    # the purpose comes from a var in dbt_project.yml (the node's unrendered config)
    "by_config": "select region from {{ source('msd', 'clients') }}",
    # the table comes from a source whose schema is a var (sources.yml)
    "by_source": "select region from {{ source('moved', 'clients') }}",
}
MACRO = "{% macro region_column() %}{{ env_var( \"KT_COLS\" , 'region') }}{% endmacro %}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cosmos_vars")
    (root / "dbt_project.yml").write_text(
        "name: kt_vars\nversion: '1.0.0'\nconfig-version: 2\nprofile: kt_vars\n"
        "models: {kt_vars: {+meta: {kaitiaki: {purpose: plan}},\n"
        "  by_config: {+meta: {kaitiaki: {purpose: \"{{ var('kt_purpose', 'plan') }}\"}}}}}\n"
    )
    (root / "models").mkdir()
    (root / "macros").mkdir()
    (root / "macros" / "region_column.sql").write_text(MACRO)
    (root / "models" / "sources.yml").write_text(
        "version: 2\nsources: [{name: msd, schema: msd, tables: [{name: clients}]},\n"
        "  {name: moved, schema: \"{{ var('src_schema', 'msd') }}\", tables: [{name: clients}]}]\n"
    )
    for name, sql in MODELS.items():
        (root / "models" / f"{name}.sql").write_text(sql + "\n")
    write_settings(root, "kt_vars")
    dbt_compile(root, "target")
    dbt_compile(root, "target_full", "--vars", "{cols: full_name}")
    (root / "shipped").mkdir()  # the manifest alone, without dbt's run_results.json
    shutil.copy(root / "target" / "manifest.json", root / "shipped" / "manifest.json")
    return root


def dbt_compile(root: Path, target: str, *args: str) -> None:
    dbt_run(root, "compile", "--target-path", target, *args)


def decide(project: Path, model: str, manifest: str = "shipped", **given: Any) -> Any:
    """The guard's verdict on a cosmos run task for ``model`` with the task arguments ``given``."""
    return cosmos_decide(project, f"model.kt_vars.{model}", model, manifest=manifest, **given)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_with_no_vars_the_manifest_decides(project: Path, model: str) -> None:
    assert decide(project, model).decision.allow is True


@pytest.mark.parametrize(
    ("model", "given"),
    [
        ("by_var", {"vars": {"region_filter": "north"}}),  # a var the model does not read
        ("by_var", {"env": {"KT_COLS": "full_name"}}),  # an env var of the same name is not a var
        ("by_env", {"env": {"DBT_THREADS": "4"}}),
        ("by_env", {"vars": {"KT_COLS": "full_name"}}),  # a var of the env var's name
        ("by_config", {"vars": {"cols": "full_name"}}),
        ("by_source", {"vars": {"cols": "full_name"}}),
    ],
)
def test_vars_the_model_does_not_read_change_nothing(
    project: Path, model: str, given: dict[str, Any]
) -> None:
    assert decide(project, model, **given).decision.allow is True


@pytest.mark.parametrize(
    ("model", "given", "named"),
    [
        ("by_var", {"vars": {"cols": "full_name"}}, "var('cols')"),
        ("by_var", {"vars": {"COLS": "full_name", "other": 1}}, "var('cols')"),
        ("by_var", {"dbt_cmd_flags": ["--vars", "{cols: full_name}"]}, "var('cols')"),
        ("by_var", {"vars": "{{ var.json.dbt_vars }}"}, "var('cols')"),  # left unrendered
        ("by_var", {"interceptors": [print]}, "var('cols')"),  # may set vars before dbt runs
        ("by_env", {"env": {"KT_COLS": "full_name"}}, "env_var('KT_COLS')"),  # read in a macro
        ("by_env", {"interceptors": [print]}, "env_var('KT_COLS')"),
        ("by_config", {"vars": {"kt_purpose": "research"}}, "var('kt_purpose')"),
        ("by_source", {"vars": {"src_schema": "health"}}, "var('src_schema')"),
    ],
)
def test_a_var_the_task_gives_and_the_model_reads_fails_closed(
    project: Path, model: str, given: dict[str, Any], named: str
) -> None:
    with pytest.raises(KaitiakiError) as raised:
        decide(project, model, **given)
    message = str(raised.value)
    assert named in message and f"model.kt_vars.{model}" in message and f"{model}_run" in message
    assert "compile the manifest with the same vars" in (raised.value.hint or "")
    assert "run_results.json" in (raised.value.hint or "")


@pytest.mark.parametrize(
    ("manifest", "given", "blocked"),
    [
        ("target", {"vars": {"cols": "full_name"}}, True),  # compiled with no --vars
        ("target", {"vars": {"COLS": "full_name"}}, False),  # dbt's vars are case-sensitive
        ("target", {"dbt_cmd_flags": ["--vars", "{cols: full_name}"]}, True),  # cannot be compared
        ("target_full", {"vars": {"cols": "full_name"}}, False),  # compiled with the same value
        ("target_full", {"vars": {"cols": "region"}}, True),
        ("target_full", {}, True),  # dbt would run the default, not the compiled value
    ],
)
def test_with_dbts_run_results_the_compiled_vars_are_compared(
    project: Path, manifest: str, given: dict[str, Any], blocked: bool
) -> None:
    """dbt's run_results.json of the same compile beside the manifest shows its --vars: a task
    whose values are the compiled ones is decided from the manifest, which then holds the SQL
    dbt runs (here the full_name column, denied); any other value fails closed."""
    if blocked:
        with pytest.raises(KaitiakiError, match=r"var\('cols'\)"):
            decide(project, "by_var", manifest, **given)
        return
    verdict = decide(project, "by_var", manifest, **given)
    assert verdict.decision.allow is (manifest == "target")
    assert ("full_name" in verdict.job.sql) is (manifest == "target_full")


def test_env_vars_are_never_compared(project: Path) -> None:
    with pytest.raises(KaitiakiError, match=r"env_var\('KT_COLS'\)"):
        decide(project, "by_env", "target", env={"KT_COLS": "region"})


@pytest.mark.parametrize(
    ("code", "read"),
    [
        ("{{ var('a') }} {{ var( \"b\" , 'x') }} {{ env_var ('C') }}", {"var": {"a", "b"}, "env_var": {"C"}}),
        ("{{ var(name) }}", {"var": {None}}),  # a name computed at run time reads every name
        ("{{ var('co' ~ 'ls') }}", {"var": {None}}),
        ("{% set v = var %}{{ v('cols') }}", {"var": {None}}),  # var passed on under another name
        ("select my_var('a'), var_samp(x), env_variance from t", {}),
    ],
)
def test_the_names_a_model_reads(code: str, read: dict[str, set[str | None]]) -> None:
    from kaitiaki_airflow.dbt_nodes import names_read

    assert names_read(code) == read


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--select", "by_env"], True),  # dbt adds both selections up: by_env would run undecided
        (["--select=by_env"], True),
        (["-s", "by_env"], True),
        (["-sby_env"], True),
        (["--models", "by_env"], True),
        (["--selector", "everything"], True),
        (["--full-refresh", "--fail-fast"], False),  # the twin: flags that select nothing
        (["--vars", "{other: 1}"], False),  # read by require_same_vars, not a selection
    ],
)
def test_a_selection_in_the_tasks_own_dbt_flags_fails_closed(
    project: Path, flags: list[str], problem: bool
) -> None:
    """cosmos appends ``dbt_cmd_flags`` after its own ``--select <node>``, and dbt runs every node
    either selects: a task decided for by_var that also selects by_env in its flags ran by_env
    undecided. Real cosmos operator, read by the guard's locate."""
    from airflow.sdk import DAG
    from cosmos.config import ProfileConfig
    from cosmos.operators.local import DbtRunLocalOperator
    from kaitiaki_airflow.locate import locate

    profile = ProfileConfig("kt_vars", "dev", profiles_yml_filepath=project / "profiles.yml")
    with DAG("kt_flags", schedule=None):
        task = DbtRunLocalOperator(
            task_id="by_var_run",
            project_dir=str(project),
            manifest_filepath=str(project / "target" / "manifest.json"),
            profile_config=profile,
            select="by_var",
            dbt_cmd_flags=flags,
            extra_context={
                "dbt_node_config": {"unique_id": "model.kt_vars.by_var", "resource_type": "model"}
            },
        )
    located = locate(task)
    assert located is not None
    if problem:
        assert located.problem is not None and "not one node" in located.problem, located
    else:
        assert located.problem is None, located
