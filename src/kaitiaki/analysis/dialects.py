"""The SQL dialects kaitiaki accepts (exactly those sqlglot knows), and who may choose one.

The dialect belongs to the platform (the dbt adapter, the Airflow connection, kaitiaki.yaml's
``dialect:``): a job may narrow it to a dialect built on the same engine that reads strings and
names alike, never switch engines (``"full_name"`` is a column to Postgres, a string to MySQL).
"""

from __future__ import annotations

import sys
from functools import lru_cache

from sqlglot.dialects.dialect import Dialect, Dialects


@lru_cache(maxsize=1)
def known_dialects() -> tuple[str, ...]:
    """Every dialect name sqlglot supports, sorted (``""`` — sqlglot's generic SQL — excluded)."""
    return tuple(sorted(d.value for d in Dialects if d.value))


def normalise_dialect(name: str | None, default: str = "postgres") -> str:
    """Lower-cased dialect name; raises ValueError listing the valid ones when unknown."""
    value = (name or default).strip().lower()
    if value not in known_dialects():
        raise ValueError(f"unknown dialect {value!r}; valid dialects: {', '.join(known_dialects())}")
    return value


def refines(variant: str, base: str) -> bool:
    """True when sqlglot builds ``variant`` on ``base`` and both quote strings and names alike, so
    no column can turn into a string literal (or back) by naming the variant."""
    child, parent = Dialect.get_or_raise(variant), Dialect.get_or_raise(base)
    tokens, base_tokens = child.tokenizer_class, parent.tokenizer_class
    return (
        isinstance(child, type(parent))
        and tokens.QUOTES == base_tokens.QUOTES
        and tokens.IDENTIFIERS == base_tokens.IDENTIFIERS
    )


def narrowed(requested: str | None, platform: str | None) -> str | None:
    """The dialect a job runs under: the platform's, or the job's narrowing of it.

    Raises ValueError (a message for the engineer) when the job names another engine's dialect.
    """
    if requested is None or platform is None or requested == platform or refines(requested, platform):
        return requested or platform
    raise ValueError(
        f"dialect {requested!r} is not the platform's {platform!r} nor built on it; kaitiaki reads SQL "
        "the way the database does, so a job may narrow the dialect but not switch engines"
    )


def built_on(engine: Dialect, module: str, name: str) -> bool:
    """``isinstance(engine, sqlglot.dialects.<module>.<name>)`` without importing that dialect:
    an engine of that dialect, or of one built on it, has imported it already. Spares every
    process the dialects it does not read (an Airflow task reads one)."""
    loaded = sys.modules.get(f"sqlglot.dialects.{module}")
    return loaded is not None and isinstance(engine, getattr(loaded, name))
