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

from kaitiaki.errors import KaitiakiError
from tests.airflow.cosmos_project import dbt_run, write_settings
from tests.airflow.cosmos_project import decide as cosmos_decide

pytestmark = [pytest.mark.airflow, pytest.mark.dbt]

MODELS = {
    "eph": "{{ config(materialized='ephemeral') }}\nselect region from {{ source('msd', 'clients') }}",
    "by_eph": "select region from {{ ref('eph') }}",
    "by_macro": "select {{ region_column() }} from {{ source('msd', 'clients') }}",
    "by_package": "select {{ shared.area() }} from {{ source('msd', 'clients') }}",
}
MACROS = "{% macro region_column() %}region{% endmacro %}\n\n{% macro unused_here() %}1{% endmacro %}\n"
PACKAGE_MACRO = "{% macro area() %}region{% endmacro %}\n"


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
    (root / "macros" / "columns.sql").write_text(MACROS)
    (root / "models" / "sources.yml").write_text(
        "version: 2\nsources: [{name: msd, schema: msd, tables: [{name: clients}]}]\n"
    )
    for name, sql in MODELS.items():
        (root / "models" / f"{name}.sql").write_text(sql + "\n")
    write_settings(root, "kt_cur")
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
    return cosmos_decide(project, f"model.kt_cur.{model}", model)


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


@pytest.mark.parametrize(
    "wrapped",
    [
        "{{# {old} #}}\n{{% macro region_column() %}}full_name{{% endmacro %}}",
        "{{% raw %}}{old}{{% endraw %}}\n{{% macro region_column() %}}full_name{{% endmacro %}}",
    ],
)
def test_the_manifests_macro_kept_aside_beside_a_new_definition_fails_closed(
    project: Path, wrapped: str
) -> None:
    """The manifest's macro text still in its file, but commented out (or in a raw block) beside a
    new definition of the same name: dbt runs the new one (full_name), and a check that the text
    is somewhere in the file decided the old one (region). Real dbt parses the edited file as
    this test expects: the new definition is the only macro of that name."""
    old = "{% macro region_column() %}region{% endmacro %}"
    edit(project / "macros" / "columns.sql", old, wrapped.format(old=old))
    dbt_run(project, "parse", "--target-path", "reparsed")
    assert "full_name" in (project / "reparsed" / "manifest.json").read_text()
    with pytest.raises(KaitiakiError, match=r"does not hold the macro macro\.kt_cur\.region_column"):
        decide(project, "by_macro")


def test_a_name_that_dbt_matches_more_widely_fails_closed(project: Path) -> None:
    """dbt's bare-name selection also matches the first part of every node's fqn (the project's
    or a package's name) and a source's table: a model named kt_cur selected by name ran every
    model of the project, and a model named clients ran the source msd.clients's tests too. The
    task was decided for the one model. Real dbt compile; the twin (by_macro) stays decided."""
    (project / "models" / "kt_cur.sql").write_text("select full_name from {{ source('msd', 'clients') }}\n")
    (project / "models" / "clients.sql").write_text("select region from {{ source('msd', 'clients') }}\n")
    dbt_run(project, "compile", "--target-path", "target")
    for name in ("kt_cur", "clients"):
        with pytest.raises(KaitiakiError, match="dbt would run what kaitiaki did not decide"):
            decide(project, name)
    assert decide(project, "by_macro").decision.allow is True
