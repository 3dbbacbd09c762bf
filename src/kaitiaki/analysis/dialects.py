"""The SQL dialects kaitiaki accepts: exactly those sqlglot knows."""

from __future__ import annotations

from functools import lru_cache

from sqlglot.dialects.dialect import Dialects


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
