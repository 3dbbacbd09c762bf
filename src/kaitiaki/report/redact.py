"""Literal values out of anything kaitiaki shows or keeps (docs/security.md: never a data value).

A job's SQL may hold personal information as literals (``where nhi = 'ZZZ0016'``,
``and ird = 123456789``). SQL excerpts in explanations and CI artefacts, and analysis messages
that quote a token (``near "'ZZZ0016'"``), go through here first: string literals keep their
quotes but lose their content, and long digit runs (IRD, phone and client numbers) are dropped.
Comments keep their words (``-- pseudonymise before the join`` explains the SQL) but lose what
looks like a value: quoted text, long digit runs and e-mail addresses
(``-- checked with client 'ZZZ0016', jane@example.nz``).
Line breaks inside a literal are kept, so excerpt line numbers still match the file.
"""

from __future__ import annotations

import ast
import re

MASK = "…"
MIN_DIGITS = 6
_DIGITS = re.compile(rf"(?<![\w$.])\d{{{MIN_DIGITS},}}(?![\w$])")
_DOLLAR = re.compile(r"\$([A-Za-z_]\w*)?\$")
_NEAR = re.compile(r"""near ("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_QUOTED_IN_COMMENT = re.compile(r"""'[^'\n]*'|"[^"\n]*"|`[^`\n]*`""")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def string_quotes(dialect: str | None) -> tuple[str, ...]:
    """The characters that open a string literal in ``dialect`` (``"`` too in MySQL, BigQuery …)."""
    from sqlglot.dialects.dialect import Dialect

    try:
        quotes = Dialect.get_or_raise(dialect or "postgres").tokenizer_class.QUOTES
    except (ValueError, AttributeError):
        return ("'", '"')
    opening = {q if isinstance(q, str) else q[0] for q in quotes}
    return tuple(sorted(q for q in opening if len(q) == 1)) or ("'",)


def redact_sql(sql: str, dialect: str | None = None) -> str:
    """``sql`` with every string literal's content and every long number replaced by ``…``.

    Comments (``--`` and ``/* */``) keep their words, not their values; an unterminated literal
    hides the rest of the text, which is the safe side.
    """
    quotes = string_quotes(dialect)
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(redact_comment(sql[i:end]))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end == -1 else end + 2
            out.append(redact_comment(sql[i:end]))
            i = end
        elif ch in quotes:
            end, closed = _string_end(sql, i, ch)
            out.append(_masked(ch, sql.count("\n", i, end), ch if closed else ""))
            i = end
        elif ch == "$" and (tag := _dollar_tag(sql, i)) is not None:
            close = sql.find(tag, i + len(tag))
            end = n if close == -1 else close + len(tag)
            out.append(_masked(tag, sql.count("\n", i, end), tag if close != -1 else ""))
            i = end
        else:
            start = i
            while i < n and sql[i] not in quotes and sql[i] not in "-/$":
                i += 1
            if i == start:
                i += 1
            out.append(_DIGITS.sub(MASK, sql[start:i]))
    return "".join(out)


def redact_comment(comment: str) -> str:
    """A comment's words without its values: quoted text, long digit runs, e-mail addresses."""
    quoted = _QUOTED_IN_COMMENT.sub(lambda m: m.group(0)[0] + MASK + m.group(0)[-1], comment)
    return _DIGITS.sub(MASK, _EMAIL.sub(MASK, quoted))


def _masked(opening: str, newlines: int, closing: str) -> str:
    return opening + MASK + "\n" * newlines + closing


def _dollar_tag(sql: str, start: int) -> str | None:
    """``$$`` or ``$tag$`` opening a dollar-quoted string (not ``$1`` or ``a$b$``)."""
    if start > 0 and (sql[start - 1].isalnum() or sql[start - 1] == "_"):
        return None
    match = _DOLLAR.match(sql, start)
    return match.group(0) if match else None


def _string_end(sql: str, start: int, quote: str) -> tuple[int, bool]:
    """Index just past the literal opened at ``start``, and whether it was closed (doubled
    quotes and backslashes escape)."""
    i = start + 1
    while i < len(sql):
        if sql[i] == "\\" or sql.startswith(quote * 2, i):
            i += 2
        elif sql[i] == quote:
            return i + 1, True
        else:
            i += 1
    return len(sql), False


def redact_message(message: str, dialect: str | None = None) -> str:
    """An analysis message with the token it quotes (``near '…'``) redacted like SQL."""

    def near(match: re.Match[str]) -> str:
        try:
            token = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return f"near {MASK!r}"
        return f"near {redact_sql(str(token), dialect)!r}"

    return _DIGITS.sub(MASK, _NEAR.sub(near, message))
