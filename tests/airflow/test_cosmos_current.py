"""A cosmos task is decided from the manifest only while the project's files are the ones it was
compiled from: not just the model's file, but the ephemeral models dbt inlines into it and the
macros it calls (its own and an installed package's). Editing any of them changes the SQL dbt
runs, so the task fails closed; an edit that changes nothing dbt renders for the model does not.

One real dbt-duckdb project compiled once (with a local package installed by ``dbt deps``),
copied per case and decided through ``decide_dbt_node`` on a real cosmos operator.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.errors import KaitiakiError
from tests.airflow.test_cosmos_vars import dbt_run

pytestmark = [pytest.mark.airflow, pytest.mark.dbt]

MODELS = {
    "eph": "{{ config(materialized='ephemeral') }}\nselect region from {{ source('msd', 'clients') }}",
    "by_eph": "select region from {{ ref('eph') }}",
    "by_macro": "select {{ region_column() }} from {{ source('msd', 'clients') }}",
    "by_package": "select {{ shared.area() }} from {{ source('msd', 'clients') }}",
}
MACROS = "{% macro region_column() %}region{% endmacro %}\n\n{% macro unused_here() %}1{% endmacro %}\n"
PACKAGE_MACRO = "{% macro area() %}region{% endmacro %}\n"
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
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cosmos_current") / "project"
    package = root.parent / "shared"
    (package / "macros").mkdir(parents=True)
    (package / "dbt_project.yml").write_text("name: shared\nversion: '1.0.0'\nconfig-version: 2\n")
    (package / "macros" / "area.sql").write_text(PACKAGE_MACRO)
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: kt_cur\nversion: '1.0.0'\nconfig-version: 2\nprofile: kt_cur\n"
        "models: {kt_cur: {+meta: {kaitiaki: {purpose: plan}}}}\n"
    )
    (root / "packages.yml").write_text(f"packages: [{{local: '{package}'}}]\n")
    (root / "profiles.yml").write_text(
        f"kt_cur:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{root / 'kt.duckdb'}'}}\n"
    )
    (root / "macros" / "columns.sql").write_text(MACROS)
    (root / "models" / "sources.yml").write_text(
        "version: 2\nsources: [{name: msd, schema: msd, tables: [{name: clients}]}]\n"
    )
    for name, sql in MODELS.items():
        (root / "models" / f"{name}.sql").write_text(sql + "\n")
    (root / "kaitiaki.yaml").write_text(yaml.safe_dump(CONFIG))
    dbt_run(root, "deps")
    dbt_run(root, "compile", "--target-path", "target")
    return root


@pytest.fixture
def project(compiled: Path, tmp_path: Path) -> Path:
    """A copy of the compiled project, for one case to edit."""
    copy = tmp_path / "project"
    shutil.copytree(compiled, copy, symlinks=True)
    manifest = copy / "target" / "manifest.json"
    manifest.write_text(manifest.read_text().replace(str(compiled), str(copy)))
    return copy


def decide(project: Path, model: str) -> Any:
    from airflow.sdk import DAG
    from cosmos.config import ProfileConfig
    from cosmos.operators.local import DbtRunLocalOperator
    from kaitiaki_airflow.dbt_nodes import decide_dbt_node
    from kaitiaki_airflow.gates import gate_for
    from kaitiaki_airflow.locate import locate

    profile = ProfileConfig("kt_cur", "dev", profiles_yml_filepath=project / "profiles.yml")
    with DAG("kt_cur", schedule=None):
        task = DbtRunLocalOperator(
            task_id=f"{model}_run",
            project_dir=str(project),
            manifest_filepath=str(project / "target" / "manifest.json"),
            profile_config=profile,
            select=model,
            extra_context={
                "dbt_node_config": {"unique_id": f"model.kt_cur.{model}", "resource_type": "model"}
            },
        )
    located = locate(task)
    assert located is not None and located.problem is None
    return decide_dbt_node(task, gate=gate_for(project / "kaitiaki.yaml"), located=located, labels={})


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("model", ["by_eph", "by_macro", "by_package"])
def test_an_unedited_project_is_decided_from_its_manifest(project: Path, model: str) -> None:
    assert decide(project, model).decision.allow is True


@pytest.mark.parametrize(
    ("model", "file", "named"),
    [
        ("by_eph", "models/eph.sql", "model.kt_cur.eph"),
        ("by_macro", "macros/columns.sql", "macro.kt_cur.region_column"),
        ("by_package", "dbt_packages/shared/macros/area.sql", "macro.shared.area"),
    ],
)
def test_an_edited_file_the_model_is_rendered_from_fails_closed(
    project: Path, model: str, file: str, named: str
) -> None:
    """Each edit turns the model's region into full_name when dbt runs it: decided from the
    manifest it would be allowed as region."""
    edit(project / file, "region", "full_name")
    with pytest.raises(KaitiakiError, match="compiled") as raised:
        decide(project, model)
    assert named in str(raised.value) and "compile the project again" in (raised.value.hint or "")


def test_an_edit_outside_what_the_model_renders_changes_nothing(project: Path) -> None:
    edit(project / "macros" / "columns.sql", "{% macro unused_here() %}1", "{% macro unused_here() %}2")
    (project / "macros" / "other.sql").write_text("{% macro other() %}full_name{% endmacro %}\n")
    assert decide(project, "by_macro").decision.allow is True
    assert decide(project, "by_eph").decision.allow is True


def test_a_macro_file_that_is_gone_fails_closed(project: Path) -> None:
    (project / "macros" / "columns.sql").unlink()
    with pytest.raises(KaitiakiError, match=r"macro\.kt_cur\.region_column"):
        decide(project, "by_macro")
