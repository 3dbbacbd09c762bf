"""kaitiaki.yaml validation: every error names the file and line, with a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaitiaki.config import find_config, load_settings, parse_settings
from kaitiaki.errors import ConfigError

GOOD = """\
agency: msd
dialect: snowflake
mode: warn
engine: {kind: opa, url: "http://127.0.0.1:8181", timeout_ms: 500}
levels: {PM-05: advisory}
identifier_issuers: {nhi: moh, ird: ird}
catalog:
  Health.Patients:
    agency: moh
    columns:
      NHI: [unique_identifier:nhi]
      ethnicity: ["sensitive:ethnicity"]
  cms.events:
    categories: [child]
    columns: {}
purposes:
  readmission-research:
    description: Reduce avoidable readmissions (aggregate statistics only)
    allowed_categories: [quasi_identifier, "sensitive:health"]
    approved_by: Data Governance Board
    expires: 2027-06-30
    sensitive_approved: true
    sharing_agreement: {id: DSA-7, identified: false}
waivers:
  - {rule: HT-01, job: "sql:jobs/x.sql", justification: why, approved_by: board, expires: 2026-12-31}
limits: {max_sql_bytes: 2000}
default_destination: {kind: external, region: offshore}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kaitiaki.yaml"
    path.write_text(text)
    return path


def test_a_full_config_parses_into_settings(tmp_path: Path) -> None:
    settings = parse_settings(GOOD, write(tmp_path, GOOD))
    assert settings.agency == "msd"
    assert settings.dialect == "snowflake"
    assert settings.mode == "warn"
    assert settings.engine.kind == "opa"
    assert settings.engine.factory_kwargs()["urls"] == ("http://127.0.0.1:8181",)
    assert settings.levels == {"PM-05": "advisory"}
    patients = settings.catalog["health.patients"]
    assert patients.agency == "moh"
    assert patients.columns["nhi"] == ("unique_identifier:nhi",)
    assert settings.catalog["cms.events"].categories == ("child",)
    purpose = settings.purposes["readmission-research"]
    assert purpose.expires == "2027-06-30"
    assert purpose.sensitive_approved is True
    assert purpose.sharing_agreement is not None and purpose.sharing_agreement.id == "DSA-7"
    assert settings.waivers[0].expires == "2026-12-31"
    assert settings.waivers[0].line == 25
    assert settings.limits.max_sql_bytes == 2000
    assert settings.limits.max_depth == 500
    assert settings.default_destination.region == "offshore"
    assert settings.decision_log == (tmp_path / ".kaitiaki" / "decisions.jsonl").resolve()


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("agency: msd\nmodee: enforce\n", 2, "unknown key 'modee'"),
        ("mode: enforce\nengine:\n  kind: opa\n  timeout: 5\n", 4, "unknown key 'timeout'"),
        ("mode: block\n", 1, "must be one of audit, warn, enforce"),
        ("limits:\n  max_depth: -3\n", 2, "limits.max_depth must be an integer"),
        ("levels:\n  PM-05: sometimes\n", 2, "levels.PM-05"),
        ("agency: [a, b]\n", 1, "agency must be a string"),
        ("catalog:\n  t:\n    columns:\n      c: [personal]\n", 4, "unknown category 'personal'"),
        ("purposes:\n  p:\n    expires: next year\n", 3, "must be a date"),
        ("waivers:\n  - {job: 'sql:a.sql'}\n", 2, "a waiver needs 'rule'"),
        ("dialect: cobol\n", 1, "unknown dialect 'cobol'"),
        ("mode: enforce\n  bad: [\n", 2, "YAML syntax error"),
        ("agency: msd\nagency: moh\n", 2, "duplicate key"),
        ("strict_catalog: yes please\n", 1, "strict_catalog must be true or false"),
        ("schema: missing.yaml\n", 1, "does not exist"),
        ("catalog:\n  t:\n    grain: people\n", 3, "catalog.t.grain is 'people'"),
        ("catalog:\n  t:\n    non_enumerable: {a: 1}\n", 3, "non_enumerable must be a list"),
        ("purposes:\n  p:\n    output_level: rows\n", 3, "output_level is 'rows'"),
        ("purposes:\n  p:\n    destinations: [internal, abroad]\n", 3, "destinations[1] is 'abroad'"),
        ("purposes:\n  p:\n    regions: [mars]\n", 3, "regions[0] is 'mars'"),
        ("purposes:\n  p:\n    sharing_agreement: {id: A, pseudonymised: maybe}\n", 3, "pseudonymised"),
        ("pseudonymisation:\n  secret_setting: [k]\n", 2, "unknown key 'secret_setting'"),
    ],
)
def test_bad_config_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        parse_settings(text, path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("identifer_issuers: {}\n", write(tmp_path, "x"))
    assert info.value.hint == "did you mean 'identifier_issuers'?"


def test_discovery_walks_up_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = write(tmp_path, "agency: msd\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.delenv("KAITIAKI_CONFIG", raising=False)
    assert find_config(start=deep) == top
    other = tmp_path / "other.yaml"
    other.write_text("agency: moh\n")
    monkeypatch.setenv("KAITIAKI_CONFIG", str(other))
    assert load_settings(start=deep).agency == "moh"
    monkeypatch.setenv("KAITIAKI_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="KAITIAKI_CONFIG"):
        find_config(start=deep)


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "schema.yaml").write_text("t: {c: text}\n")
    settings = parse_settings("schema: schema.yaml\ndecision_log: logs/d.jsonl\n", write(tmp_path, "x"))
    assert settings.schema_file == (tmp_path / "schema.yaml").resolve()
    assert settings.decision_log == (tmp_path / "logs" / "d.jsonl").resolve()
    assert parse_settings("decision_log: false\n", write(tmp_path, "x")).decision_log is None


def test_no_config_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAITIAKI_CONFIG", raising=False)
    settings = load_settings(start=tmp_path)
    assert settings.path is None
    assert settings.mode == "enforce"
    assert settings.engine.kind == "embedded"


def test_required_plugins_are_read_with_their_lines(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "mode: enforce\nrequired_plugins:\n  - nz\n  - acme\n"))
    assert dict(settings.required_plugins) == {"nz": 3, "acme": 4}


def test_required_plugins_must_be_a_list(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"kaitiaki.yaml:1: required_plugins must be a list"):
        load_settings(write(tmp_path, "required_plugins: nz\n"))


def test_a_gate_refuses_to_start_without_a_required_plugin(tmp_path: Path) -> None:
    from kaitiaki.gate import Gate

    settings = load_settings(write(tmp_path, "mode: enforce\nrequired_plugins: [nz, not-installed]\n"))
    with pytest.raises(ConfigError) as caught:
        Gate(settings)
    assert str(caught.value).startswith(
        f"{tmp_path / 'kaitiaki.yaml'}:2: required plugin 'not-installed' is not loaded"
    )


def test_meaning_keys_parse(tmp_path: Path) -> None:
    """The keys the policies judge meaning by: grain, source, non_enumerable, structured purpose
    limits, pseudonymised agreements and where keyed-hash secrets come from."""
    text = """\
catalog:
  stats.people: {grain: person, source: idi, non_enumerable: [Token], columns: {token: [person_key]}}
purposes:
  p:
    output_level: aggregate
    destinations: [internal, shared]
    regions: [nz]
    sharing_agreement: {id: DSA-1, pseudonymised: true}
pseudonymisation: {secret_settings: [msd.link_key], secret_functions: [vault_secret], secret_vars: [Link_Key]}
"""
    settings = parse_settings(text, write(tmp_path, text))
    table = settings.catalog["stats.people"]
    assert (table.grain, table.source, table.non_enumerable) == ("person", "idi", ("token",))
    purpose = settings.purposes["p"].to_dict()
    assert purpose["output_level"] == "aggregate"
    assert (purpose["destinations"], purpose["regions"]) == (["internal", "shared"], ["nz"])
    assert purpose["sharing_agreement"]["pseudonymised"] is True
    assert settings.pseudonymisation.marks() == {
        "key:setting:msd.link_key",
        "key:function:vault_secret",
        "key:var:link_key",
    }


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path",
    [*sorted(REPO.glob("examples/**/kaitiaki.yaml")), None],
    ids=lambda p: str(p.relative_to(REPO)) if p else "GOOD",
)
def test_libyaml_and_pyyaml_read_kaitiaki_yaml_alike(
    path: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kaitiaki.yaml is read with libyaml's parser (fast) when PyYAML has it; values and the
    lines every message names must be what PyYAML's own parser gives."""
    import yaml

    from kaitiaki import config

    text = path.read_text(encoding="utf-8") if path else GOOD
    fast = config.compose_located(text, "kaitiaki.yaml")
    monkeypatch.setattr(config, "_FAST_LOADER", yaml.SafeLoader)
    assert config._FAST_LOADER is not getattr(yaml, "CSafeLoader", None)
    assert fast == config.compose_located(text, "kaitiaki.yaml")
    assert config.line_index(fast) == config.line_index(config.compose_located(text, "kaitiaki.yaml"))
