"""A cosmos task that gives dbt its own vars or env: the manifest's compiled SQL was rendered with
other values, so a model that reads one of them cannot be decided from it and the task fails
closed; vars the model does not read change nothing.

One real dbt-duckdb project compiled once, decided through ``decide_dbt_node`` on real cosmos
operators (built without Airflow's DAG machinery, as the guard sees them after rendering).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.errors import KaitiakiError
from tests.airflow.conftest import BIN, RUN_TIMEOUT_S

pytestmark = [pytest.mark.airflow, pytest.mark.dbt]

MODELS = {
    # the column comes from a var, the manifest compiled with its default
    "by_var": "select {{ var('cols', 'region') }} from {{ source('msd', 'clients') }}",
    # the column comes from an env var read in a macro the model calls
    "by_env": "select {{ region_column() }} from {{ source('msd', 'clients') }}",
    # the purpose comes from a var in dbt_project.yml (the node's unrendered config)
    "by_config": "select region from {{ source('msd', 'clients') }}",
}
MACRO = "{% macro region_column() %}{{ env_var( \"KT_COLS\" , 'region') }}{% endmacro %}"
CONFIG = {
    "agency": "msd",
    "dialect": "duckdb",
    "decision_log": False,
    "catalog": {
        "msd.clients": {"agency": "msd", "columns": {"region": [], "full_name": ["direct_identifier"]}}
    },
    "purposes": {
        "plan": {
            "description": "Plan regional services from regions only",
            "allowed_categories": [],
            "approved_by": "MSD Data Governance Board",
            "expires": "2028-06-30",
        }
    },
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cosmos_vars")
    (root / "dbt_project.yml").write_text(
        "name: kt_vars\nversion: '1.0.0'\nconfig-version: 2\nprofile: kt_vars\n"
        "models: {kt_vars: {+meta: {kaitiaki: {purpose: plan}},\n"
        "  by_config: {+meta: {kaitiaki: {purpose: \"{{ var('kt_purpose', 'plan') }}\"}}}}}\n"
    )
    (root / "profiles.yml").write_text(
        f"kt_vars:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{root / 'kt.duckdb'}'}}\n"
    )
    (root / "models").mkdir()
    (root / "macros").mkdir()
    (root / "macros" / "region_column.sql").write_text(MACRO)
    (root / "models" / "sources.yml").write_text(
        "version: 2\nsources: [{name: msd, schema: msd, tables: [{name: clients}]}]\n"
    )
    for name, sql in MODELS.items():
        (root / "models" / f"{name}.sql").write_text(sql + "\n")
    (root / "kaitiaki.yaml").write_text(yaml.safe_dump(CONFIG))
    done = subprocess.run(
        [str(BIN / "dbt"), "compile", "--project-dir", str(root), "--profiles-dir", str(root)],
        env={"PATH": str(BIN), "HOME": str(root)},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root


def decide(project: Path, model: str, **given: Any) -> Any:
    """The guard's verdict on a cosmos run task for ``model`` with the task arguments ``given``."""
    from airflow.sdk import DAG
    from cosmos.config import ProfileConfig
    from cosmos.operators.local import DbtRunLocalOperator
    from kaitiaki_airflow.dbt_nodes import decide_dbt_node
    from kaitiaki_airflow.gates import gate_for
    from kaitiaki_airflow.locate import locate

    profile = ProfileConfig("kt_vars", "dev", profiles_yml_filepath=project / "profiles.yml")
    with DAG("kt_vars", schedule=None):
        task = DbtRunLocalOperator(
            task_id=f"{model}_run",
            project_dir=str(project),
            profile_config=profile,
            select=model,
            extra_context={
                "dbt_node_config": {"unique_id": f"model.kt_vars.{model}", "resource_type": "model"}
            },
            **given,
        )
    located = locate(task)
    assert located is not None and located.problem is None
    return decide_dbt_node(task, gate=gate_for(project / "kaitiaki.yaml"), located=located, labels={})


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


def test_the_override_would_change_the_decision(project: Path) -> None:
    """The blocked override matters: compiled with the task's value, the model is denied."""
    from kaitiaki_dbt.decide import decide_node

    done = subprocess.run(
        [str(BIN / "dbt"), "compile", "--select", "by_var", "--vars", "{cols: full_name}",
         "--target-path", "target_full", "--project-dir", str(project), "--profiles-dir", str(project)],
        env={"PATH": str(BIN), "HOME": str(project)},
        cwd=project, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = decide_node(
        project / "target_full" / "manifest.json",
        "model.kt_vars.by_var",
        config=project / "kaitiaki.yaml",
        project_dir=project,
    )
    assert found.allowed is False


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
