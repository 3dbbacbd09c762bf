"""A representative subset of the twins (twins.yaml) through `kaitiaki dbt check`: the same SQL as
dbt models of a small real dbt-duckdb project, each model's purpose, destination and tags in its
`meta.kaitiaki` / tags, decided in one run. The answers must match `kaitiaki check`'s."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.e2e.cli_runner import run_cli
from tests.e2e.test_twins import CASES, TWINS

SUBSET = [
    "sv06-block-having-on-rows",
    "sv06-allow-having-on-people",
    "sv06-block-count-star-after-join",
    "sv06-allow-count-star-on-person-grain",
    "sv03-block-unkeyed-md5",
    "sv03-allow-keyed-by-setting",
    "sv09-block-dob-full-postcode",
    "sv09-allow-postcode-prefix",
    "tc01-block-keeps-the-opted-out",
    "tc01-allow-not-opted-out",
    "tc01-block-left-join-consent-is-null",
    "tc01-allow-anti-join-opt-out-list",
    "sv02-block-external-offshore-despite-waiver",
    "sv02-allow-own-agent-offshore",
    "pm11-block-foreign-id-as-only-key",
    "pm11-allow-join-with-linking",
]
BY_NAME = {case["name"]: case for case in CASES}
SOURCES = {
    "msd": ["clients", "service_events", "outreach_list", "contacts", "consent", "opt_outs"],
    "health": ["admissions"],
}


def model_name(case: str) -> str:
    return case.replace("-", "_")


def model_sql(case: dict[str, Any]) -> str:
    """The case's SQL with dbt sources in place of the tables, and its meta and tags as config."""
    args = case.get("args") or ["--purpose", "plan"]
    flags = dict(zip(args[::2], args[1::2], strict=True))
    tags = [value for key, value in zip(args[::2], args[1::2], strict=True) if key == "--tag"]
    meta = {
        "purpose": flags["--purpose"],
        "destination": {
            "kind": flags.get("--destination", "internal"),
            "region": flags.get("--region", "nz"),
        },
    }
    sql = case["sql"]
    for schema, tables in SOURCES.items():
        for table in tables:
            sql = sql.replace(f"{schema}.{table} ", f"{{{{ source('{schema}', '{table}') }}}} ")
            sql = sql.replace(f"{schema}.{table})", f"{{{{ source('{schema}', '{table}') }}}})")
            if sql.endswith(f"{schema}.{table}"):
                sql = sql[: -len(f"{schema}.{table}")] + f"{{{{ source('{schema}', '{table}') }}}}"
    config = json.dumps({"meta": {"kaitiaki": meta}, "tags": tags})
    return f"{{{{ config(**{config}) }}}}\n{sql}\n"


@pytest.fixture(scope="module")
def decisions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    project = tmp_path_factory.mktemp("twins_dbt")
    (project / "dbt_project.yml").write_text(
        "name: twins\nversion: '1.0.0'\nconfig-version: 2\nprofile: twins\nmodel-paths: [models]\n"
    )
    (project / "profiles.yml").write_text(
        f"twins:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{project / 'twins.duckdb'}'}}\n"
    )
    models = project / "models"
    models.mkdir()
    sources = {
        "version": 2,
        "sources": [
            {"name": s, "schema": s, "tables": [{"name": t} for t in ts]} for s, ts in SOURCES.items()
        ],
    }
    (models / "sources.yml").write_text(yaml.safe_dump(sources))
    for name in SUBSET:
        (models / f"{model_name(name)}.sql").write_text(model_sql(BY_NAME[name]))
    config = yaml.safe_load(TWINS["config"])
    config["dialect"] = "duckdb"
    for waiver in config["waivers"]:  # the waivers name the dbt models instead of the SQL files
        case = waiver["job"].removeprefix("sql:").removesuffix(".sql")
        waiver["job"] = f"dbt:model.twins.{model_name(case)}"
    (project / "kaitiaki.yaml").write_text(yaml.safe_dump(config))
    result = run_cli(
        ["dbt", "check", "--project-dir", str(project), "--profiles-dir", str(project), "--format", "json",
         "--config", str(project / "kaitiaki.yaml"), "--no-cache"],
        cwd=project,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    return {job["job"]["name"]: job["decision"] for job in json.loads(result.stdout)["jobs"]}


@pytest.mark.parametrize("name", SUBSET)
def test_twin_through_dbt(name: str, decisions: dict[str, dict[str, Any]]) -> None:
    case = BY_NAME[name]
    decision = decisions[model_name(name)]
    found = {(v["rule"], v["level"]) for v in decision["violations"]}
    summary = [(v["rule"], v["level"], v["message"]) for v in decision["violations"]]
    assert decision["allow"] is not case["blocked"], (case["source"], summary)
    for rule, level in (case.get("fires") or {}).items():
        assert (rule, level) in found, (case["source"], summary)
    for rule in case.get("quiet") or []:
        assert rule not in {r for r, _ in found}, (case["source"], summary)
