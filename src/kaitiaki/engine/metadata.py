"""``# METADATA`` blocks of the Rego rules, read in Python.

regorus does not implement ``rego.metadata.*``, so kaitiaki reads the YAML comments itself (the
way OPA does: a block annotates the rule that follows it) and copies each rule's fields into
``data.kaitiaki.rules``, where ``kaitiaki.lib.violation`` finds them. The METADATA stays the one
place a rule's title, level, law and remediation are written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from kaitiaki.engine.sources import PolicyFile
from kaitiaki.errors import PolicyError
from kaitiaki.model import LEVELS

_BLOCK_START = re.compile(r"^\s*#\s*METADATA\s*$")
_COMMENT = re.compile(r"^\s*#(?P<text>.*)$")
_RULE_HEAD = re.compile(r"^\s*(?P<rule>[A-Za-z_][\w.]*)")

# libyaml's parser when PyYAML has it: the METADATA is read every time an engine loads (once per
# worker process), and the pure-Python parser is most of that time.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The fields copied into the violations (data.kaitiaki.rules); file paths stay out of the data so
# the policy revision is the same on every machine.
VIOLATION_FIELDS = ("title", "guideline", "principle", "law", "level", "remediation")
PUBLIC_FIELDS = ("id", "title", "description", "level", "guideline", "principle", "law", "remediation")


def metadata_blocks(policy: PolicyFile) -> list[dict[str, Any]]:
    """Every METADATA block of one file, with the rule it annotates and the lines they start on."""
    lines = policy.text.splitlines()
    blocks: list[dict[str, Any]] = []
    index = 0
    while index < len(lines):
        if not _BLOCK_START.match(lines[index]):
            index += 1
            continue
        start = index + 1
        body: list[str] = []
        index += 1
        while index < len(lines) and _COMMENT.match(lines[index]):
            body.append(_uncomment(lines[index]))
            index += 1
        head = _RULE_HEAD.match(lines[index]) if index < len(lines) else None
        parsed = _parse_yaml("\n".join(body), policy, start)
        parsed["_line"] = start
        parsed["_rule"] = head.group("rule") if head else None
        parsed["_rule_line"] = index + 1 if head else None
        blocks.append(parsed)
    return blocks


def _uncomment(line: str) -> str:
    match = _COMMENT.match(line)
    text = match.group("text") if match else ""
    return text[1:] if text.startswith(" ") else text


def _parse_yaml(text: str, policy: PolicyFile, start: int) -> dict[str, Any]:
    try:
        value = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = start + 1 + mark.line if mark is not None else start
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise PolicyError(
            f"METADATA block is not valid YAML: {problem}.", path=policy.name, line=line
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError("METADATA block must be a YAML mapping.", path=policy.name, line=start)
    return value


def rule_metadata(policies: Iterable[PolicyFile]) -> dict[str, dict[str, Any]]:
    """Rule id → its METADATA (id, title, description, level, guideline, principle, law,
    remediation, any other custom field, and package, rule, path, line)."""
    rules: dict[str, dict[str, Any]] = {}
    for policy in policies:
        if policy.is_test:
            continue
        for block in metadata_blocks(policy):
            entry = _rule_entry(block, policy)
            if entry is None:
                continue
            previous = rules.get(entry["id"])
            if previous is not None:
                first = f"{previous['path']}:{previous['line']}"
                raise PolicyError(
                    f"rule id {entry['id']} is declared twice (first at {first}).",
                    path=policy.name,
                    line=entry["line"],
                    hint="give every rule its own custom.id.",
                )
            rules[entry["id"]] = entry
    return rules


def _rule_entry(block: dict[str, Any], policy: PolicyFile) -> dict[str, Any] | None:
    custom = block.get("custom")
    if not isinstance(custom, dict) or "id" not in custom:
        return None
    line = block["_line"]
    entry: dict[str, Any] = {str(k): v for k, v in custom.items()}
    entry["id"] = _text(custom, "id", policy, line)
    entry["title"] = _text(block, "title", policy, line)
    entry["description"] = _text(block, "description", policy, line, required=False)
    for key in ("guideline", "principle", "law", "remediation"):
        entry[key] = _text(custom, key, policy, line, required=False)
    level = custom.get("level")
    if level not in LEVELS:
        raise PolicyError(
            f"rule {entry['id']}: custom.level is {level!r}; it must be one of {', '.join(LEVELS)}.",
            path=policy.name,
            line=line,
        )
    for key, value in custom.items():
        if str(key).startswith("level_") and value not in LEVELS:
            raise PolicyError(
                f"rule {entry['id']}: custom.{key} is {value!r}; it must be one of {', '.join(LEVELS)}.",
                path=policy.name,
                line=line,
            )
    entry.update(package=policy.package, rule=block["_rule"], path=policy.name, line=line)
    return entry


def _text(source: dict[str, Any], key: str, policy: PolicyFile, line: int, *, required: bool = True) -> str:
    value = source.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value).strip() == "":
        raise PolicyError(f"METADATA needs a text {key!r}.", path=policy.name, line=line)
    return " ".join(str(value).split())


def rules_table(metadata: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The part of each rule's METADATA that its violations carry (data.kaitiaki.rules)."""
    table: dict[str, dict[str, Any]] = {}
    for rule_id, entry in metadata.items():
        fields = {key: entry[key] for key in VIOLATION_FIELDS}
        fields.update({k: v for k, v in entry.items() if k.startswith("level_")})
        table[rule_id] = fields
    return table


_PLACEHOLDER = re.compile(r"\{(?P<name>[A-Za-z_]\w*)\}")


def with_params(rules: Mapping[str, Any], params: Any) -> dict[str, Any]:
    """Rules whose remediation names policy data (``>= {min_count_cell}``) with the values in
    force, so the help line says what the policy checks (kaitiaki.yaml's ``policy_data`` included);
    a name the data does not hold is left as written."""
    values = params if isinstance(params, Mapping) else {}

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group("name"))
        return (
            str(value)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool)
            else match.group(0)
        )

    out: dict[str, Any] = {}
    for rule_id, meta in rules.items():
        text = meta.get("remediation") if isinstance(meta, Mapping) else None
        out[rule_id] = (
            {**meta, "remediation": _PLACEHOLDER.sub(fill, text)} if isinstance(text, str) else meta
        )
    return out


def violation_fields(rules: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Every field a rule's violations share, inside the agency and when the data leaves it
    (``data.kaitiaki.violation_fields``), so that ``kaitiaki.lib.violation`` builds a violation
    with one lookup instead of reading the METADATA field by field for every finding.

    Mirrors ``from_metadata`` and ``level_for`` in lib.rego exactly (missing fields take the same
    defaults; ``level_off_agency`` counts unless it is false); an entry that is not an object is
    left out, and lib.rego then reads it the slow way, with the same result.
    """
    inside: dict[str, dict[str, Any]] = {}
    off_agency: dict[str, dict[str, Any]] = {}
    for rule_id, meta in rules.items():
        if not isinstance(meta, Mapping):
            continue
        fields = {
            "rule": rule_id,
            "title": meta.get("title", rule_id),
            "guideline": meta.get("guideline", ""),
            "principle": meta.get("principle", ""),
            "law": meta.get("law", ""),
            "remediation": meta.get("remediation", ""),
            "waived": False,
        }
        level = meta.get("level", "hard")
        leaving = meta["level_off_agency"] if meta.get("level_off_agency", False) is not False else level
        inside[rule_id] = {**fields, "level": level}
        off_agency[rule_id] = {**fields, "level": leaving}
    return {"internal": inside, "off_agency": off_agency}
