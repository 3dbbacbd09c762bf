"""kaitiaki.yaml as a typed contract: one model (config_model.py) gives the accepted keys, the
JSON Schema shipped in the package and the reference in docs/configuration.md."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kaitiaki.config import parse_settings
from kaitiaki.config_model import CONFIG, SCHEMA_FILE, json_schema, schema_text, walk
from kaitiaki.errors import ConfigError
from tests.e2e.cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "kaitiaki" / SCHEMA_FILE
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(?P<target>\S+)$", re.MULTILINE)
EXAMPLES = sorted(ROOT.glob("examples/**/kaitiaki.yaml"))


def as_json(value: Any) -> Any:
    """YAML as an editor's language server sees it: dates are strings."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker())


def example_config() -> dict[str, Any]:
    """Every top-level key with the model's own example value."""
    return {name: key.example for name, key in (CONFIG.keys or {}).items()}


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == schema_text(), "run: kaitiaki config schema > " + str(
        SHIPPED
    )


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_config_schema_command_prints_it() -> None:
    result = run_cli(["config", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()


def test_every_key_has_a_meaning_and_every_leaf_an_example() -> None:
    for path, key in walk():
        assert key.doc.strip(), path
        if key.keys is None and key.entry is None:
            assert key.example is not None or "null" in json.dumps(key.schema), path


def test_the_models_examples_parse_and_validate(tmp_path: Path) -> None:
    """The round trip that keeps the validator and the schema one model: a config made of
    every example is accepted by both."""
    config = example_config()
    for folder in config["policies"]:
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / config["schema"]).write_text("{}")
    text = yaml.safe_dump(config, sort_keys=False)
    settings = parse_settings(text, tmp_path / "kaitiaki.yaml")
    assert settings.purposes["readmission-research"].expires == "2027-06-30"
    assert list(validator().iter_errors(as_json(yaml.safe_load(text)))) == []


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        ({"purposes": {"p": {"expire": "2027-01-01"}}}, "expire"),
        ({"catalog": {"t": {"columns": {"nhi": ["unique_identifer:nhi"]}}}}, "unique_identifer"),
        ({"waivers": [{"rule": "PM-07"}]}, "job"),
        ({"mode": "sometimes"}, "sometimes"),
        ({"limits": {"max_depth": 0}}, "max_depth"),
    ],
)
def test_a_mistake_is_rejected_by_both_the_schema_and_the_loader(
    tmp_path: Path, edit: dict[str, Any], where: str
) -> None:
    assert list(validator().iter_errors(edit)), f"the schema accepts {edit}"
    with pytest.raises(ConfigError):
        parse_settings(yaml.safe_dump(edit), tmp_path / "kaitiaki.yaml")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_name_the_schema_in_a_modeline_and_validate(example: Path) -> None:
    """``# yaml-language-server: $schema=…``: the path is resolved as editors do (relative to
    the file) and the file validates against what it names."""
    text = example.read_text(encoding="utf-8")
    match = MODELINE.search(text)
    assert match, f"{example} has no yaml-language-server modeline"
    target = (example.parent / match.group("target")).resolve()
    assert target == SHIPPED
    schema = json.loads(target.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(as_json(yaml.safe_load(text))))
    assert errors == []


def test_the_reference_in_docs_is_generated_from_the_model() -> None:
    from kaitiaki.config_model import reference_markdown

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    block = text.split("<!-- reference:start -->\n", 1)[1].split("<!-- reference:end -->", 1)[0]
    assert block.strip() == reference_markdown().strip(), "regenerate the table from reference_markdown()"
    for path, _key in walk():
        assert f"| `{path}` |" in block


OUTSIDE_CITATIONS = ("design.md", "design §", "design's §", "dpup-rules", "/work/shared")


def test_docs_stand_alone() -> None:
    """The user docs cite nothing outside the repository (no design document, no § numbers)."""
    for page in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        text = page.read_text(encoding="utf-8")
        for needle in OUTSIDE_CITATIONS:
            assert needle not in text, f"{page.name} cites {needle}"


def test_code_policies_and_tests_stand_alone() -> None:
    """Comments, Rego and test sources cite nothing outside the repository either: a reader of the
    code has only the repository."""
    roots = ("src", "adapters", "plugins", "policies", "examples", "tests", "bench")
    suffixes = {".py", ".rego", ".yaml", ".yml", ".json", ".sql", ".md"}
    for root in roots:
        for path in sorted((ROOT / root).rglob("*")):
            if path.suffix not in suffixes or not path.is_file() or path == Path(__file__).resolve():
                continue
            if any(part in {".venv", "target", "dbt_packages", "__pycache__"} for part in path.parts):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for needle in OUTSIDE_CITATIONS:
                assert needle not in text, f"{path.relative_to(ROOT)} cites {needle}"
