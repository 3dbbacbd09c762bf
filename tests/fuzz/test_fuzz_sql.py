"""Fuzzing ``kaitiaki check`` with SQL: queries that know what they read, noise, raw bytes.

Through the real CLI in-process (real sqlglot, the embedded regorus engine, the DPUP library).
SQL content is never a usage error (exit 0 or 1 only); a query that references an identifying
column of msd.clients is never allowed under a purpose that allows none; and whatever is
allowed was fully analysed (no parse error, no unresolved star or column).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from kaitiaki.analysis import analyze_sql
from kaitiaki.config import Settings, load_settings
from kaitiaki.gate import settings_schema
from tests.fuzz.sql_strategies import DIALECTS, Sql, noise, queries
from tests.fuzz.support import assert_contained, decision_document, kaitiaki, profile
from tests.fuzz.workspace import fuzz_config, write_workspace

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-sql")
    write_workspace(folder, fuzz_config())
    return folder


@pytest.fixture(scope="module")
def settings(folder: Path) -> Settings:
    return load_settings(folder / "kaitiaki.yaml")


def check(folder: Path, dialect: str) -> tuple[int, str]:
    result = kaitiaki(["check", "job.sql", "--dialect", dialect, "--format", "json"], folder)
    assert_contained(result, allowed_exits=(0, 1))
    decision_document(result)
    return result.exit_code, result.stdout


def fully_analysed(sql: str, dialect: str, settings: Settings) -> bool:
    facts = analyze_sql(
        sql, dialect=dialect, schema=settings_schema(settings, dialect), limits=settings.limits
    )
    return not facts.errors and not facts.unresolved


@profile()
@given(sql=queries(), dialect=st.sampled_from(DIALECTS))
def test_sql_reading_an_identifying_column_is_never_allowed(
    folder: Path, settings: Settings, sql: Sql, dialect: str
) -> None:
    (folder / "job.sql").write_text(sql.text, encoding="utf-8")
    exit_code, output = check(folder, dialect)
    event(f"{'reads' if sql.identifying else 'does not read'} an identifying column, exit {exit_code}")
    if sql.identifying:
        assert exit_code == 1, (
            f"allowed although it reads an identifying column:\n{sql.text}\n{output[-1500:]}"
        )
    if exit_code == 0:
        assert fully_analysed(sql.text, dialect, settings), sql.text


@profile()
@given(text=noise(), dialect=st.sampled_from(DIALECTS))
def test_noisy_sql_is_blocked_or_fully_analysed(
    folder: Path, settings: Settings, text: str, dialect: str
) -> None:
    (folder / "job.sql").write_text(text, encoding="utf-8")
    exit_code, _ = check(folder, dialect)
    event(f"exit {exit_code}")
    if exit_code == 0:
        assert fully_analysed(text, dialect, settings), text


@profile()
@given(data=st.binary(max_size=600), dialect=st.sampled_from(DIALECTS))
def test_raw_bytes_are_blocked_or_fully_analysed(
    folder: Path, settings: Settings, data: bytes, dialect: str
) -> None:
    (folder / "job.sql").write_bytes(data)
    exit_code, _ = check(folder, dialect)
    event(f"exit {exit_code}")
    if exit_code == 0:
        # Undecodable bytes become U+FFFD; every ASCII byte stays where it was, so the statement
        # structure the database would see is the one analysed.
        assert fully_analysed(data.decode("utf-8", errors="replace"), dialect, settings), data
