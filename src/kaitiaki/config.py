"""kaitiaki.yaml: discovery, line-aware loading and validation into frozen settings.

Found by ``--config``, else ``$KAITIAKI_CONFIG``, else by walking up from the current directory
(README.md). Unknown keys, wrong types and YAML syntax errors raise ``ConfigError`` with the
file, the line and a hint; the CLI turns that into exit 2. Paths inside the file are relative
to the file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kaitiaki.config_model import GRAINS, OUTPUT_LEVELS, keys_of
from kaitiaki.errors import ConfigError
from kaitiaki.model import DESTINATION_KINDS, LEVELS, MODES, REGIONS, Destination

_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CONFIG_NAME = "kaitiaki.yaml"
ENV_CONFIG = "KAITIAKI_CONFIG"
PARSE_TIME_MODES = ("off", "warn", "block")
UNGUARDED_MODES = ("allow", "warn", "block")
LOG_FAILURE_MODES = ("block", "warn")
STDOUT_SINK = "stdout"


@dataclass(frozen=True)
class Limits:
    """Checked before parsing, so hostile SQL costs nothing (docs/security.md)."""

    max_sql_bytes: int = 1_000_000
    max_depth: int = 500
    max_statements: int = 1000


@dataclass(frozen=True)
class Identifiers:
    """How the platform compares names, where a setting changes it (docs/analysis.md, Names).

    ``quoted_identifiers_ignore_case``: Snowflake's account/session parameter of that name.
    ``lower_case_table_names``: MySQL's server variable (0 case-sensitive tables, 1 and 2 not).
    ``case_sensitive``: a case-sensitive collation (T-SQL), ``spark.sql.caseSensitive``
    (Spark, Databricks), ``enable_case_sensitive_identifier`` (Redshift); None keeps the default.
    ``table_shards``: BigQuery suffixes (regular expressions) of date-sharded tables, which name
    the family they belong to (``events_20240101`` reads ``events``).
    """

    quoted_identifiers_ignore_case: bool = False
    lower_case_table_names: int = 0
    case_sensitive: bool | None = None
    table_shards: tuple[str, ...] = (r"_[0-9]{8}",)


IDENTIFIER_SETTINGS = {
    "quoted_identifiers_ignore_case": ("snowflake",),
    "lower_case_table_names": ("mysql", "doris", "singlestore", "starrocks"),
    "case_sensitive": ("tsql", "fabric", "spark", "spark2", "databricks", "redshift"),
    "table_shards": ("bigquery",),
}


@dataclass(frozen=True)
class EngineSettings:
    kind: str = "embedded"
    url: str | None = None
    urls: tuple[str, ...] = ()
    timeout_ms: int = 2000
    token: str | None = None

    def factory_kwargs(self) -> dict[str, Any]:
        urls = self.urls or ((self.url,) if self.url else ())
        return {"urls": urls, "timeout_ms": self.timeout_ms, "token": self.token}


@dataclass(frozen=True)
class TableEntry:
    """A catalog entry: the table's agency, table-level categories and column categories."""

    name: str
    agency: str | None = None
    categories: tuple[str, ...] = ()
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    line: int | None = None
    grain: str | None = None  # "person": one row per person, so COUNT(*) counts people (SV-06)
    source: str | None = None  # "idi": Stats NZ data, whose output rules bind it (SV-07)
    non_enumerable: tuple[str, ...] = ()  # identifiers too random to reverse by enumeration


@dataclass(frozen=True)
class SharingAgreement:
    id: str
    identified: bool = False
    offshore_basis: str | None = None
    pseudonymised: bool = False  # the agreement is for keyed pseudonyms (SV-04 advisory)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "identified": self.identified,
            "offshore_basis": self.offshore_basis,
            "pseudonymised": self.pseudonymised,
        }


@dataclass(frozen=True)
class Purpose:
    id: str
    description: str = ""
    allowed_categories: tuple[str, ...] = ()
    allowed_uses: tuple[str, ...] = ()
    approved_by: str = ""
    expires: str | None = None
    linking_approved: bool = False
    sensitive_approved: bool | tuple[str, ...] = ()
    sharing_agreement: SharingAgreement | None = None
    output_level: str | None = None  # "aggregate" | "person": what may leave the job (PM-03)
    destinations: tuple[str, ...] = ()  # destination kinds allowed; empty = any (PM-03)
    regions: tuple[str, ...] = ()  # destination regions allowed; empty = any (PM-03)

    def to_dict(self) -> dict[str, Any]:
        sensitive = self.sensitive_approved
        return {
            "id": self.id,
            "description": self.description,
            "allowed_categories": list(self.allowed_categories),
            "allowed_uses": list(self.allowed_uses),
            "approved_by": self.approved_by,
            "expires": self.expires,
            "linking_approved": self.linking_approved,
            "sensitive_approved": sensitive if isinstance(sensitive, bool) else list(sensitive),
            "sharing_agreement": self.sharing_agreement.to_dict() if self.sharing_agreement else None,
            "output_level": self.output_level,
            "destinations": list(self.destinations),
            "regions": list(self.regions),
        }


@dataclass(frozen=True)
class Waiver:
    rule: str
    job: str
    justification: str = ""
    approved_by: str = ""
    expires: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "job": self.job,
            "justification": self.justification,
            "approved_by": self.approved_by,
            "expires": self.expires,
        }


@dataclass(frozen=True)
class Pseudonymisation:
    """Where keyed-hash secrets come from: a hash is keyed only when its input reads one of these."""

    secret_settings: tuple[str, ...] = ()  # current_setting('…') names
    secret_functions: tuple[str, ...] = ()  # functions that return a secret (a vault lookup)
    secret_vars: tuple[str, ...] = ()  # dbt vars holding a secret
    masking_functions: tuple[str, ...] = ()  # reviewed functions that mask (mask_*, redact_* …)

    def to_dict(self) -> dict[str, Any]:
        return {
            "secret_settings": list(self.secret_settings),
            "secret_functions": list(self.secret_functions),
            "secret_vars": list(self.secret_vars),
            "masking_functions": list(self.masking_functions),
        }

    def marks(self) -> frozenset[str]:
        """The analysis's key marks (``key:setting:<name>``, ``key:function:<name>``,
        ``key:var:<name>``) that name a declared secret source."""
        return frozenset(
            [f"key:setting:{name.lower()}" for name in self.secret_settings]
            + [f"key:function:{name.lower()}" for name in self.secret_functions]
            + [f"key:var:{name.lower()}" for name in self.secret_vars]
        )

    def masks(self) -> frozenset[str]:
        """The declared masking functions, lower-cased, as the analysis compares names."""
        return frozenset(name.lower() for name in self.masking_functions)


@dataclass(frozen=True)
class Settings:
    """Validated kaitiaki.yaml. ``path`` is None when no file was found (all defaults)."""

    path: Path | None = None
    agency: str | None = None
    dialect: str | None = None
    mode: str = "enforce"
    engine: EngineSettings = field(default_factory=EngineSettings)
    policies: tuple[Path, ...] = ()
    levels: Mapping[str, str] = field(default_factory=dict)
    identifier_issuers: Mapping[str, str] = field(default_factory=dict)
    decision_log: Path | str | None = None  # a file, "stdout", or an http(s) collector URL
    on_log_failure: str = "block"  # block | warn: a decision that cannot be logged stops the job
    schema_file: Path | None = None
    catalog: Mapping[str, TableEntry] = field(default_factory=dict)
    purposes: Mapping[str, Purpose] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    limits: Limits = field(default_factory=Limits)
    identifiers: Identifiers = field(default_factory=Identifiers)
    default_purpose: str | None = None
    default_destination: Destination = field(default_factory=Destination)
    strict_catalog: bool = False
    owner: str | None = None
    parse_time_check: str = "warn"
    unguarded_tasks: str = "warn"  # Airflow tasks whose SQL no reader can find: allow | warn | block
    unguarded_operators: tuple[str, ...] = ()  # module.Class, exactly (a subclass is not allowlisted)
    unguarded_task_ids: tuple[str, ...] = ()  # dag_id.task_id, fnmatch patterns
    policy_data: Mapping[str, Any] = field(default_factory=dict)
    digest: str | None = None
    required_plugins: Mapping[str, int] = field(default_factory=dict)  # name → line in kaitiaki.yaml
    dbt_operations: tuple[str, ...] = ()  # run-operation macros governance allows (SQL known at run time)
    pseudonymisation: Pseudonymisation = field(default_factory=Pseudonymisation)
    # dotted key (``purposes.x.expires``, ``waivers[0].rule``) → its line, for governance checks
    lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def decision_log_file(self) -> Path | None:
        """The decision log when it is a file; None when it is off or goes to stdout or a collector."""
        return self.decision_log if isinstance(self.decision_log, Path) else None

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


# --- discovery -------------------------------------------------------------------------------


def find_config(explicit: str | os.PathLike[str] | None = None, start: Path | None = None) -> Path | None:
    """The config file to use, or None when there is none (defaults apply)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("config file not found.", path=str(path), hint="check the --config path.")
        return path
    env = os.environ.get(ENV_CONFIG)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(
                f"config file named by ${ENV_CONFIG} not found.", path=str(path), hint=f"unset {ENV_CONFIG}."
            )
        return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_settings(explicit: str | os.PathLike[str] | None = None, start: Path | None = None) -> Settings:
    path = find_config(explicit, start)
    if path is None:
        return Settings()
    return parse_settings(read_text(path), path)


def read_text(path: Path) -> str:
    """The file as UTF-8 text; bytes that are not UTF-8 are an error naming their line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}).",
            path=str(path),
            line=line,
            hint="save kaitiaki.yaml as UTF-8.",
        ) from None


# --- line-aware YAML -------------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """A YAML value with the line it starts on (1-based)."""

    value: Any
    line: int


def compose_located(text: str, path: str) -> Located:
    """YAML text → nested Located values, so every error can name its line.

    libyaml's parser when PyYAML has it (a tenth of the time: every Airflow task process reads
    kaitiaki.yaml once); a text it refuses is read again by PyYAML's own, whose messages say
    where and what.
    """
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        node = _compose_slowly(text, path)
    if node is None:
        return Located({}, 1)
    return _locate(node, path, yaml.constructor.SafeConstructor())


def _compose_slowly(text: str, path: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"YAML syntax error: {problem}.", path=path, line=line, hint="check indentation and quoting."
        ) from None


def _locate(node: yaml.Node, path: str, constructor: yaml.constructor.SafeConstructor) -> Located:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Located] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(
                    "a key must be a plain name, not a list or mapping.",
                    path=path,
                    line=key_node.start_mark.line + 1,
                    hint="remove the '?' complex key.",
                )
            key = constructor.construct_object(key_node)
            if key in out:
                raise ConfigError(f"duplicate key {key!r}.", path=path, line=key_node.start_mark.line + 1)
            out[str(key)] = _locate(value_node, path, constructor)
        return Located(out, line)
    if isinstance(node, yaml.SequenceNode):
        return Located([_locate(item, path, constructor) for item in node.value], line)
    return Located(constructor.construct_object(node), line)


def line_index(root: Located) -> dict[str, int]:
    """Every key's line by dotted path (list items as ``[i]``), so checks made after loading
    (rule ids, waivers, policy data) can still name the line."""
    lines: dict[str, int] = {}

    def visit(node: Located, path: str) -> None:
        if path:
            lines[path] = node.line
        if isinstance(node.value, dict):
            for key, child in node.value.items():
                visit(child, f"{path}.{key}" if path else key)
        elif isinstance(node.value, list):
            for i, child in enumerate(node.value):
                visit(child, f"{path}[{i}]")

    visit(root, "")
    return lines


def plain(value: Located) -> Any:
    """Located tree → plain Python values."""
    if isinstance(value.value, dict):
        return {k: plain(v) for k, v in value.value.items()}
    if isinstance(value.value, list):
        return [plain(v) for v in value.value]
    return value.value


# --- validation ------------------------------------------------------------------------------


class _Validator:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def fail(self, message: str, node: Located, hint: str | None = None) -> ConfigError:
        return ConfigError(message, path=self.name, line=node.line, hint=hint)

    def mapping(
        self, node: Located, where: str, allowed: tuple[str, ...] | None = None
    ) -> dict[str, Located]:
        if not isinstance(node.value, dict):
            raise self.fail(f"{where} must be a mapping, got {_type_name(node.value)}.", node)
        if allowed is not None:
            for key, value in node.value.items():
                if key not in allowed:
                    close = difflib.get_close_matches(key, allowed, n=1)
                    hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(allowed)}."
                    raise self.fail(f"unknown key {key!r} in {where}.", value, hint)
        return dict(node.value)

    def string(self, node: Located, where: str) -> str:
        if isinstance(node.value, bool) or not isinstance(node.value, (str, int, float)):
            raise self.fail(f"{where} must be a string, got {_type_name(node.value)}.", node)
        return str(node.value)

    def optional_string(self, node: Located | None, where: str) -> str | None:
        if node is None or node.value is None:
            return None
        return self.string(node, where)

    def boolean(self, node: Located, where: str) -> bool:
        if not isinstance(node.value, bool):
            raise self.fail(f"{where} must be true or false, got {node.value!r}.", node)
        return node.value

    def integer(self, node: Located, where: str, minimum: int = 1) -> int:
        value: object = node.value
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"{where} must be an integer >= {minimum}, got {value!r}.", node)
        return value

    def choice(self, node: Located, where: str, choices: tuple[str, ...]) -> str:
        value = self.string(node, where)
        if value not in choices:
            raise self.fail(f"{where} is {value!r}; it must be one of {', '.join(choices)}.", node)
        return value

    def strings(self, node: Located, where: str) -> tuple[str, ...]:
        if isinstance(node.value, str):
            return (node.value,)
        if not isinstance(node.value, list):
            raise self.fail(f"{where} must be a list of strings, got {_type_name(node.value)}.", node)
        return tuple(self.string(item, f"an item of {where}") for item in node.value)

    def date(self, node: Located | None, where: str) -> str | None:
        if node is None or node.value is None:
            return None
        value = node.value
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise self.fail(f"{where} must be a date (YYYY-MM-DD), got {value!r}.", node)

    def relative_path(self, node: Located, where: str) -> Path:
        return (self.path.parent / self.string(node, where)).resolve()


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# The keys each mapping accepts come from the one model of kaitiaki.yaml (config_model.py), which
# also generates the JSON Schema and the reference: declare a new key there.
TOP_KEYS = keys_of()
CATALOG_KEYS = keys_of("catalog", "*")
PURPOSE_KEYS = keys_of("purposes", "*")
SHARING_AGREEMENT_KEYS = keys_of("purposes", "*", "sharing_agreement")
WAIVER_KEYS = keys_of("waivers", "*")


def parse_settings(text: str, path: Path) -> Settings:
    """Validate kaitiaki.yaml text; every error names ``path`` and the line."""
    v = _Validator(path)
    root = compose_located(text, str(path))
    top = v.mapping(root, "kaitiaki.yaml", TOP_KEYS)
    get = top.get
    kwargs: dict[str, Any] = {"path": path, "digest": config_digest(text), "lines": line_index(root)}
    if "agency" in top:
        kwargs["agency"] = v.string(top["agency"], "agency")
    if "owner" in top:
        kwargs["owner"] = v.string(top["owner"], "owner")
    if "dialect" in top:
        kwargs["dialect"] = _dialect(v, top["dialect"])
    if "mode" in top:
        kwargs["mode"] = v.choice(top["mode"], "mode", MODES)
    if "engine" in top:
        kwargs["engine"] = _engine(v, top["engine"])
    if "policies" in top:
        kwargs["policies"] = tuple(
            _existing(v, item, "policies") for item in _as_list(v, top["policies"], "policies")
        )
    if "levels" in top:
        levels = v.mapping(top["levels"], "levels")
        kwargs["levels"] = {rule: v.choice(node, f"levels.{rule}", LEVELS) for rule, node in levels.items()}
    if "identifier_issuers" in top:
        issuers = v.mapping(top["identifier_issuers"], "identifier_issuers")
        kwargs["identifier_issuers"] = {
            scheme: v.string(node, f"identifier_issuers.{scheme}") for scheme, node in issuers.items()
        }
    kwargs["decision_log"] = _decision_log(v, get("decision_log"))
    if "on_log_failure" in top:
        kwargs["on_log_failure"] = v.choice(top["on_log_failure"], "on_log_failure", LOG_FAILURE_MODES)
    if "schema" in top:
        kwargs["schema_file"] = _existing(v, top["schema"], "schema")
    if "catalog" in top:
        kwargs["catalog"] = _catalog(v, top["catalog"])
    if "purposes" in top:
        kwargs["purposes"] = _purposes(v, top["purposes"])
    if "waivers" in top:
        kwargs["waivers"] = tuple(_waiver(v, item) for item in _as_list(v, top["waivers"], "waivers"))
    if "limits" in top:
        limits = v.mapping(top["limits"], "limits", keys_of("limits"))
        kwargs["limits"] = Limits(**{k: v.integer(n, f"limits.{k}") for k, n in limits.items()})
    if "identifiers" in top:
        kwargs["identifiers"] = _identifiers(v, top["identifiers"], kwargs.get("dialect"))
    if "default_purpose" in top:
        kwargs["default_purpose"] = v.optional_string(top["default_purpose"], "default_purpose")
    if "default_destination" in top:
        kwargs["default_destination"] = destination_from(
            plain(top["default_destination"]), where=f"{path}:{top['default_destination'].line}"
        )
    if "strict_catalog" in top:
        kwargs["strict_catalog"] = v.boolean(top["strict_catalog"], "strict_catalog")
    if "required_plugins" in top:
        kwargs["required_plugins"] = {
            v.string(node, "an item of required_plugins"): node.line
            for node in _as_list(v, top["required_plugins"], "required_plugins")
        }
    if "airflow" in top:
        kwargs.update(_airflow(v, top["airflow"]))
    if "dbt" in top:
        dbt = v.mapping(top["dbt"], "dbt", ("operations",))
        if "operations" in dbt:
            kwargs["dbt_operations"] = v.strings(dbt["operations"], "dbt.operations")
    if "pseudonymisation" in top:
        kwargs["pseudonymisation"] = _pseudonymisation(v, top["pseudonymisation"])
    if "policy_data" in top:
        v.mapping(top["policy_data"], "policy_data")
        kwargs["policy_data"] = _json_data(v, top["policy_data"], "policy_data")
    return Settings(**kwargs)


def _airflow(v: _Validator, node: Located) -> dict[str, Any]:
    """``airflow:``: the parse-time check, and what to do with tasks whose SQL kaitiaki cannot find."""
    airflow = v.mapping(node, "airflow", keys_of("airflow"))
    out: dict[str, Any] = {}
    if "parse_time_check" in airflow:
        out["parse_time_check"] = v.choice(
            airflow["parse_time_check"], "airflow.parse_time_check", PARSE_TIME_MODES
        )
    if "unguarded_tasks" in airflow:
        out["unguarded_tasks"] = v.choice(
            airflow["unguarded_tasks"], "airflow.unguarded_tasks", UNGUARDED_MODES
        )
    if "unguarded_allow" in airflow:
        allow = v.mapping(
            airflow["unguarded_allow"], "airflow.unguarded_allow", keys_of("airflow", "unguarded_allow")
        )
        if "operators" in allow:
            out["unguarded_operators"] = v.strings(allow["operators"], "airflow.unguarded_allow.operators")
        if "tasks" in allow:
            out["unguarded_task_ids"] = v.strings(allow["tasks"], "airflow.unguarded_allow.tasks")
    return out


def _identifiers(v: _Validator, node: Located, dialect: str | None) -> Identifiers:
    """Platform settings that change how names compare; one that the dialect has not is an error."""
    items = v.mapping(node, "identifiers", keys_of("identifiers"))
    for key, item in items.items():
        if dialect is not None and dialect not in IDENTIFIER_SETTINGS[key]:
            raise v.fail(
                f"identifiers.{key} is a setting of {', '.join(IDENTIFIER_SETTINGS[key])}, not of {dialect}.",
                item,
                "remove it, or set the dialect of the platform it belongs to.",
            )
    kwargs: dict[str, Any] = {}
    if "quoted_identifiers_ignore_case" in items:
        key = "quoted_identifiers_ignore_case"
        kwargs[key] = v.boolean(items[key], f"identifiers.{key}")
    if "lower_case_table_names" in items:
        value = items["lower_case_table_names"]
        if value.value not in (0, 1, 2) or isinstance(value.value, bool):
            raise v.fail(f"identifiers.lower_case_table_names must be 0, 1 or 2, got {value.value!r}.", value)
        kwargs["lower_case_table_names"] = value.value
    if "case_sensitive" in items:
        kwargs["case_sensitive"] = v.boolean(items["case_sensitive"], "identifiers.case_sensitive")
    if "table_shards" in items:
        kwargs["table_shards"] = v.strings(items["table_shards"], "identifiers.table_shards")
        for pattern in kwargs["table_shards"]:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise v.fail(
                    f"identifiers.table_shards: {pattern!r} is not a regular expression ({exc}).",
                    items["table_shards"],
                ) from None
    return Identifiers(**kwargs)


def config_digest(text: str) -> str:
    """``sha256:`` of kaitiaki.yaml's text: the policy revision does not cover the catalog, the
    purposes, the waivers or the mode, so decision records name the file that was read by this."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_data(v: _Validator, node: Located, where: str) -> Any:
    """Data for Rego must be JSON: dates become ISO strings; NaN, infinities and other types are errors."""
    value = node.value
    if isinstance(value, dict):
        return {k: _json_data(v, item, f"{where}.{k}") for k, item in value.items()}
    if isinstance(value, list):
        return [_json_data(v, item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise v.fail(f"{where} is {value}; policy data must be a finite number.", node)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise v.fail(f"{where} holds {_type_name(value)}, which is not JSON data.", node)


def _as_list(v: _Validator, node: Located, where: str) -> list[Located]:
    if not isinstance(node.value, list):
        raise v.fail(f"{where} must be a list, got {_type_name(node.value)}.", node)
    return list(node.value)


def _existing(v: _Validator, node: Located, where: str) -> Path:
    target = v.relative_path(node, where)
    if not target.exists():
        raise v.fail(f"{where}: {target} does not exist.", node, "paths are relative to kaitiaki.yaml.")
    return target


def _dialect(v: _Validator, node: Located) -> str:
    from kaitiaki.analysis.dialects import known_dialects

    value = v.string(node, "dialect").lower()
    if value not in known_dialects():
        raise v.fail(f"unknown dialect {value!r}.", node, f"valid dialects: {', '.join(known_dialects())}.")
    return value


def _engine(v: _Validator, node: Located) -> EngineSettings:
    engine = v.mapping(node, "engine", keys_of("engine"))
    kwargs: dict[str, Any] = {}
    if "kind" in engine:
        kwargs["kind"] = v.string(engine["kind"], "engine.kind")
    if "url" in engine:
        kwargs["url"] = v.string(engine["url"], "engine.url")
    if "urls" in engine:
        kwargs["urls"] = v.strings(engine["urls"], "engine.urls")
    if "timeout_ms" in engine:
        kwargs["timeout_ms"] = v.integer(engine["timeout_ms"], "engine.timeout_ms")
    if "token" in engine:
        token = v.string(engine["token"], "engine.token")
        kwargs["token"] = os.environ.get(token[1:], "") if token.startswith("$") else token
    return EngineSettings(**kwargs)


def _decision_log(v: _Validator, node: Located | None) -> Path | str | None:
    """A file (relative to kaitiaki.yaml), ``stdout``, an ``http(s)://`` collector, or off."""
    if node is None:
        return (v.path.parent / ".kaitiaki" / "decisions.jsonl").resolve()
    if node.value is False:
        return None
    named = v.string(node, "decision_log")
    if named == STDOUT_SINK or named.startswith(("http://", "https://")):
        return named
    return v.relative_path(node, "decision_log")


def _catalog(v: _Validator, node: Located) -> dict[str, TableEntry]:
    out: dict[str, TableEntry] = {}
    for table, entry_node in v.mapping(node, "catalog").items():
        where = f"catalog.{table}"
        entry = v.mapping(entry_node, where, CATALOG_KEYS)
        columns: dict[str, tuple[str, ...]] = {}
        if "columns" in entry and entry["columns"].value is not None:
            for column, cats in v.mapping(entry["columns"], f"{where}.columns").items():
                columns[column.lower()] = _categories(v, cats, f"{where}.columns.{column}")
        out[table.lower()] = TableEntry(
            name=table.lower(),
            agency=v.optional_string(entry.get("agency"), f"{where}.agency"),
            categories=_categories(v, entry["categories"], f"{where}.categories")
            if "categories" in entry
            else (),
            columns=columns,
            line=entry_node.line,
            grain=v.choice(entry["grain"], f"{where}.grain", GRAINS) if "grain" in entry else None,
            source=v.optional_string(entry.get("source"), f"{where}.source"),
            non_enumerable=tuple(
                c.lower() for c in v.strings(entry["non_enumerable"], f"{where}.non_enumerable")
            )
            if "non_enumerable" in entry
            else (),
        )
    return out


def _pseudonymisation(v: _Validator, node: Located) -> Pseudonymisation:
    keys = keys_of("pseudonymisation")
    given = v.mapping(node, "pseudonymisation", keys)
    return Pseudonymisation(**{k: v.strings(given[k], f"pseudonymisation.{k}") for k in keys if k in given})


def _choices(v: _Validator, node: Located, where: str, choices: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.choice(item, f"{where}[{i}]", choices) for i, item in enumerate(_as_list(v, node, where)))


def _categories(v: _Validator, node: Located, where: str) -> tuple[str, ...]:
    from kaitiaki.classify.categories import check_category

    if node.value is None:
        return ()
    cats = v.strings(node, where)
    items = node.value if isinstance(node.value, list) else [node]
    for cat, item in zip(cats, items, strict=False):
        problem = check_category(cat)
        if problem:
            raise v.fail(f"{where}: {problem}", item, category_hint(cat))
    return cats


def _allowed_categories(v: _Validator, node: Located, where: str) -> tuple[str, ...]:
    """A purpose's categories: each a category, a whole family (``sensitive``) or ``*``. A typo
    would only ever block (PM-03), but silently: it is an error like one in the catalog."""
    from kaitiaki.classify.categories import FAMILIES, check_category

    cats = v.strings(node, where)
    items = node.value if isinstance(node.value, list) else [node]
    for cat, item in zip(cats, items, strict=False):
        if cat == "*" or cat in FAMILIES:
            continue
        problem = check_category(cat)
        if problem:
            raise v.fail(f"{where}: {problem}", item, category_hint(cat))
    return cats


def category_hint(category: str) -> str:
    """Did-you-mean for a misspelt category (``unique_identifer`` → ``unique_identifier``)."""
    from kaitiaki.classify.categories import FAMILIES, PLAIN_CATEGORIES

    family, sep, kind = category.partition(":")
    close = difflib.get_close_matches(family, (*PLAIN_CATEGORIES, *FAMILIES), n=1, cutoff=0.7)
    if close:
        return f"did you mean {close[0] + sep + kind!r}? See docs/classification.md for the categories."
    return "see docs/classification.md for the categories."


def _purposes(v: _Validator, node: Located) -> dict[str, Purpose]:
    out: dict[str, Purpose] = {}
    for pid, pnode in v.mapping(node, "purposes").items():
        where = f"purposes.{pid}"
        p = v.mapping(pnode, where, PURPOSE_KEYS)
        sensitive: bool | tuple[str, ...] = ()
        if "sensitive_approved" in p:
            snode = p["sensitive_approved"]
            sensitive = (
                snode.value
                if isinstance(snode.value, bool)
                else v.strings(snode, f"{where}.sensitive_approved")
            )
        agreement = None
        if "sharing_agreement" in p and p["sharing_agreement"].value is not None:
            a = v.mapping(p["sharing_agreement"], f"{where}.sharing_agreement", SHARING_AGREEMENT_KEYS)
            if "id" not in a:
                raise v.fail(f"{where}.sharing_agreement needs an 'id'.", p["sharing_agreement"])
            agreement = SharingAgreement(
                id=v.string(a["id"], f"{where}.sharing_agreement.id"),
                identified=v.boolean(a["identified"], f"{where}.sharing_agreement.identified")
                if "identified" in a
                else False,
                offshore_basis=v.optional_string(
                    a.get("offshore_basis"), f"{where}.sharing_agreement.offshore_basis"
                ),
                pseudonymised=v.boolean(a["pseudonymised"], f"{where}.sharing_agreement.pseudonymised")
                if "pseudonymised" in a
                else False,
            )
        out[pid] = Purpose(
            id=pid,
            description=v.string(p["description"], f"{where}.description") if "description" in p else "",
            allowed_categories=_allowed_categories(v, p["allowed_categories"], f"{where}.allowed_categories")
            if "allowed_categories" in p
            else (),
            allowed_uses=v.strings(p["allowed_uses"], f"{where}.allowed_uses") if "allowed_uses" in p else (),
            approved_by=v.optional_string(p.get("approved_by"), f"{where}.approved_by") or "",
            expires=v.date(p.get("expires"), f"{where}.expires"),
            linking_approved=v.boolean(p["linking_approved"], f"{where}.linking_approved")
            if "linking_approved" in p
            else False,
            sensitive_approved=sensitive,
            sharing_agreement=agreement,
            output_level=v.choice(p["output_level"], f"{where}.output_level", OUTPUT_LEVELS)
            if "output_level" in p
            else None,
            destinations=_choices(v, p["destinations"], f"{where}.destinations", DESTINATION_KINDS)
            if "destinations" in p
            else (),
            regions=_choices(v, p["regions"], f"{where}.regions", REGIONS) if "regions" in p else (),
        )
    return out


def _waiver(v: _Validator, node: Located) -> Waiver:
    w = v.mapping(node, "a waiver", WAIVER_KEYS)
    for required in ("rule", "job"):
        if required not in w:
            raise v.fail(
                f"a waiver needs {required!r}.", node, "a waiver names the rule and the job it waives."
            )
    return Waiver(
        rule=v.string(w["rule"], "waiver.rule"),
        job=v.string(w["job"], "waiver.job"),
        justification=v.optional_string(w.get("justification"), "waiver.justification") or "",
        approved_by=v.optional_string(w.get("approved_by"), "waiver.approved_by") or "",
        expires=v.date(w.get("expires"), "waiver.expires"),
        line=node.line,
    )


def destination_from(value: Any, *, where: str = "destination") -> Destination:
    """``internal`` or ``{kind, region, name}`` → Destination; raises ConfigError otherwise."""
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: a destination is a kind string or a mapping {{kind, region}}.")
    unknown = set(value) - {"kind", "region", "name"}
    if unknown:
        raise ConfigError(f"{where}: unknown destination key(s) {', '.join(sorted(unknown))}.")
    kind = str(value.get("kind", "internal"))
    region = str(value.get("region", "nz"))
    if kind not in DESTINATION_KINDS:
        raise ConfigError(
            f"{where}: destination kind {kind!r} must be one of {', '.join(DESTINATION_KINDS)}."
        )
    if region not in REGIONS:
        raise ConfigError(f"{where}: destination region {region!r} must be one of {', '.join(REGIONS)}.")
    name = value.get("name")
    return Destination(kind=kind, region=region, name=str(name) if name is not None else None)
