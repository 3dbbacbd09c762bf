"""Reading `# METADATA` blocks: the rule they annotate, and file:line errors for bad blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaitiaki.config import Settings
from kaitiaki.engine import policy_metadata
from kaitiaki.engine.metadata import violation_fields
from kaitiaki.errors import PolicyError

RULE = """package kaitiaki.custom.org

# METADATA
# title: {title}
# description: Why the rule exists.
# custom:
#   id: {rule_id}
#   level: {level}
#   law: none
violation contains "x" if false
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_block_annotates_the_rule_after_it(tmp_path: Path) -> None:
    write(tmp_path, "org.rego", RULE.format(title="Org rule", rule_id="ORG-1", level="soft"))
    meta = policy_metadata([tmp_path])["ORG-1"]
    assert meta["title"] == "Org rule"
    assert meta["description"] == "Why the rule exists."
    assert (meta["level"], meta["law"], meta["guideline"]) == ("soft", "none", "")
    assert (meta["package"], meta["rule"], meta["line"]) == ("kaitiaki.custom.org", "violation", 3)
    assert meta["path"].endswith("org.rego")


def test_blocks_without_an_id_are_not_rules(tmp_path: Path) -> None:
    write(tmp_path, "org.rego", "# METADATA\n# scope: package\n# title: Org\npackage kaitiaki.custom.org\n")
    assert not any(meta["package"] == "kaitiaki.custom.org" for meta in policy_metadata([tmp_path]).values())


def test_settings_and_paths_give_the_same_metadata(tmp_path: Path) -> None:
    write(tmp_path, "org.rego", RULE.format(title="Org rule", rule_id="ORG-1", level="hard"))
    assert policy_metadata(Settings(policies=(tmp_path,))) == policy_metadata([tmp_path])


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "org.rego", RULE.format(title="a: b: c", rule_id="ORG-1", level="soft"))
    with pytest.raises(PolicyError, match="not valid YAML") as info:
        policy_metadata([tmp_path])
    assert (info.value.path, info.value.line) == (str(path), 4)


def test_unknown_level_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "org.rego", RULE.format(title="Org rule", rule_id="ORG-1", level="critical"))
    with pytest.raises(PolicyError, match=r"custom\.level is 'critical'") as info:
        policy_metadata([tmp_path])
    assert info.value.line == 3


def test_title_is_required(tmp_path: Path) -> None:
    write(tmp_path, "org.rego", RULE.format(title="", rule_id="ORG-1", level="soft"))
    with pytest.raises(PolicyError, match="needs a text 'title'"):
        policy_metadata([tmp_path])


def test_duplicate_rule_ids_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.rego", RULE.format(title="A", rule_id="ORG-1", level="soft"))
    write(tmp_path, "b.rego", RULE.format(title="B", rule_id="ORG-1", level="soft").replace(".org", ".other"))
    with pytest.raises(PolicyError, match=r"ORG-1 is declared twice \(first at .*a\.rego:3\)") as info:
        policy_metadata([tmp_path])
    assert str(info.value.path).endswith("b.rego")


def test_dpup_rule_ids_cannot_be_reused(tmp_path: Path) -> None:
    write(tmp_path, "org.rego", RULE.format(title="Mine", rule_id="PM-01", level="soft"))
    with pytest.raises(PolicyError, match="PM-01 is declared twice"):
        policy_metadata([tmp_path])


def test_violation_fields_are_prepared_per_destination() -> None:
    rules = {
        "SV-05": {
            "title": "T",
            "guideline": "G",
            "principle": "P",
            "law": "L",
            "remediation": "R",
            "level": "soft",
            "level_off_agency": "hard",
        },
        "PM-05": {"title": "Star", "level": "soft", "level_off_agency": False},
        "X-1": {},
        "BROKEN": "not an object",
    }
    fields = violation_fields(rules)
    assert fields["internal"]["SV-05"] == {
        "rule": "SV-05",
        "title": "T",
        "guideline": "G",
        "principle": "P",
        "law": "L",
        "remediation": "R",
        "waived": False,
        "level": "soft",
    }
    assert fields["off_agency"]["SV-05"]["level"] == "hard"
    assert fields["off_agency"]["PM-05"]["level"] == "soft"
    assert fields["internal"]["X-1"] == {
        "rule": "X-1",
        "title": "X-1",
        "guideline": "",
        "principle": "",
        "law": "",
        "remediation": "",
        "waived": False,
        "level": "hard",
    }
    assert "BROKEN" not in fields["internal"] and "BROKEN" not in fields["off_agency"]
