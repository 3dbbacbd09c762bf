"""The twins (twins.yaml) through `kaitiaki dbt check`: the same SQL as dbt models of one real
dbt-duckdb project, each model's purpose, destination and tags in its `meta.kaitiaki` / tags, all
decided in one run (one dbt compile, so the whole corpus costs one dbt start). The answers must
match `kaitiaki check`'s. The cases under `dbt_cases` need Jinja (a secret var) and run here only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cli_runner import run_cli
from tests.e2e.test_twins import CASES, TWINS

# Cases a dbt model cannot express, with the reason; every other case runs through dbt.
PLAIN_ONLY = {
    "sv03-block-key-set-by-the-job": "a dbt model is one SELECT: it cannot SET a setting (the dbt twin "
    "of a key the job writes itself is dbt-sv03-block-var-committed-in-project)",
    "sv03-allow-key-not-set-by-the-job": "a dbt model is one SELECT: no SET statement before it",
    "sv03-block-key-cast-to-one-character": "DuckDB ignores VARCHAR's length (varchar(1) keeps the "
    "whole key there), so the cut exists only in Postgres",
    **{
        name: "a dbt model is one SELECT: a GRANT runs from a hook, where it is decided as the hook"
        for name in (
            "pm03-block-grant-opens-identifiers",
            "pm03-allow-grant-of-plain-columns",
            "sv03-block-grant-to-public-of-identifiers",
            "sv03-allow-grant-to-public-of-regions",
        )
    },
}
DBT_CASES: list[dict[str, Any]] = TWINS["dbt_cases"]
RUN = [c for c in CASES if c["name"] not in PLAIN_ONLY] + DBT_CASES
BY_NAME = {case["name"]: case for case in RUN}
SECRET_VARS = ["link_key", "committed_key", "KAITIAKI_TWINS_KEY"]
SECRET_VALUE = "twins-secret-2026"  # what --vars gives link_key (also inlined by one case)
TABLE = re.compile(r"(?<![\w.'\"])(msd|health|stats)\.(\w+)(?![\w.])")
WRITE = re.compile(r"^\s*create\s+table\s+[\w.]+\s+as\s+", re.IGNORECASE)


def model_name(case: str) -> str:
    return case.replace("-", "_")


def tables() -> dict[str, list[str]]:
    """Every table the cases read (catalogued or not), as dbt sources by schema."""
    names = {m.group(0) for case in RUN for m in TABLE.finditer(case["sql"])}
    by_schema: dict[str, list[str]] = {}
    for name in sorted(names):
        schema, table = name.split(".")
        by_schema.setdefault(schema, []).append(table)
    return by_schema


def model_sql(case: dict[str, Any]) -> str:
    """The case's SQL with dbt sources in place of the tables, and its meta and tags as config;
    ``create table x as`` dropped (dbt writes the model's SELECT to its own relation)."""
    args = case.get("args") or ["--purpose", "plan"]
    flags = dict(zip(args[::2], args[1::2], strict=True))
    tags = [value for key, value in zip(args[::2], args[1::2], strict=True) if key == "--tag"]
    meta = {
        "purpose": flags["--purpose"],
        "destination": {
            "kind": flags.get("--destination", "internal"),
            "region": flags.get("--region", "nz"),
            **({"name": case["destination_name"]} if "destination_name" in case else {}),
        },
    }
    sql = TABLE.sub(lambda m: f"{{{{ source('{m.group(1)}', '{m.group(2)}') }}}}", WRITE.sub("", case["sql"]))
    config = json.dumps({"meta": {"kaitiaki": meta}, "tags": tags})
    return f"{{{{ config(**{config}) }}}}\n{sql}\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("twins_dbt")


@pytest.fixture(scope="module")
def decisions(project: Path) -> dict[str, dict[str, Any]]:
    (project / "dbt_project.yml").write_text(
        "name: twins\nversion: '1.0.0'\nconfig-version: 2\nprofile: twins\nmodel-paths: [models]\n"
        "vars: {committed_key: pepper-2026, public_salt: salt-2026}\n"
    )
    (project / "profiles.yml").write_text(
        f"twins:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{project / 'twins.duckdb'}'}}\n"
    )
    models = project / "models"
    models.mkdir()
    sources = {
        "version": 2,
        "sources": [
            {"name": s, "schema": s, "tables": [{"name": t} for t in ts]} for s, ts in tables().items()
        ],
    }
    (models / "sources.yml").write_text(yaml.safe_dump(sources))
    for case in RUN:
        (models / f"{model_name(case['name'])}.sql").write_text(model_sql(case))
    config = yaml.safe_load(TWINS["config"])
    config["dialect"] = "duckdb"
    config["pseudonymisation"]["secret_vars"] = SECRET_VARS
    for waiver in config["waivers"]:  # the waivers name the dbt models instead of the SQL files
        case = waiver["job"].removeprefix("sql:").removesuffix(".sql")
        waiver["job"] = f"dbt:model.twins.{model_name(case)}"
    config["waivers"] += [
        {"rule": rule, "job": f"dbt:model.twins.{model_name(c['name'])}", "justification": "both keys needed",
         "approved_by": "MSD Privacy Officer", "expires": "2027-12-31"}
        for c in DBT_CASES for rule in c.get("waive") or ()
    ]  # fmt: skip
    (project / "kaitiaki.yaml").write_text(yaml.safe_dump(config))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KAITIAKI_TWINS_KEY", "twins-env-secret")
        result = run_cli(
            ["dbt", "check", "--project-dir", str(project), "--profiles-dir", str(project),
             "--format", "json", "--config", str(project / "kaitiaki.yaml"), "--no-cache",
             "--vars", json.dumps({"link_key": SECRET_VALUE})],
            cwd=project,
        )  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    assert SECRET_VALUE not in result.stdout + result.stderr  # the secret is never reported
    return {job["job"]["name"]: job["decision"] for job in json.loads(result.stdout)["jobs"]}


def test_the_dbt_cases_are_pairs_with_sources() -> None:
    assert all(c.get("source") for c in DBT_CASES)
    assert {c["blocked"] for c in DBT_CASES} == {True, False}
    assert any(SECRET_VALUE in c["sql"] for c in DBT_CASES)  # the inlined-secret twin is there
    assert set(PLAIN_ONLY) <= {c["name"] for c in CASES}


# The rules the meaning revisions (docs/legal-basis.md) changed or added: each must be met end to
# end through dbt by a pair that differs in that rule's outcome.
REVISED_RULES = (
    "SV-06",
    "SV-07",
    "SV-09",
    "SV-03",
    "SV-04",
    "SV-02",
    "TC-01",
    "PM-11",
    "PM-12",
    "SV-08",
    "PM-03",
    "TC-02",
)


@pytest.mark.parametrize("rule", REVISED_RULES)
def test_every_revised_rule_has_a_twin_pair_through_dbt(rule: str) -> None:
    """One case where the rule fires, and another where it is quiet or fires at another level."""
    outcomes = {
        (c.get("fires") or {}).get(rule, "quiet" if rule in (c.get("quiet") or []) else None) for c in RUN
    }
    outcomes.discard(None)
    assert len(outcomes) >= 2 and outcomes != {"quiet"}, (rule, outcomes)


@pytest.mark.parametrize("name", [c["name"] for c in RUN])
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


@pytest.mark.parametrize("name", [c["name"] for c in DBT_CASES if "var(" in c["sql"]])
def test_an_orchestrator_deciding_one_node_sees_secret_vars_alike(
    name: str, project: Path, decisions: dict[str, dict[str, Any]]
) -> None:
    """decide_node (astronomer-cosmos, a pod per model) reads the manifest the check compiled."""
    from kaitiaki_dbt.decide import decide_node

    found = decide_node(
        project / "target" / "manifest.json",
        f"model.twins.{model_name(name)}",
        config=project / "kaitiaki.yaml",
        project_dir=project,
    )
    assert found.allowed is not BY_NAME[name]["blocked"]
    assert found.allowed is decisions[model_name(name)]["allow"]


@pytest.mark.parametrize("fmt", ["text", "sarif", "github", "markdown"])
def test_no_report_shows_the_secret(fmt: str, project: Path, decisions: dict[str, dict[str, Any]]) -> None:
    """A blocked model whose compiled SQL holds the secret: every report format quotes its SQL
    redacted, so the value dbt rendered never reaches the output."""
    name = model_name("dbt-sv04-block-keyed-by-secret-var-without-pseudonymised-agreement")
    assert decisions[name]["allow"] is False
    result = run_cli(
        ["dbt", "check", "--manifest", str(project / "target" / "manifest.json"),
         "--project-dir", str(project), "--config", str(project / "kaitiaki.yaml"),
         "--format", fmt, "--no-cache", "--select", name],
        cwd=project,
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert "SV-04" in result.stdout
    assert SECRET_VALUE not in result.stdout + result.stderr


def test_a_project_macro_named_var_keys_nothing(project: Path, decisions: dict[str, dict[str, Any]]) -> None:
    """A root project's macros/var.sql replaces dbt's var() in every model (checked on dbt-duckdb:
    the model then compiles to the macro's text): the keyed twin is blocked once the manifest
    names such a macro, and allowed without it."""
    from kaitiaki_dbt.decide import decide_node

    name = model_name("dbt-sv03-allow-keyed-by-secret-var")
    assert decisions[name]["allow"] is True
    data = json.loads((project / "target" / "manifest.json").read_text())
    data["macros"]["macro.twins.var"] = {
        "name": "var", "unique_id": "macro.twins.var", "package_name": "twins",
        "macro_sql": "{% macro var(name) %}public-salt{% endmacro %}", "depends_on": {"macros": []},
    }  # fmt: skip
    shadowing = project / "shadowing_manifest.json"
    shadowing.write_text(json.dumps(data))
    found = decide_node(
        shadowing, f"model.twins.{name}", config=project / "kaitiaki.yaml", project_dir=project
    )
    assert found.allowed is False
    assert "SV-03" in {v.rule for v in found.verdicts[0].decision.violations}


@pytest.mark.parametrize(
    ("given", "allowed"),
    [
        ({}, True),  # the key comes from where the manifest was compiled: keyed
        ({"vars": {"region": "nz"}}, True),  # another var written in the DAG changes nothing
        ({"vars": {"link_key": "public-salt"}}, False),  # the DAG file writes the key itself
        ({"vars": "{{ var.json.dbt_vars }}"}, False),  # unknown until rendered
        ({"dbt_cmd_flags": ["--vars", "{link_key: x}"]}, False),
        ({"interceptors": [print]}, False),  # may set vars before dbt runs
    ],
)
def test_a_cosmos_task_that_gives_the_secret_var_itself_is_not_decided_keyed(
    given: dict[str, Any], allowed: bool, project: Path, decisions: dict[str, dict[str, Any]]
) -> None:
    """cosmos runs dbt with the task's own vars/env (written in the DAG file), not the value the
    manifest was compiled with: a task that gives (or may give) the secret var the model reads
    fails closed before anything is decided from the manifest; another var changes nothing."""
    from airflow.sdk import DAG
    from cosmos.config import ProfileConfig
    from cosmos.operators.local import DbtRunLocalOperator
    from kaitiaki_airflow.dbt_nodes import decide_dbt_node
    from kaitiaki_airflow.gates import gate_for
    from kaitiaki_airflow.locate import locate

    from kaitiaki.errors import KaitiakiError

    name = model_name("dbt-sv03-allow-keyed-by-secret-var")
    assert decisions[name]["allow"] is True
    with DAG("twins", schedule=None):
        task = DbtRunLocalOperator(
            task_id=name,
            project_dir=str(project),
            profile_config=ProfileConfig("twins", "dev", profiles_yml_filepath=project / "profiles.yml"),
            select=name,
            extra_context={"dbt_node_config": {"unique_id": f"model.twins.{name}", "resource_type": "model"}},
            **given,
        )
    located = locate(task)
    assert located is not None and located.problem is None
    gate = gate_for(project / "kaitiaki.yaml")
    if allowed:
        assert decide_dbt_node(task, gate=gate, located=located, labels={}).decision.allow is True
    else:
        with pytest.raises(KaitiakiError, match=r"var\('link_key'\)"):
            decide_dbt_node(task, gate=gate, located=located, labels={})
