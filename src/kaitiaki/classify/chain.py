"""Classification across many jobs: order them by the tables they read and write, then carry each
job's output categories into the jobs that read its targets (a chain of dbt models, or SQL files
where one file's target is another's source).

Pure functions over SqlFacts: no job runs, nothing is read from a database.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pluggy

from kaitiaki.classify.core import classify, read_tables
from kaitiaki.classify.outputs import propagated_categories, union
from kaitiaki.classify.tables import TableIndex, split_column_key
from kaitiaki.config import TableEntry
from kaitiaki.model import ClassifiedFacts, SqlFacts


def written_tables(facts: SqlFacts) -> tuple[str, ...]:
    """Tables the job writes: statement targets and lineage targets."""
    names = [s.target for s in facts.statements if s.target]
    names += [e.target.table for e in facts.lineage if e.target.table]
    return tuple(dict.fromkeys(names))


def dependencies(jobs: Sequence[SqlFacts]) -> list[set[int]]:
    """For each job, the other jobs that write a table it reads."""
    writers: dict[str, set[int]] = {}
    for index, facts in enumerate(jobs):
        for table in written_tables(facts):
            writers.setdefault(table, set()).add(index)
    written = TableIndex(writers)
    return [
        {w for table in read_tables(facts) for key in written.lookup(table) for w in writers[key]} - {index}
        for index, facts in enumerate(jobs)
    ]


def lineage_order(jobs: Sequence[SqlFacts]) -> tuple[int, ...]:
    """Indexes of ``jobs`` with every writer before its readers; ties keep the given order.

    Jobs caught in a cycle (two jobs reading each other's targets) come last, in the given order.
    """
    needs = dependencies(jobs)
    readers: dict[int, list[int]] = {i: [] for i in range(len(jobs))}
    for reader, deps in enumerate(needs):
        for dep in deps:
            readers[dep].append(reader)
    waiting = [len(deps) for deps in needs]
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for reader in readers[index]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, reader)
    placed = set(order)
    return (*order, *(i for i in range(len(jobs)) if i not in placed))


def _has_cycle(jobs: Sequence[SqlFacts], order: Sequence[int]) -> bool:
    needs = dependencies(jobs)
    position = {job: place for place, job in enumerate(order)}
    return any(position[dep] > position[job] for job, deps in enumerate(needs) for dep in deps)


class CarriedCategories:
    """Categories written so far, by table, so each job is handed only the tables it reads."""

    def __init__(self, initial: Mapping[str, Iterable[str]]) -> None:
        self.by_table: dict[str, dict[str, tuple[str, ...]]] = {}
        self.index = TableIndex()
        self.update({key.lower(): union(categories) for key, categories in initial.items()})

    def update(self, written: Mapping[str, tuple[str, ...]]) -> bool:
        """Merge ``written`` in; True when any column gained a category or appeared."""
        changed = False
        for key, categories in written.items():
            table, column = split_column_key(key)
            columns = self.by_table.setdefault(table, {})
            merged = union(columns.get(column, ()), categories)
            if columns.get(column) != merged:
                columns[column] = merged
                self.index.add(table)
                changed = True
        return changed

    def for_tables(self, tables: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """``table.column`` → categories for every carried table that one of ``tables`` names."""
        found = dict.fromkeys(key for name in tables for key in self.index.lookup(name))
        return {f"{table}.{column}": cats for table in found for column, cats in self.by_table[table].items()}


def classify_jobs(
    jobs: Sequence[SqlFacts],
    *,
    catalog: Mapping[str, TableEntry],
    dbt_meta: Mapping[str, Mapping[str, Any]] | None = None,
    inherited: Mapping[str, tuple[str, ...]] | None = None,
    context: Mapping[str, Any] | None = None,
    strict_catalog: bool = False,
    plugins: pluggy.PluginManager | None = None,
) -> tuple[ClassifiedFacts, ...]:
    """Classify every job with the categories its upstream jobs write; results in input order.

    Writers are classified before readers. With a cycle, passes repeat until no job's output
    categories change (categories only ever grow, so this ends).
    """
    order = lineage_order(jobs)
    passes = len(jobs) + 1 if _has_cycle(jobs, order) else 1
    carried = CarriedCategories(inherited or {})
    results: dict[int, ClassifiedFacts] = {}
    for _ in range(passes):
        changed = False
        for index in order:
            results[index] = classify(
                jobs[index],
                catalog=catalog,
                dbt_meta=dbt_meta,
                inherited=carried.for_tables(read_tables(jobs[index])),
                context=context,
                strict_catalog=strict_catalog,
                plugins=plugins,
            )
            changed = carried.update(propagated_categories(results[index])) or changed
        if not changed:
            break
    return tuple(results[i] for i in range(len(jobs)))
