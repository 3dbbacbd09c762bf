"""The model of kaitiaki.yaml: every key, its type, what it means and an example.

This is the one place a key is declared. ``config.py`` takes the keys it accepts in each mapping
from here (``keys_of``), ``json_schema()`` builds the JSON Schema editors and CI read
(``kaitiaki config schema``, shipped as ``kaitiaki/kaitiaki.schema.json``), and
``reference_rows()`` the key reference in docs/configuration.md. A key added here is accepted,
typed in the schema and listed in the reference at once; a key that is parsed but not declared
here is rejected as unknown, so the three cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kaitiaki.model import DESTINATION_KINDS, LEVELS, MODES, REGIONS, USES

SCHEMA_FILE = "kaitiaki.schema.json"
GRAINS = ("person", "event", "other")
OUTPUT_LEVELS = ("aggregate", "person")


@dataclass(frozen=True)
class Key:
    """One key's value: its JSON Schema (``schema``, without the description), what it means
    (``doc``, one sentence or two), an ``example`` value, and for a mapping its fixed keys
    (``keys``) or the entry every free-named key holds (``entry``, e.g. a catalog table); for a
    list of mappings (waivers) ``entry`` is the item."""

    doc: str
    schema: Mapping[str, Any] = field(default_factory=dict)
    example: Any = None
    keys: Mapping[str, Key] | None = None
    entry: Key | None = None
    entry_name: str = ""  # how the reference names a free key: <table>, <purpose>
    required: tuple[str, ...] = ()


# --- value kinds -------------------------------------------------------------------------------

# Category strings are typed by a pattern built from the vocabulary when the schema is generated
# (classify/ imports config, so this module cannot import it at load time).
CATEGORY = "kaitiaki-category"
ALLOWED_CATEGORY = "kaitiaki-allowed-category"  # also a family (``sensitive``) or ``*``


def category_pattern(allowed: bool) -> str:
    from kaitiaki.classify.categories import FAMILIES, PLAIN_CATEGORIES

    plain, families = "|".join(PLAIN_CATEGORIES), "|".join(FAMILIES)
    if allowed:
        return f"^({plain}|({families})(:[a-z0-9_]+)?|\\*)$"
    return f"^({plain}|({families}):[a-z0-9_]+)$"


DATE = {"type": "string", "format": "date"}
DATE_OR_NULL = {"anyOf": [DATE, {"type": "null"}]}


def text(doc: str, example: Any = None) -> Key:
    return Key(doc, {"type": "string"}, example)


def flag(doc: str, example: Any = None) -> Key:
    return Key(doc, {"type": "boolean"}, example)


def whole(doc: str, example: Any = None, minimum: int = 1) -> Key:
    return Key(doc, {"type": "integer", "minimum": minimum}, example)


def choice(doc: str, choices: tuple[str, ...], example: Any = None) -> Key:
    return Key(doc, {"type": "string", "enum": list(choices)}, example)


def texts(doc: str, example: Any = None, item: Mapping[str, Any] | None = None) -> Key:
    return Key(doc, {"type": "array", "items": dict(item or {"type": "string"})}, example)


def date(doc: str, example: Any = None) -> Key:
    return Key(doc, DATE_OR_NULL, example)


def section(doc: str, keys: Mapping[str, Key], example: Any = None, required: tuple[str, ...] = ()) -> Key:
    return Key(doc, {"type": "object"}, example, keys=keys, required=required)


def named(doc: str, entry: Key, entry_name: str, example: Any = None) -> Key:
    return Key(doc, {"type": "object"}, example, entry=entry, entry_name=entry_name)


def items(doc: str, entry: Key, example: Any = None) -> Key:
    return Key(doc, {"type": "array"}, example, entry=entry, entry_name="[]")


CATEGORIES = {"type": "string", "format": CATEGORY}
DESTINATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": list(DESTINATION_KINDS)},
        "region": {"type": "string", "enum": list(REGIONS)},
        "name": {"type": "string"},
    },
}

# --- the model -------------------------------------------------------------------------------

CATALOG_ENTRY = section(
    "A table (as the SQL names it, e.g. `health.patients`) and what identifies people in it.",
    {
        "agency": text("The agency that holds the table (who issued its identifiers).", "moh"),
        "categories": texts(
            "Categories of the whole table (e.g. `child` when every row is about a child).",
            ["child"],
            CATEGORIES,
        ),
        "columns": named(
            "Column → its categories. `[]` marks a column known to identify no one; `columns: {}` a "
            "known table with no identifying columns (it also counts as schema for `SELECT *`).",
            Key(
                "The column's categories.",
                {"anyOf": [{"type": "array", "items": CATEGORIES}, {"type": "null"}]},
                ["unique_identifier:nhi"],
            ),
            "<column>",
            {"nhi": ["unique_identifier:nhi"], "full_name": ["direct_identifier"], "admitted_on": []},
        ),
        "description": text("What the table holds, for people reading the catalog.", "Hospital patients"),
        "owner": text("Who looks after the table.", "Health data team"),
        "grain": choice(
            "What one row is: `person` (one row per person, so COUNT(*) counts people: SV-06), "
            "`event` or `other`.",
            GRAINS,
            "person",
        ),
        "source": text(
            "Where the data comes from; `idi` (Stats NZ IDI) makes its output rules bind (SV-07 hard).", "idi"
        ),
        "non_enumerable": texts(
            "Identifier columns too random to enumerate, so an unkeyed hash of them is not reversible.",
            ["token"],
        ),
    },
)

SHARING_AGREEMENT = section(
    "The agreement under which the purpose shares data outside the agency (SV rules).",
    {
        "id": text("The agreement's reference.", "DSA-7"),
        "identified": flag("Whether the agreement allows identified (not de-identified) data.", False),
        "offshore_basis": Key(
            "The Privacy Act IPP12 basis for sending data offshore, if any.",
            {"type": ["string", "null"]},
            None,
        ),
        "pseudonymised": flag("Whether the agreement is for keyed pseudonyms (SV-04 advisory).", True),
    },
    required=("id",),
)

PURPOSE = section(
    "A registered purpose a job may declare (`--purpose`, dbt `meta.kaitiaki.purpose`, Airflow params).",
    {
        "description": text(
            "What the purpose is for (and not for); vague phrases such as 'future use' are flagged (PM-04).",
            "Reduce avoidable readmissions (aggregate statistics only)",
        ),
        "allowed_categories": texts(
            "Categories the purpose may use. A family (`sensitive`, `unique_identifier`) admits all "
            "its kinds; `*` admits everything (and is flagged as vague).",
            ["quasi_identifier", "sensitive:health"],
            {"type": "string", "format": ALLOWED_CATEGORY},
        ),
        "allowed_uses": texts(
            "Uses the purpose allows (empty: any); `*` admits every use.",
            ["select", "group"],
            {"type": "string", "enum": [*USES, "*"]},
        ),
        "approved_by": text("Who approved the purpose; reports send people here.", "Data Governance Board"),
        "expires": date(
            "The last day the purpose is in force (YYYY-MM-DD); after it PM-02 blocks.", "2027-06-30"
        ),
        "linking_approved": flag("Whether joining identifiable tables is approved (PM-10, PM-11).", False),
        "sensitive_approved": Key(
            "Sensitive kinds approved for the purpose (`[health, ethnicity]`), or `true` for all (PM-08).",
            {"anyOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]},
            ["health"],
        ),
        "sharing_agreement": Key(
            SHARING_AGREEMENT.doc,
            {"anyOf": [{"type": "object"}, {"type": "null"}]},
            {"id": "DSA-7", "identified": False, "offshore_basis": None, "pseudonymised": True},
            keys=SHARING_AGREEMENT.keys,
            required=SHARING_AGREEMENT.required,
        ),
        "owner": text("Who looks after the purpose's register entry.", "Research team"),
        "output_level": choice(
            "What the purpose allows out of a job: `aggregate` or `person`-level rows (PM-03, hard).",
            OUTPUT_LEVELS,
            "aggregate",
        ),
        "destinations": texts(
            "Destination kinds the purpose allows (empty: any).",
            ["internal"],
            {"type": "string", "enum": list(DESTINATION_KINDS)},
        ),
        "regions": texts(
            "Destination regions the purpose allows (empty: any).",
            ["nz"],
            {"type": "string", "enum": list(REGIONS)},
        ),
    },
)

WAIVER = section(
    "A waiver lifts a soft rule's finding for one job until it expires. Hard rules cannot be waived.",
    {
        "rule": text("The rule id, exactly as the policies name it (case-sensitive: `PM-07`).", "PM-07"),
        "job": text(
            "The job id: `sql:<path relative to kaitiaki.yaml>`, `dbt:model.<project>.<name>` or "
            "`airflow:<dag_id>.<task_id>`.",
            "sql:jobs/outreach.sql",
        ),
        "justification": text(
            "Why the finding is acceptable; a waiver without one is ignored.", "Ticket DG-311"
        ),
        "approved_by": text(
            "Who granted the waiver; a waiver without one is ignored.", "Data Governance Board"
        ),
        "expires": date(
            "The last day the waiver counts (YYYY-MM-DD); without one it is ignored.", "2027-01-31"
        ),
    },
    required=("rule", "job"),
)

CONFIG = section(
    "kaitiaki.yaml: every key is optional.",
    {
        "agency": text("Your agency's short name; a foreign identifier is one another agency issued.", "msd"),
        "owner": text("The default owner of jobs that name none.", "Data platform team"),
        "dialect": Key(
            "The SQL dialect of jobs that name none (any sqlglot dialect).", {"type": "string"}, "postgres"
        ),
        "mode": choice(
            "`enforce` blocks denied jobs, `warn` prints and runs them, `audit` only logs.", MODES, "enforce"
        ),
        "engine": section(
            "The Rego engine that decides.",
            {
                "kind": text("`embedded` (default), `regopy` or `opa` (or a plugin's).", "embedded"),
                "url": text("An OPA server's URL (kind `opa`).", "http://127.0.0.1:8181"),
                "urls": texts("Several OPA servers, tried in turn (kind `opa`).", ["http://opa-1:8181"]),
                "timeout_ms": whole("How long to wait for a decision, in milliseconds.", 2000),
                "token": text(
                    "A bearer token for OPA, or `$VARIABLE` to read it from the environment.", "$OPA_TOKEN"
                ),
            },
            {"kind": "embedded"},
        ),
        "policies": texts(
            "Policy folders or files, relative to kaitiaki.yaml (default: the bundled DPUP library).",
            ["policies/dpup", "policies/custom"],
        ),
        "levels": named(
            "Per-rule level overrides: `advisory` never blocks, `soft` blocks unless waived, `hard` always.",
            choice("The level for this rule.", LEVELS, "advisory"),
            "<rule>",
            {"PM-05": "advisory"},
        ),
        "identifier_issuers": named(
            "Identifier scheme → the agency that issues it (data.kaitiaki.issuer in Rego).",
            text("The issuing agency.", "moh"),
            "<scheme>",
            {"nhi": "moh", "ird": "ird", "nsn": "moe", "msd_client": "msd"},
        ),
        "decision_log": Key(
            "Where decisions are appended: a file (relative to kaitiaki.yaml), `stdout` (one JSON "
            "line each) or an `http(s)://` collector (OPA's decision-log upload format); `false` turns "
            "the log off.",
            {"anyOf": [{"type": "string"}, {"const": False}]},
            ".kaitiaki/decisions.jsonl",
        ),
        "on_log_failure": choice(
            "A decision that cannot be logged: `block` stops the job (fail closed), `warn` reports it and "
            "the decision stands.",
            ("block", "warn"),
            "block",
        ),
        "schema": text(
            "A schema file (table → {column: type}) for `SELECT *` and unqualified columns.", "schema.yaml"
        ),
        "catalog": named(
            "What identifies people in each table.",
            CATALOG_ENTRY,
            "<table>",
            {"health.patients": {"agency": "moh", "columns": {"nhi": ["unique_identifier:nhi"]}}},
        ),
        "purposes": named(
            "The purpose register.",
            PURPOSE,
            "<purpose>",
            {
                "readmission-research": {
                    "description": "Reduce avoidable readmissions (aggregate statistics only)",
                    "allowed_categories": ["quasi_identifier", "sensitive:health"],
                    "approved_by": "Data Governance Board",
                    "expires": "2027-06-30",
                }
            },
        ),
        "waivers": items(
            "Waivers of soft findings, one per rule and job.",
            WAIVER,
            [
                {
                    "rule": "PM-05",
                    "job": "sql:jobs/outreach.sql",
                    "justification": "Column list being narrowed in DG-142",
                    "approved_by": "Data Governance Board",
                    "expires": "2027-01-31",
                }
            ],
        ),
        "limits": section(
            "Input limits checked before parsing; a job over one is denied (SYS-01).",
            {
                "max_sql_bytes": whole("The largest SQL text analysed.", 1_000_000),
                "max_depth": whole("The deepest nesting of expressions.", 500),
                "max_statements": whole("The most statements in one job.", 1000),
            },
            {"max_sql_bytes": 1_000_000},
        ),
        "identifiers": section(
            "Platform settings that change how names compare (docs/analysis.md, Names); "
            "a setting the configured dialect does not have is an error.",
            {
                "quoted_identifiers_ignore_case": flag(
                    "Snowflake `QUOTED_IDENTIFIERS_IGNORE_CASE`: quoted names fold to upper case too.", True
                ),
                "lower_case_table_names": Key(
                    "MySQL `lower_case_table_names`: 0 table names compare with case, 1 or 2 without.",
                    {"type": "integer", "enum": [0, 1, 2]},
                    1,
                ),
                "case_sensitive": flag(
                    "T-SQL case-sensitive collation, Spark/Databricks `spark.sql.caseSensitive`, "
                    "Redshift `enable_case_sensitive_identifier`.",
                    True,
                ),
                "table_shards": texts(
                    "BigQuery: suffixes (regular expressions) of date-sharded tables; "
                    "`events_20240101` reads `events`. Default `_[0-9]{8}`.",
                    ["_[0-9]{8}", "_[0-9]{6}"],
                ),
            },
            {},
        ),
        "default_purpose": Key(
            "The purpose of jobs that declare none.", {"type": ["string", "null"]}, "readmission-research"
        ),
        "default_destination": Key(
            "Where jobs' outputs go when they do not say: a kind, or {kind, region, name}.",
            {"anyOf": [{"type": "string", "enum": list(DESTINATION_KINDS)}, DESTINATION]},
            {"kind": "internal", "region": "nz"},
        ),
        "strict_catalog": flag("Deny jobs that read a table the catalog does not list.", False),
        "airflow": section(
            "Airflow settings.",
            {
                "parse_time_check": choice(
                    "At DAG parse time: `off`, `warn` (log findings) or `block` (an import error).",
                    ("off", "warn", "block"),
                    "warn",
                ),
                "unguarded_tasks": choice(
                    "Tasks whose SQL no reader finds (a PythonOperator calling a hook): `allow`, `warn` "
                    "(named at parse time) or `block` (failed before they run).",
                    ("allow", "warn", "block"),
                    "warn",
                ),
                "unguarded_allow": section(
                    "Unguarded tasks governance has looked at: never warned about or blocked.",
                    {
                        "operators": texts(
                            "Operator classes as `module.Class`, exactly (not their subclasses).",
                            ["airflow.providers.standard.operators.bash.BashOperator"],
                        ),
                        "tasks": texts("Tasks as `dag_id.task_id` (fnmatch patterns).", ["reports.notify_*"]),
                    },
                    {"tasks": ["reports.notify_*"]},
                ),
            },
            {"parse_time_check": "warn", "unguarded_tasks": "warn"},
        ),
        "dbt": section(
            "dbt settings.",
            {
                "operations": texts(
                    "Macros `kaitiaki dbt run-operation` may run (`name` or `package.name`): their SQL "
                    "exists only while they run, so any other macro is blocked (SYS-01).",
                    ["grant_reporting_access"],
                )
            },
            {"operations": ["grant_reporting_access"]},
        ),
        "policy_data": Key(
            "Overrides of the policies' data (data.kaitiaki in Rego), e.g. thresholds under `params`; "
            "`kaitiaki config check` reports keys the policies do not define.",
            {"type": "object"},
            {"params": {"min_count_cell": 10}},
        ),
        "pseudonymisation": section(
            "Where keyed-hash secrets come from: a hash is keyed (a pseudonym, not reversible by "
            "enumeration) only when its input reads one of these; and which of the platform's "
            "own functions mask.",
            {
                "secret_settings": texts(
                    "Settings that hold a secret key, read at run time and never set by the job "
                    "(`current_setting('msd.link_key')`, DuckDB `getvariable('link_key')`).",
                    ["msd.link_key"],
                ),
                "secret_functions": texts(
                    "Functions that return a secret (a vault lookup), called with no column.",
                    ["vault_secret"],
                ),
                "secret_vars": texts(
                    "dbt vars (`{{ var('link_key') }}`) and environment variables "
                    "(`{{ env_var('LINK_KEY') }}`) that hold a secret, given at run time "
                    "(`--vars`, the environment): `kaitiaki dbt` finds where the model's compiled "
                    "SQL holds them. A call with a default, or a var dbt_project.yml sets, is a "
                    "key committed to the repository and keys nothing.",
                    ["link_key"],
                ),
                "masking_functions": texts(
                    "Functions of the platform that governance has reviewed as masking a value "
                    "(showing at most 4 of its characters). A function named like a mask "
                    "(`mask_*`, `redact_*`, `anonymise_*`) masks only when it is listed here: its "
                    "name alone says nothing about what it returns.",
                    ["mask_client_key"],
                ),
            },
            {"secret_settings": ["msd.link_key"]},
        ),
        "required_plugins": texts(
            "Plugins that must be loaded (e.g. `nz`); without one every command stops.", ["nz"]
        ),
    },
)


# --- lookups -----------------------------------------------------------------------------------


def key_at(*path: str) -> Key:
    """The Key at a path of names; ``*`` steps into a free-named mapping's or a list's entry."""
    key = CONFIG
    for name in path:
        if name == "*":
            if key.entry is None:
                raise KeyError(path)
            key = key.entry
        else:
            if key.keys is None:
                raise KeyError(path)
            key = key.keys[name]
    return key


def keys_of(*path: str) -> tuple[str, ...]:
    """The keys the mapping at ``path`` accepts (what config.py validates against)."""
    key = key_at(*path)
    return tuple(key.keys or ())


# --- JSON Schema -------------------------------------------------------------------------------


def _typed(schema: Any) -> Any:
    """The schema with category formats replaced by their patterns."""
    if isinstance(schema, Mapping):
        out = {k: _typed(v) for k, v in schema.items()}
        if out.get("format") in (CATEGORY, ALLOWED_CATEGORY):
            out["pattern"] = category_pattern(out.pop("format") == ALLOWED_CATEGORY)
        return out
    if isinstance(schema, list):
        return [_typed(item) for item in schema]
    return schema


def schema_of(key: Key) -> dict[str, Any]:
    out: dict[str, Any] = {"description": key.doc, **_typed(key.schema)}
    if key.keys is not None:
        body: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: schema_of(child) for name, child in key.keys.items()},
        }
        if key.required:
            body["required"] = list(key.required)
        if "anyOf" in out:
            out["anyOf"] = [body if alt.get("type") == "object" else alt for alt in out["anyOf"]]
        else:
            out.update(body)
    elif key.entry is not None and key.schema.get("type") == "object":
        out["additionalProperties"] = schema_of(key.entry)
    elif key.entry is not None:
        out["items"] = schema_of(key.entry)
    if key.example is not None and key.keys is None:
        out["examples"] = [key.example]
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of kaitiaki.yaml, generated from the model above."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "kaitiaki.yaml",
        **schema_of(CONFIG),
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# --- reference ---------------------------------------------------------------------------------


def walk(key: Key = CONFIG, prefix: str = "") -> Iterator[tuple[str, Key]]:
    """Every key with its dotted path (``purposes.<purpose>.expires``, ``waivers[].rule``)."""
    for name, child in (key.keys or {}).items():
        path = f"{prefix}{name}"
        yield path, child
        yield from walk(child, path + ".")
    if key.entry is not None:
        name = key.entry_name
        path = f"{prefix.rstrip('.')}{name}" if name == "[]" else f"{prefix}{name}"
        if key.entry.keys is not None:
            yield from walk(key.entry, path + ".")


def type_label(key: Key) -> str:
    """A short human name of a key's type, for the reference table."""
    schema = key.schema
    if key.keys is not None:
        return "mapping"
    if key.entry is not None:
        return (
            "list of mappings" if key.entry_name == "[]" else f"`{key.entry_name}` → {type_label(key.entry)}"
        )
    if "enum" in schema:
        return " \\| ".join(f"`{c}`" for c in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_plain_type(s) for s in schema["anyOf"])
    return _plain_type(schema)


def _plain_type(schema: Mapping[str, Any]) -> str:
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array":
        item = _plain_type(schema.get("items", {}))
        return "list of categories" if item == "category" else f"list of {item.strip('`')}s"
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") in (CATEGORY, ALLOWED_CATEGORY):
        return "category"
    return str(kind or "any")


def reference_rows() -> list[tuple[str, str, str]]:
    """(dotted key, type, meaning) for every key, in the model's order."""
    return [(path, type_label(key), key.doc) for path, key in walk()]


def reference_markdown() -> str:
    """The key reference table of docs/configuration.md (kept equal to it by a test)."""
    lines = ["| Key | Type | Meaning |", "|---|---|---|"]
    for path, kind, doc in reference_rows():
        meaning = doc.replace("|", "\\|")
        lines.append(f"| `{path}` | {kind} | {meaning} |")
    return "\n".join(lines) + "\n"
