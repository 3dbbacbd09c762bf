"""``kaitiaki scan DSN``: sample a database and propose catalog YAML for a governance lead.

Each column is classified by the name rules (``kaitiaki_classify_column``) and by value
detectors over a sample of its non-null values (``kaitiaki_detect_values``); a column of JSON
objects is also read field by field, so an NHI kept under a key is proposed as ``payload->nhi``.
The proposal shows, as YAML comments, which rule matched and what share of the sampled values
each detector recognised. Values are passed to the detectors in memory and are never printed,
logged or stored.

DuckDB is built in (opened read-only); other databases plug in through
``kaitiaki_scan_connectors``. A connector factory is called with the DSN and returns an object
with ``tables() -> list[ScannedTable]``, ``sample(table, column, size) -> list[str]`` and
``close()``; it raises KaitiakiError when it cannot connect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import pluggy

from kaitiaki.classify.outputs import union
from kaitiaki.classify.tables import TableIndex
from kaitiaki.errors import KaitiakiError
from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import FIELD_SEPARATOR, Classification

DUCKDB_SUFFIXES = (".duckdb", ".ddb")
SAMPLE_SEED = 7
UNSAMPLED_TYPES = ("BOOLEAN", "BLOB", "BIT")
_SHARE = re.compile(r"\s*(\d+(?:\.\d+)?)\s+of\s+(\d+)\s*")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
MAX_FIELDS = 100  # key paths of one JSON column judged at most (a map keyed by ids has thousands)


@dataclass(frozen=True)
class ScannedTable:
    """A table's qualified name and its ``(column, type)`` pairs, in column order."""

    name: str
    columns: tuple[tuple[str, str], ...]


class ScanConnector(Protocol):
    def tables(self) -> list[ScannedTable]: ...

    def sample(self, table: str, column: str, size: int) -> list[str]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ColumnProposal:
    column: str
    categories: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class TableProposal:
    name: str
    columns: tuple[ColumnProposal, ...]


# --- the built-in DuckDB connector ------------------------------------------------------------


def duckdb_path(dsn: str) -> Path:
    """``duckdb:///abs/file.duckdb``, ``duckdb://rel/file.duckdb`` or a bare ``*.duckdb`` path."""
    if dsn.startswith("duckdb://"):
        rest = dsn[len("duckdb://") :]
        return Path("/" + rest.lstrip("/")) if rest.startswith("/") else Path(rest)
    return Path(dsn)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _qualified(table: str) -> str:
    return ".".join(_quote(part) for part in table.split(".", 1))


class DuckDBConnector:
    """A DuckDB file, opened read-only: scanning never changes the database."""

    def __init__(self, dsn: str) -> None:
        import duckdb

        path = duckdb_path(dsn)
        if not path.is_file():
            raise KaitiakiError(
                f"cannot scan {path}: the file does not exist.",
                hint="give duckdb:///absolute/path.duckdb or a path ending .duckdb.",
            )
        try:
            self.connection = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise KaitiakiError(
                f"cannot open {path} as a DuckDB database: {exc}",
                hint="is it a DuckDB file, and is another process writing to it?",
            ) from None

    def tables(self) -> list[ScannedTable]:
        rows = self.connection.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() "
            "and table_schema not in ('information_schema', 'pg_catalog') "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
        grouped: dict[str, list[tuple[str, str]]] = {}
        for schema, table, column, data_type in rows:
            grouped.setdefault(f"{schema}.{table}", []).append((str(column), str(data_type)))
        return [ScannedTable(name, tuple(columns)) for name, columns in grouped.items()]

    def sample(self, table: str, column: str, size: int) -> list[str]:
        """Up to ``size`` non-null values as text, the same ones on every run (seeded reservoir)."""
        rows = self.connection.execute(
            f"select v from (select cast({_quote(column)} as varchar) as v from {_qualified(table)} "
            f"where {_quote(column)} is not null) "
            f"using sample reservoir({int(size)} rows) repeatable ({SAMPLE_SEED})"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        self.connection.close()


@hookimpl
def kaitiaki_scan_connectors() -> dict[str, Callable[..., Any]]:
    """DuckDB, built in."""
    return {"duckdb": DuckDBConnector}


# --- scanning ----------------------------------------------------------------------------------


def dsn_scheme(dsn: str) -> str:
    """The connector a DSN asks for; a bare ``*.duckdb`` path is DuckDB."""
    if "://" in dsn:
        return dsn.split("://", 1)[0].lower()
    if dsn.lower().endswith(DUCKDB_SUFFIXES):
        return "duckdb"
    raise KaitiakiError(
        f"cannot tell which database {dsn!r} is: give a URL such as duckdb:///path/to/file.duckdb "
        "or a path ending .duckdb."
    )


def redact_dsn(dsn: str) -> str:
    """The DSN without its password, for the proposal's header."""
    parts = urlsplit(dsn)
    if not parts.password:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def open_connector(dsn: str, plugins: pluggy.PluginManager) -> ScanConnector:
    scheme = dsn_scheme(dsn)
    factories: dict[str, Callable[..., Any]] = {}
    for answer in plugins.hook.kaitiaki_scan_connectors():
        factories.update(answer or {})
    if scheme not in factories:
        raise KaitiakiError(
            f"no scan connector for {scheme!r} databases; installed: {', '.join(sorted(factories))}.",
            hint="install a plugin that provides one (kaitiaki_scan_connectors), or export to DuckDB.",
        )
    try:
        connector: ScanConnector = factories[scheme](dsn)
    except KaitiakiError:
        raise
    except Exception as exc:
        raise KaitiakiError(f"cannot connect to {redact_dsn(dsn)}: {exc}") from None
    return connector


def select_tables(available: Sequence[ScannedTable], wanted: Sequence[str] | None) -> list[ScannedTable]:
    """All tables, or the ones named (``clients`` finds ``msd.clients``); unknown names are an error."""
    if not wanted:
        return list(available)
    by_name = {t.name: t for t in available}
    index = TableIndex(by_name)
    missing = [name for name in wanted if not index.lookup(name)]
    if missing:
        raise KaitiakiError(
            f"table(s) not in the database: {', '.join(missing)}.",
            hint=f"tables found: {', '.join(sorted(by_name)) or 'none'}.",
        )
    chosen = dict.fromkeys(key for name in wanted for key in index.lookup(name))
    return [by_name[key] for key in chosen]


def parse_share(detail: str | None) -> float | None:
    """``"0.98 of 500"`` → 0.98; None when a detector words its detail differently."""
    match = _SHARE.fullmatch(detail or "")
    return float(match.group(1)) if match else None


def _checked(answers: Sequence[Any], what: str) -> list[Classification]:
    found = [item for answer in answers for item in (answer or [])]
    if not all(isinstance(item, Classification) for item in found):
        raise KaitiakiError(f"a plugin returned something other than Classification objects for {what}.")
    return found


def propose_column(
    connector: ScanConnector,
    table: str,
    column: str,
    data_type: str,
    *,
    sample: int,
    min_share: float,
    plugins: pluggy.PluginManager,
) -> tuple[ColumnProposal, ...]:
    """Name rules plus value detectors for one column; detectors below ``min_share`` are noted only.
    A column whose sampled values are mostly JSON objects is followed by its fields that name rules
    or detectors classify (``payload->nhi``), each judged on the values under its key path."""
    if data_type.upper() in UNSAMPLED_TYPES:
        return (judge(table, column, data_type, None, min_share=min_share, plugins=plugins),)
    values = connector.sample(table, column, sample)
    proposal = judge(table, column, data_type, values, min_share=min_share, plugins=plugins)
    fields = field_values(values, min_share)
    if fields is None:
        return (proposal,)
    if len(fields) > MAX_FIELDS:
        note = f"JSON objects with {len(fields)} key paths, over {MAX_FIELDS}: fields not proposed"
        return (replace(proposal, notes=(*proposal.notes, note)),)
    judged = [
        judge(table, f"{column}{FIELD_SEPARATOR}{path}", None, leaves, min_share=min_share, plugins=plugins)
        for path, leaves in sorted(fields.items())
    ]
    kept = tuple(field for field in judged if field.categories)
    note = f"JSON objects with {len(fields)} key paths; {len(kept)} classified below"
    return (replace(proposal, notes=(*proposal.notes, note)), *kept)


def judge(
    table: str,
    column: str,
    data_type: str | None,
    values: Sequence[str] | None,
    *,
    min_share: float,
    plugins: pluggy.PluginManager,
) -> ColumnProposal:
    """What the name rules say of a column (or field) and the detectors of its sampled ``values``
    (None: not sampled)."""
    what = f"{table}.{column}"
    named = _checked(
        plugins.hook.kaitiaki_classify_column(
            table=table, column=column, data_type=data_type, context={"scan": True}
        ),
        what,
    )
    named = [c for c in named if c.categories]
    categories = union(*(c.categories for c in named))
    notes = [f"name: {', '.join(sorted({c.source for c in named}))}"] if named else []
    if values is None:
        return ColumnProposal(column, categories, tuple(notes))
    if not values:
        return ColumnProposal(column, categories, (*notes, "no non-null values sampled"))
    for found in _checked(
        plugins.hook.kaitiaki_detect_values(table=table, column=column, values=list(values)), what
    ):
        name = found.source.removeprefix("detector:")
        share = parse_share(found.detail)
        note = f"{name}: {found.detail} sampled values" if share is not None else f"{name}: {found.detail}"
        if share is not None and share < min_share:
            note += f" (below {min_share:.2f}: not proposed)"
        else:
            categories = union(categories, found.categories)
        notes.append(note)
    return ColumnProposal(column, categories, tuple(notes))


def field_values(values: Sequence[str], min_share: float) -> dict[str, list[str]] | None:
    """The values under each key path (``person->nhi``; ``*`` for an array's elements) of the
    sampled values that are JSON objects, when at least ``min_share`` of them are; else None."""
    objects = [found for found in map(_json_object, values) if found is not None]
    if not objects or len(objects) < min_share * len(values):
        return None
    found: dict[str, list[str]] = {}
    for value in objects:
        for path, leaf in _leaves(value, ()):
            found.setdefault(FIELD_SEPARATOR.join(path), []).append(leaf)
    return found


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Each scalar inside a JSON value, with its key path (nulls have none to judge)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, str(key)))
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner, (*path, "*"))
    elif value is not None and path:
        yield path, str(value)


def _key(name: str) -> str:
    return name if _PLAIN_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def render_proposal(dsn: str, proposals: Sequence[TableProposal], sample: int, min_share: float) -> str:
    """Catalog YAML with the evidence as comments; loads as the ``catalog:`` of kaitiaki.yaml."""
    lines = [
        f"# Catalog proposed by `kaitiaki scan` from {redact_dsn(dsn)}",
        f"# Up to {sample} non-null values sampled per column; detectors below {min_share:.2f} not proposed.",
        "# Review every entry before adding it to kaitiaki.yaml: names and values suggest,",
        "# governance decides. Shares are of the sampled values; no value is shown.",
        "catalog:",
    ]
    for table in proposals:
        lines += [
            f"  {_key(table.name)}:",
            "    # agency: <the agency that holds this table>",
            "    columns:",
        ]
        for column in table.columns:
            entry = f"      {_key(column.column)}: [{', '.join(column.categories)}]"
            lines.append(f"{entry}  # {'; '.join(column.notes)}" if column.notes else entry)
        if not table.columns:
            lines[-1] = "    columns: {}"
    return "\n".join(lines) + "\n"


def scan(
    dsn: str,
    tables: Sequence[str] | None = None,
    sample: int = 500,
    *,
    min_share: float = 0.5,
    plugins: pluggy.PluginManager | None = None,
) -> str:
    """Sample the database at ``dsn`` and return proposed catalog YAML.

    Raises KaitiakiError (exit 2) for an unknown scheme, a missing or unreadable database, an
    unknown table or a sample size below 1.
    """
    if sample < 1:
        raise KaitiakiError(f"the sample size must be at least 1, got {sample}.")
    if plugins is None:
        from kaitiaki.plugins import get_plugin_manager

        plugins = get_plugin_manager()
    connector = open_connector(dsn, plugins)
    try:
        chosen = select_tables(connector.tables(), tables)
        proposals = [
            TableProposal(
                table.name,
                tuple(
                    proposal
                    for column, data_type in table.columns
                    for proposal in propose_column(
                        connector,
                        table.name,
                        column,
                        data_type,
                        sample=sample,
                        min_share=min_share,
                        plugins=plugins,
                    )
                ),
            )
            for table in chosen
        ]
    finally:
        connector.close()
    return render_proposal(dsn, proposals, sample, min_share)
