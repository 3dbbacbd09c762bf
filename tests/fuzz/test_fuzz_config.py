"""Fuzzing kaitiaki.yaml: valid-ish structures with wrong types, unknown keys and broken YAML.

Each example starts from a valid configuration, replaces values at real keys with generated
ones (wrong types, odd strings, dates, nesting), adds and deletes keys, then may break the
text itself (unclosed brackets, tags, aliases, second documents, tabs, NUL and non-UTF-8
bytes). Run through the real ``kaitiaki check``: the outcome is contained (no traceback, exit
0/1/2), an error names kaitiaki.yaml, and a configuration known to be invalid is never used.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.support import ERROR_PREFIX, assert_contained, decision_document, kaitiaki, profile
from tests.fuzz.workspace import PURPOSE, fuzz_config, write_workspace

pytestmark = pytest.mark.fuzz

PATHS: tuple[tuple[str, ...], ...] = (
    ("agency",),
    ("dialect",),
    ("mode",),
    ("engine",),
    ("engine", "kind"),
    ("engine", "timeout_ms"),
    ("policies",),
    ("levels",),
    ("levels", "PM-05"),
    ("identifier_issuers",),
    ("identifier_issuers", "nhi"),
    ("decision_log",),
    ("schema",),
    ("catalog",),
    ("catalog", "msd.clients"),
    ("catalog", "msd.clients", "agency"),
    ("catalog", "msd.clients", "columns"),
    ("catalog", "msd.clients", "columns", "full_name"),
    ("purposes",),
    ("purposes", PURPOSE),
    ("purposes", PURPOSE, "allowed_categories"),
    ("purposes", PURPOSE, "expires"),
    ("purposes", PURPOSE, "linking_approved"),
    ("purposes", PURPOSE, "sensitive_approved"),
    ("purposes", PURPOSE, "sharing_agreement"),
    ("waivers",),
    ("limits",),
    ("limits", "max_depth"),
    ("default_purpose",),
    ("default_destination",),
    ("strict_catalog",),
    ("owner",),
    ("airflow",),
    ("airflow", "parse_time_check"),
    ("policy_data",),
)
SPECIAL_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    2**63,
    1.5,
    float("nan"),
    "",
    " ",
    "audit",
    "warn",
    "enforce",
    "hard",
    "soft",
    "advisory",
    "embedded",
    "regopy",
    "opa",
    "postgres",
    "klingon",
    "internal",
    "offshore",
    "unique_identifier:nhi",
    "direct_identifier",
    "sensitive:",
    "not_a_category",
    ".",
    "..",
    "/nonexistent/path",
    "policies",
    "job.sql",
    "2099-12-31",
    "2020-02-30",
    "yesterday",
    "http://127.0.0.1:1",
    "opa:8181",
    "ftp://127.0.0.1",
    "$NO_SUCH_ENV_VAR",
    "x" * 300,
    {"kind": "opa"},
    {"kind": "opa", "url": "http://127.0.0.1:1", "timeout_ms": 50},
    {"kind": "internal", "region": "mars"},
    {"rule": "PM-05", "job": "sql:job.sql"},
    [
        {
            "rule": "PM-05",
            "job": "sql:job.sql",
            "justification": "j",
            "approved_by": "a",
            "expires": "2030-01-01",
        }
    ],
    {"id": "agreement"},
    {"max_sql_bytes": 0},
    [],
    {},
    [[]],
    [{}],
    dt.date(2030, 1, 1),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.dates(),
    st.sampled_from(SPECIAL_VALUES),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)

COMPLEX_KEY = "\n? [complex, key]\n: 1\n"

# (text to insert, whether the result is certainly invalid)
BREAKERS: tuple[tuple[str, bool], ...] = (
    ("\nbroken: [1, 2\n", True),
    ("\nunknown_top_level_key: 1\n", True),
    ("\nagency: twice\nagency: again\n", True),
    ("\n--- \nsecond: document\n", True),
    ("\nhook: !!python/object/apply:os.system ['true']\n", True),
    ("\nblob: !!binary '%%%'\n", True),
    ("\nx: *undefined_alias\n", True),
    (COMPLEX_KEY, True),
    ("\n\tmode: audit\n", True),
    ("\nmode: 'unterminated\n", True),
    ("\n&anchor agency: msd\n", False),
    ("\n# a comment with ünïcode and \u2028 separators\n", False),
    ("\n", False),
)


@dataclass(frozen=True)
class ConfigCase:
    data: bytes
    certainly_invalid: bool


def replaced(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target: Any = config
    for key in path[:-1]:
        if not isinstance(target, dict) or not isinstance(target.get(key), dict):
            return
        target = target[key]
    if isinstance(target, dict):
        target[path[-1]] = value


def removed(config: dict[str, Any], path: tuple[str, ...]) -> None:
    target: Any = config
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target.pop(path[-1], None)


@st.composite
def config_cases(draw: st.DrawFn) -> ConfigCase:
    config = copy.deepcopy(fuzz_config(decision_log=False))
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(PATHS))
        if draw(st.integers(0, 4)) == 0:
            removed(config, path)
        else:
            replaced(config, path, draw(VALUES))
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    certainly_invalid = False
    if draw(st.booleans()):
        breaker, certain = draw(st.sampled_from(BREAKERS))
        lines = text.splitlines(keepends=True)
        at = len(lines) if certain else draw(st.integers(0, len(lines)))
        text = "".join(lines[:at]) + breaker + "".join(lines[at:])
        certainly_invalid = certain
    data = text.encode("utf-8")
    byte_damage = draw(st.sampled_from(("none", "none", "none", "latin1", "nul", "bom", "truncate")))
    if byte_damage == "latin1":
        data += "\nowner: Tāmati\n".encode("latin-1", errors="replace") + b"\xe9\xff\n"
        certainly_invalid = True
    elif byte_damage == "nul":
        data += b"\nowner: a\x00b\n"
        certainly_invalid = True
    elif byte_damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif byte_damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
        certainly_invalid = False
    return ConfigCase(data, certainly_invalid)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-config")
    write_workspace(folder, fuzz_config())
    return folder


@profile()
@given(case=config_cases())
def test_any_kaitiaki_yaml_is_used_or_refused_in_one_paragraph(folder: Path, case: ConfigCase) -> None:
    (folder / "kaitiaki.yaml").write_bytes(case.data)
    result = kaitiaki(["check", "job.sql", "--format", "json"], folder)
    assert_contained(result)
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
        # The error names kaitiaki.yaml, or a file it names (a decision log that cannot be written).
        assert "kaitiaki.yaml" in errors[0] or str(folder) in errors[0], result.stderr
        return
    assert not case.certainly_invalid, f"an invalid kaitiaki.yaml was used:\n{case.data!r}"
    decision_document(result)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"agency: msd\nowner: T\xe9mati\n", id="not-utf8"),
        pytest.param(b"agency: msd" + COMPLEX_KEY.encode(), id="complex-key"),
        pytest.param(b"agency: msd\npolicy_data: {ratio: .nan}\n", id="policy-data-nan"),
    ],
)
def test_awkward_configs_are_reported_naming_file_and_line(folder: Path, data: bytes) -> None:
    (folder / "kaitiaki.yaml").write_bytes(data)
    result = kaitiaki(["check", "job.sql"], folder)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{ERROR_PREFIX}{folder / 'kaitiaki.yaml'}:2: "), result.stderr


def test_a_date_in_policy_data_reaches_rego_as_an_iso_string(folder: Path) -> None:
    from kaitiaki.config import parse_settings

    settings = parse_settings("policy_data: {day: 2026-11-26}\n", folder / "kaitiaki.yaml")
    assert settings.policy_data == {"day": "2026-11-26"}
