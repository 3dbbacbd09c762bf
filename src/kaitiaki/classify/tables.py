"""Matching table names written in SQL to catalog, dbt and lineage keys.

SQL names a table as ``patients``, ``health.patients`` or ``prod.health.patients`` depending on
the search path; the catalog usually says ``health.patients``. A name matches a key when they are
equal, or when one is a dotted suffix of the other (``prod.health.patients`` ↔ ``health.patients``,
``patients`` ↔ ``health.patients``). Matching generously is the fail-closed choice: a missed match
would leave identifying columns unclassified.
"""

from __future__ import annotations

from collections.abc import Iterable


def name_parts(name: str) -> tuple[str, ...]:
    """``"Health"."Patients"`` → ``("health", "patients")``: lower case, quotes dropped."""
    return tuple(part.strip().strip('"`[]').lower() for part in name.split(".") if part.strip())


def _is_suffix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return 0 < len(short) < len(long) and long[-len(short) :] == short


def _matches(known: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    return _is_suffix(known, parts) or _is_suffix(parts, known)


class TableIndex:
    """Finds the keys a table name refers to; lookups are memoised."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys: dict[tuple[str, ...], str] = {name_parts(key): key for key in keys}
        self._memo: dict[str, tuple[str, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self._keys)

    def lookup(self, name: str) -> tuple[str, ...]:
        """The keys ``name`` refers to: the exact key, else every suffix match, sorted."""
        if name not in self._memo:
            self._memo[name] = self._resolve(name_parts(name))
        return self._memo[name]

    def _resolve(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        if parts in self._keys:
            return (self._keys[parts],)
        return tuple(sorted(key for known, key in self._keys.items() if _matches(known, parts)))


def split_column_key(key: str) -> tuple[str, str]:
    """``"health.patients.nhi"`` → ``("health.patients", "nhi")``."""
    table, _, column = key.rpartition(".")
    return table, column
