"""Values out of SQL excerpts and messages (docs/security.md): literals, long numbers, comments' values."""

from __future__ import annotations

import pytest

from kaitiaki.report.redact import redact_message, redact_sql

CASES = [
    ("select 1 from t where nhi = 'ZZZ0016'", "postgres", "select 1 from t where nhi = '…'"),
    ("select 1 from t where ird = 123456789", "postgres", "select 1 from t where ird = …"),
    ("select x1234567, t.col from t limit 10", "postgres", "select x1234567, t.col from t limit 10"),
    ('select "full_name" from t', "postgres", 'select "full_name" from t'),
    ('select 1 from t where name = "Jane"', "mysql", 'select 1 from t where name = "…"'),
    ("select $$Jane$$", "postgres", "select $$…$$"),
    ("select 'a\nb' as s", "postgres", "select '…\n' as s"),
    ("select 1 -- pseudonymise before the join", "postgres", "select 1 -- pseudonymise before the join"),
    (
        "select 1 -- asked by client 'ZZZ0016' (jane.doe@example.nz, 0211234567)",
        "postgres",
        "select 1 -- asked by client '…' (…, …)",
    ),
    ("select 1 /* IRD 123456789 */ from t", "postgres", "select 1 /* IRD … */ from t"),
    ("select 'unterminated", "postgres", "select '…"),
]


@pytest.mark.parametrize(("sql", "dialect", "shown"), CASES, ids=[c[0][:40] for c in CASES])
def test_values_are_redacted_and_the_rest_kept(sql: str, dialect: str, shown: str) -> None:
    assert redact_sql(sql, dialect) == shown
    assert redact_sql(sql, dialect).count("\n") == sql.count("\n")  # excerpt line numbers still match


def test_a_message_quoting_a_token_loses_its_value() -> None:
    message = "statement 1 cannot be parsed as postgres: Invalid expression near \"'ZZZ0017'\" at line 2"
    assert "ZZZ0017" not in redact_message(message, "postgres")
    assert redact_message("line 123456789 of nothing") == "line … of nothing"
