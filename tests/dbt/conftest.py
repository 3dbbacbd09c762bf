"""Fixtures for the dbt adapter tests: real dbt-core + dbt-duckdb on a temporary copy of the example.

One copy of examples/nz_social is built once per session with ``kaitiaki dbt build`` (≈20 s);
the tests that only need its compiled manifest read that copy's target/manifest.json without
running dbt again. Tests that change the project work on their own copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_runner import CliResult, run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nz_social"
NOT_COPIED = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal", ".kaitiaki")
USER_EXCLUDED = "senior_students_by_region"


def copy_example(destination: Path) -> Path:
    """A fresh copy of the example project (sources, seeds, config; no build outputs)."""
    shutil.copytree(EXAMPLE, destination, ignore=NOT_COPIED)
    return destination


@contextlib.contextmanager
def database_at(path: Path) -> Iterator[None]:
    """Point the example's profile (env var NZ_SOCIAL_DUCKDB) at ``path`` for dbt runs."""
    before = os.environ.get("NZ_SOCIAL_DUCKDB")
    os.environ["NZ_SOCIAL_DUCKDB"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NZ_SOCIAL_DUCKDB", None)
        else:
            os.environ["NZ_SOCIAL_DUCKDB"] = before


def run_dbt_command(project: Path, *args: str) -> CliResult:
    """``kaitiaki dbt <args> --project-dir P --profiles-dir P`` in-process, on P's own database."""
    with database_at(project / "nz_social.duckdb"):
        return run_cli(
            ["dbt", *args, "--project-dir", str(project), "--profiles-dir", str(project)], cwd=project
        )


@dataclass(frozen=True)
class BuiltProject:
    path: Path
    build: CliResult
    check: CliResult

    @property
    def manifest(self) -> Path:
        return self.path / "target" / "manifest.json"

    @property
    def database(self) -> Path:
        return self.path / "nz_social.duckdb"

    def manifest_data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.manifest.read_text())
        return data


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """The example, built once by ``kaitiaki dbt build`` (with one user ``--exclude`` to keep).

    Then checked once through dbt (``kaitiaki dbt check --format json``), which compiles every
    model: the build compiled only what it selected, and the manifest tests want them all.
    """
    project = copy_example(tmp_path_factory.mktemp("built") / "nz_social")
    build = run_dbt_command(project, "build", "--exclude", USER_EXCLUDED)
    check = run_dbt_command(project, "check", "--format", "json", "--no-cache")
    return BuiltProject(project, build, check)


def write_manifest(directory: Path, data: dict[str, Any]) -> Path:
    """A manifest.json in its own target folder (so no catalog or cache is shared)."""
    target = directory / "target"
    target.mkdir(parents=True, exist_ok=True)
    path = target / "manifest.json"
    path.write_text(json.dumps(data))
    return path
