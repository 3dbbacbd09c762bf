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
    """Finds the keys a table name refers to; keys are grouped by their last part, so a lookup
    compares only names that end the same way, and lookups are memoised."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._keys: dict[tuple[str, ...], str] = {}
        self._by_last: dict[str, set[tuple[str, ...]]] = {}
        self._memo: dict[str, tuple[str, ...]] = {}
        for key in keys:
            self.add(key)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def add(self, key: str) -> None:
        parts = name_parts(key)
        if parts and parts not in self._keys:
            self._keys[parts] = key
            self._by_last.setdefault(parts[-1], set()).add(parts)
            self._memo.clear()

    def lookup(self, name: str) -> tuple[str, ...]:
        """The keys ``name`` refers to: the exact key, else every suffix match, sorted."""
        if name not in self._memo:
            self._memo[name] = self._resolve(name_parts(name))
        return self._memo[name]

    def _resolve(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        if parts in self._keys:
            return (self._keys[parts],)
        candidates = self._by_last.get(parts[-1], set()) if parts else set()
        return tuple(sorted(self._keys[c] for c in candidates if _matches(c, parts)))


def split_column_key(key: str) -> tuple[str, str]:
    """``"health.patients.nhi"`` → ``("health.patients", "nhi")``."""
    table, _, column = key.rpartition(".")
    return table, column
