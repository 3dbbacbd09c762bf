"""Real engines for the ground-truth harness: DuckDB and ClickHouse (chDB) in-process,
PostgreSQL started for the test.

Both hold the bypass estate (tests/bypass/kaitiaki.yaml's catalog) with marker values: every text
cell is ``<table>.<column>.<row>``, and a JSON column (stored as text) holds an object whose every
key's value is ``<table>.<column>-><key>.<row>``, so any value the engine returns says which
stored columns and fields it came from. PostgreSQL comes from Debian's packages (``.ci/run``
installs them): a throwaway cluster is made with initdb in a temporary folder and listens on a
free loopback port only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
CATALOG: dict[str, Any] = yaml.safe_load((HERE / "kaitiaki.yaml").read_text())["catalog"]
NUMBERS = frozenset({"visit_id", "clinic_id", "cost", "id", "referral_id"})
JSON_KEYS = {"health.referrals.details": ("nhi", "kind")}  # JSON columns and the keys their objects hold
ROWS = 2
TABLES = "|".join(re.escape(table) for table in CATALOG)
MARKER = re.compile(rf"\b({TABLES})\.([a-z_]+(?:->[a-z_]+)*)\.\d\b")


def estate_sql() -> list[str]:
    """Schemas, tables and marker rows of the bypass estate (portable SQL)."""
    statements = [f"create schema {schema}" for schema in sorted({t.split(".")[0] for t in CATALOG})]
    for table, entry in CATALOG.items():
        columns = list(entry["columns"])
        typed = ", ".join(f"{c} {'integer' if c in NUMBERS else 'text'}" for c in columns)
        statements.append(f"create table {table} ({typed})")
        for row in range(1, ROWS + 1):
            values = ", ".join(_cell(table, c, row) for c in columns)
            statements.append(f"insert into {table} values ({values})")
    return statements


def _cell(table: str, column: str, row: int) -> str:
    if column in NUMBERS:
        return str(row)
    keys = JSON_KEYS.get(f"{table}.{column}")
    if keys is not None:
        return "'" + json.dumps({key: f"{table}.{column}->{key}.{row}" for key in keys}) + "'"
    return f"'{table}.{column}.{row}'"


def columns_in(values: object) -> set[str]:
    """The stored columns whose marker values appear anywhere in what the engine returned."""
    return {f"{m.group(1)}.{m.group(2)}" for m in MARKER.finditer(repr(values))}


def duckdb_values(sql: str) -> object:
    """Run ``sql`` on a fresh in-memory DuckDB holding the estate; the rows of every statement."""
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        for statement in estate_sql():
            connection.execute(statement)
        results: list[object] = []
        for statement in duckdb.extract_statements(sql):
            relation = connection.execute(statement)
            if relation.description is not None:
                results.append(relation.fetchall())
        return results
    finally:
        connection.close()


def clickhouse_values(sql: str) -> object:
    """Run one statement on a fresh in-process ClickHouse (chDB) holding the estate; its rows.

    Each call opens its own session (a new temporary database folder), so no case sees another's
    tables; Memory tables stand in for the catalog's.
    """
    from chdb import session

    running = session.Session()
    try:
        for statement in estate_sql():
            if statement.startswith("create schema "):
                statement = statement.replace("create schema ", "create database ", 1)
            elif statement.startswith("create table "):
                statement += " engine = Memory"
            running.query(statement)
        return running.query(sql, "JSONCompact").bytes().decode("utf-8")
    finally:
        running.close()


def _binaries() -> Path | None:
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / "initdb").exists() and (root / "psql").exists():
            return root
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Postgres:
    """A running throwaway cluster; ``values(sql)`` runs SQL in a transaction that is rolled back."""

    def __init__(self, binaries: Path, port: int, folder: Path, user: list[str]) -> None:
        self.binaries, self.port, self.folder, self.user = binaries, port, folder, user

    def values(self, sql: str) -> str:
        script = "\n".join(
            [
                "\\set ON_ERROR_STOP 1",
                "begin;",
                *(f"{s};" for s in estate_sql()),
                sql.rstrip().rstrip(";") + ";",
                "rollback;",
            ]
        )
        done = subprocess.run(
            [
                *self.user,
                str(self.binaries / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL rejected the SQL: {done.stderr.strip()[:400]}")
        return done.stdout


@contextmanager
def postgres() -> Iterator[Postgres | None]:
    """A cluster for the duration of the block, or None when PostgreSQL is not installed here."""
    binaries = _binaries()
    if binaries is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="kaitiaki-pg-"))
    user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as Debian's postgres user
        runuser = shutil.which("runuser")
        if runuser is None:
            yield None
            return
        user = [runuser, "-u", "postgres", "--"]
        os.chmod(folder, 0o777)
    data, port = folder / "data", _free_port()
    try:
        subprocess.run(
            [
                *user,
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}"
        subprocess.run(
            [
                *user,
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        yield Postgres(binaries, port, folder, user)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
                timeout=60,
            )
        shutil.rmtree(folder, ignore_errors=True)
