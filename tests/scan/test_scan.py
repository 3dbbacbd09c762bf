"""kaitiaki scan on a real DuckDB file of synthetic NZ records from kaitiaki_nz.synthetic."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from kaitiaki_nz.synthetic import generate_clients, generate_patients, write_duckdb

from kaitiaki.config import parse_settings
from kaitiaki.errors import KaitiakiError
from kaitiaki.hookspecs import hookimpl
from kaitiaki.scan import ScannedTable, redact_dsn, scan
from tests.classify.support import plugin_manager

PM = plugin_manager()
SIZE = 300


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic estate, plus a table whose column names say nothing about what they hold."""
    path = write_duckdb(tmp_path_factory.mktemp("scan") / "nz.duckdb", seed=11, size=SIZE)
    clients = generate_clients(SIZE, seed=12, invalid_share=0.0)
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema misc")
        connection.execute(
            "create table misc.extract (col_a varchar, col_b varchar, col_c varchar, flag boolean)"
        )
        rows = [
            (c["ird_number"], c["email"] if i % 10 < 3 else c["region"], None, i % 2 == 0)
            for i, c in enumerate(clients)
        ]
        connection.executemany("insert into misc.extract values (?, ?, ?, ?)", rows)
    return path


def catalog_lines(text: str) -> dict[str, str]:
    """``table.column`` → its proposal line, for assertions on the comments."""
    lines: dict[str, str] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            table = line.strip().rstrip(":")
        elif line.startswith("      "):
            lines[f"{table}.{line.strip().split(':', 1)[0]}"] = line
    return lines


def test_the_proposal_is_a_valid_catalog_with_the_evidence_in_comments(estate: Path, tmp_path: Path) -> None:
    text = scan(f"duckdb://{estate}", sample=SIZE, plugins=PM)
    settings = parse_settings(text, tmp_path / "kaitiaki.yaml")
    patients = settings.catalog["health.patients"]
    assert patients.columns["nhi"] == ("unique_identifier:nhi",)
    assert patients.columns["full_name"] == ("direct_identifier",)
    assert patients.columns["region"] == ()
    assert settings.catalog["oranga_tamariki.children_in_care"].columns["ingoa_whanau"] == (
        "direct_identifier",
    )
    lines = catalog_lines(text)
    nhi_line = lines["health.patients.nhi"]
    assert "# name: rule:nz_nhi; nhi: 0.9" in nhi_line
    assert nhi_line.endswith(f" of {SIZE} sampled values")
    assert "email: 1.00 of 300 sampled values" in lines["msd.clients.email"]


def test_values_alone_reveal_identifiers_behind_meaningless_names(estate: Path, tmp_path: Path) -> None:
    text = scan(str(estate), tables=["misc.extract"], sample=SIZE, plugins=PM)
    columns = parse_settings(text, tmp_path / "kaitiaki.yaml").catalog["misc.extract"].columns
    assert columns == {"col_a": ("unique_identifier:ird",), "col_b": (), "col_c": (), "flag": ()}
    lines = catalog_lines(text)
    assert lines["misc.extract.col_a"].endswith("# ird: 1.00 of 300 sampled values")
    assert lines["misc.extract.col_b"].endswith(
        "# email: 0.30 of 300 sampled values (below 0.50: not proposed)"
    )
    assert lines["misc.extract.col_c"].endswith("# no non-null values sampled")


def test_no_sampled_value_is_ever_shown(estate: Path) -> None:
    text = scan(str(estate), sample=SIZE, plugins=PM)
    with duckdb.connect(str(estate), read_only=True) as connection:
        values = connection.execute(
            "select nhi from health.patients union all select full_name from health.patients "
            "union all select email from msd.clients union all select phone from msd.clients "
            "union all select ird_number from msd.clients union all select col_a from misc.extract"
        ).fetchall()
    assert len(values) == 6 * SIZE
    assert not [v for (v,) in values if v in text]


def test_scanning_opens_the_database_read_only(estate: Path) -> None:
    before = hashlib.sha256(estate.read_bytes()).hexdigest()
    with duckdb.connect(str(estate), read_only=True):  # another reader at the same time is fine
        scan(str(estate), tables=["clients"], plugins=PM)
    assert hashlib.sha256(estate.read_bytes()).hexdigest() == before


def test_tables_are_found_by_short_name_and_unknown_ones_are_named(estate: Path) -> None:
    text = scan(str(estate), tables=["patients"], sample=20, plugins=PM)
    assert "  health.patients:" in text and "msd.clients" not in text
    with pytest.raises(KaitiakiError, match=r"table\(s\) not in the database: nope\.") as caught:
        scan(str(estate), tables=["nope"], plugins=PM)
    assert "health.patients" in (caught.value.hint or "")


def test_a_relative_duckdb_url_is_relative_to_the_working_directory(
    estate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(estate.parent)
    assert "health.patients" in scan(f"duckdb://{estate.name}", tables=["patients"], sample=5, plugins=PM)


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("duckdb:///no/such/file.duckdb", r"cannot scan /no/such/file\.duckdb: the file does not exist\."),
        ("/no/such/warehouse.duckdb", r"the file does not exist"),
        ("postgres://analyst:hunter2@db.internal/warehouse", r"no scan connector for 'postgres' databases"),
        ("warehouse.sqlite", r"cannot tell which database 'warehouse\.sqlite' is"),
    ],
)
def test_unreachable_databases_are_clear_errors(dsn: str, message: str) -> None:
    with pytest.raises(KaitiakiError, match=message) as caught:
        scan(dsn, plugins=PM)
    assert "hunter2" not in str(caught.value)


def test_a_file_that_is_not_duckdb_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.duckdb"
    fake.write_text("not a database", encoding="utf-8")
    with pytest.raises(KaitiakiError, match=r"cannot open .*notes\.duckdb as a DuckDB database"):
        scan(str(fake), plugins=PM)


def test_the_sample_size_must_be_positive(estate: Path) -> None:
    with pytest.raises(KaitiakiError, match="sample size must be at least 1"):
        scan(str(estate), sample=0, plugins=PM)


def test_passwords_never_reach_the_proposal() -> None:
    assert (
        redact_dsn("postgres://analyst:hunter2@db.internal:5432/wh")
        == "postgres://analyst:***@db.internal:5432/wh"
    )
    assert redact_dsn("duckdb:///data/wh.duckdb") == "duckdb:///data/wh.duckdb"


class SqliteConnector:
    """A real SQLite connector, registered the way a third-party plugin would add one."""

    def __init__(self, dsn: str) -> None:
        self.connection = sqlite3.connect(f"file:{dsn.removeprefix('sqlite://')}?mode=ro", uri=True)

    def tables(self) -> list[ScannedTable]:
        names = [r[0] for r in self.connection.execute("select name from sqlite_master where type = 'table'")]
        return [
            ScannedTable(
                f"main.{n}", tuple((r[1], r[2]) for r in self.connection.execute(f"pragma table_info({n})"))
            )
            for n in names
        ]

    def sample(self, table: str, column: str, size: int) -> list[str]:
        name = table.split(".", 1)[1]
        query = f"select cast({column} as text) from {name} where {column} is not null limit ?"
        return [r[0] for r in self.connection.execute(query, (size,))]

    def close(self) -> None:
        self.connection.close()


class SqlitePlugin:
    @hookimpl
    def kaitiaki_scan_connectors(self) -> dict[str, type[SqliteConnector]]:
        return {"sqlite": SqliteConnector}


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "cms.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("create table contacts (ref text, mobile text)")
        connection.executemany(
            "insert into contacts values (?, ?)",
            [(c["client_number"], c["phone"]) for c in generate_clients(50, 13)],
        )
    yield path


def test_other_databases_plug_in_through_the_connector_hook(sqlite_file: Path) -> None:
    pm = plugin_manager()
    pm.register(SqlitePlugin())
    text = scan(f"sqlite://{sqlite_file}", plugins=pm)
    lines = catalog_lines(text)
    assert lines["main.contacts.mobile"] == (
        "      mobile: [direct_identifier]  # name: rule:phone; phone: 1.00 of 50 sampled values"
    )
    assert lines["main.contacts.ref"] == "      ref: []"


def test_the_process_wide_plugins_include_the_nz_detectors(estate: Path) -> None:
    assert "nhi: 0.9" in scan(str(estate), tables=["health.patients"], sample=50)


def test_a_json_column_is_read_field_by_field(tmp_path: Path) -> None:
    # The key names say nothing (`ref`, `tax`) and the NHI is nested: only the values tell.
    patients = generate_patients(SIZE, seed=21, invalid_share=0.0)
    clients = generate_clients(SIZE, seed=22, invalid_share=0.0)
    path = tmp_path / "events.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema app")
        connection.execute("create table app.events (id integer, payload json, note varchar)")
        rows = [
            (
                i,
                json.dumps(
                    {
                        "kind": "visit",
                        "who": {"ref": p["nhi"]},
                        "tax": c["ird_number"],
                        "contacts": [c["email"]],
                    }
                ),
                "not json",
            )
            for i, (p, c) in enumerate(zip(patients, clients, strict=True))
        ]
        connection.executemany("insert into app.events values (?, ?, ?)", rows)
    text = scan(str(path), sample=SIZE, plugins=PM)
    columns = parse_settings(text, tmp_path / "kaitiaki.yaml").catalog["app.events"].columns
    assert columns == {
        "id": (),
        "payload": (),
        "payload->contacts->*": ("direct_identifier",),
        "payload->tax": ("unique_identifier:ird",),
        "payload->who->ref": ("unique_identifier:nhi",),
        "note": (),
    }
    lines = catalog_lines(text)
    assert lines["app.events.payload"].endswith("# JSON objects with 4 key paths; 3 classified below")
    assert lines['app.events."payload->who->ref"'].endswith(f"# nhi: 1.00 of {SIZE} sampled values")
    assert "visit" not in text and patients[0]["nhi"] not in text  # facts about values, never values


def test_a_json_column_with_too_many_key_paths_is_not_read_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "wide.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table wide (doc varchar)")
        connection.executemany(
            "insert into wide values (?)", [(json.dumps({f"k{i}": i}),) for i in range(150)]
        )
    text = scan(str(path), sample=200, plugins=PM)
    assert parse_settings(text, tmp_path / "kaitiaki.yaml").catalog["main.wide"].columns == {"doc": ()}
    assert catalog_lines(text)["main.wide.doc"].endswith(
        "# JSON objects with 150 key paths, over 100: fields not proposed"
    )
