"""SqlFacts → ClassifiedFacts: categories on every column, output and table (docs/classification.md).

Sources, strongest first: the governance ``catalog`` (kaitiaki.yaml), dbt ``meta``, plugin rules
(``rule:<name>``, through the ``kaitiaki_classify_column`` hook) and ``lineage`` (categories
carried from upstream jobs, or from an earlier statement of the same job). For each column the
strongest source that says anything decides; a weaker source that would have added a category is
kept visible as a ``conflict:`` warning. Table-level categories (catalog ``categories``, dbt model
``meta.kaitiaki.categories``) are added to every column of the table on top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pluggy

from kaitiaki.classify.categories import check_category, is_identifiable, is_identifier
from kaitiaki.classify.dbt_meta import ModelMeta, parse_dbt_meta
from kaitiaki.classify.outputs import build_outputs, outputs_by_key, union
from kaitiaki.classify.tables import TableIndex, split_column_key
from kaitiaki.config import TableEntry
from kaitiaki.errors import KaitiakiError
from kaitiaki.model import (
    ANY_SETTING,
    Classification,
    ClassifiedFacts,
    ColumnFact,
    ColumnRef,
    LineageEdge,
    SqlFacts,
    TableFact,
    field_path,
)

STRICT_PREFIX = "strict_catalog: "
CONFLICT_PREFIX = "conflict: "
AMBIGUOUS_PREFIX = "ambiguous_table: "
STAR = "*"


@dataclass(frozen=True)
class Opinion:
    """One source's answer for a column. ``vague``: identifying, kind unknown (dbt ``pii: true``)."""

    sources: tuple[str, ...]
    categories: tuple[str, ...]
    vague: bool = False


@dataclass(frozen=True)
class Resolved:
    """A column's classification and the disagreements it overrode."""

    categories: tuple[str, ...]
    classified_by: tuple[str, ...]
    conflicts: tuple[str, ...] = ()


class LineageIndex:
    """``table.column`` → categories carried by lineage, looked up with table-name matching."""

    def __init__(self, inherited: Mapping[str, Iterable[str]]) -> None:
        self.by_table: dict[str, dict[str, tuple[str, ...]]] = {}
        for key, categories in inherited.items():
            table, column = split_column_key(key.lower())
            self.by_table.setdefault(table, {})[column] = union(categories)
        self.tables = TableIndex(self.by_table)

    def column(self, table: str, column: str) -> tuple[str, ...] | None:
        found = [self.by_table[t][column] for t in self.tables.lookup(table) if column in self.by_table[t]]
        return union(*found) if found else None

    def table_categories(self, table: str) -> tuple[str, ...]:
        return union(*(c for t in self.tables.lookup(table) for c in self.by_table[t].values()))

    def knows(self, table: str) -> bool:
        return bool(self.tables.lookup(table))

    def merged(self, extra: Mapping[str, tuple[str, ...]]) -> LineageIndex:
        combined = {f"{t}.{c}": cats for t, cols in self.by_table.items() for c, cats in cols.items()}
        for key, categories in extra.items():
            combined[key] = union(combined.get(key, ()), categories)
        return LineageIndex(combined)


def _covered(category: str, winner: tuple[str, ...]) -> bool:
    """A weaker source's category adds nothing when the winner has it, or any identifier for an identifier."""
    return category in winner or (is_identifier(category) and any(is_identifier(c) for c in winner))


def _adds_something(weaker: Opinion, winner: tuple[str, ...]) -> bool:
    """Would ``weaker`` have made the column more restricted than ``winner`` does?"""
    if weaker.vague:
        return not any(is_identifiable(c) for c in winner)
    return not all(_covered(c, winner) for c in weaker.categories)


def _show(categories: tuple[str, ...]) -> str:
    return "[" + ", ".join(categories) + "]"


def resolve(qualified: str, opinions: Sequence[Opinion], table_level: Sequence[Opinion]) -> Resolved:
    """Strongest opinion wins; weaker ones that would add a category become conflicts."""
    if not opinions:
        categories: tuple[str, ...] = ()
        by: tuple[str, ...] = ()
        rest: list[Opinion] = []
    else:
        winner, rest = opinions[0], list(opinions[1:])
        categories, by = winner.categories, winner.sources
        if winner.vague:
            specific = next((o for o in rest if any(is_identifiable(c) for c in o.categories)), None)
            if specific is not None:
                categories, by = specific.categories, by + specific.sources
                rest.remove(specific)
    conflicts = tuple(
        f"{CONFLICT_PREFIX}{qualified}: {' + '.join(by)} says {_show(categories)}, "
        f"{' + '.join(o.sources)} says {_show(o.categories)}; the stronger source wins."
        for o in rest
        if _adds_something(o, categories)
    )
    for level in table_level:
        if level.categories:
            categories = union(categories, level.categories)
            by = by + tuple(s for s in level.sources if s not in by)
    return Resolved(categories=union(categories), classified_by=by, conflicts=conflicts)


class Classifier:
    """Per-call state: catalog, dbt meta, the plugin hook and memoised rule answers."""

    def __init__(
        self,
        catalog: Mapping[str, TableEntry],
        models: Mapping[str, ModelMeta],
        plugins: pluggy.PluginManager,
        context: Mapping[str, Any],
    ) -> None:
        self.catalog = catalog
        self.catalog_index = TableIndex(catalog)
        self.models = models
        self.model_index = TableIndex(models)
        self.plugins = plugins
        self.context = context
        schema = context.get("schema")
        self.schema: Mapping[str, Mapping[str, str]] = schema if isinstance(schema, Mapping) else {}
        self.schema_index = TableIndex(self.schema)
        self._rules: dict[tuple[str, str], Opinion | None] = {}
        self._catalog_fields = {
            name: fields_by_column((key, cats) for key, cats in entry.columns.items())
            for name, entry in catalog.items()
        }
        self._dbt_fields = {
            name: fields_by_column((key, meta.categories or ()) for key, meta in model.columns.items())
            for name, model in models.items()
        }

    # --- sources ---------------------------------------------------------------------------

    def entries(self, table: str) -> tuple[TableEntry, ...]:
        return tuple(self.catalog[k] for k in self.catalog_index.lookup(table))

    def model_metas(self, table: str) -> tuple[ModelMeta, ...]:
        return tuple(self.models[k] for k in self.model_index.lookup(table))

    def catalog_opinion(self, table: str, column: str) -> Opinion | None:
        listed = [e.columns[column] for e in self.entries(table) if column in e.columns]
        return Opinion(("catalog",), union(*listed)) if listed else None

    def dbt_opinion(self, table: str, column: str) -> Opinion | None:
        metas = [m.columns[column] for m in self.model_metas(table) if column in m.columns]
        explicit = [m.categories for m in metas if m.categories is not None]
        if explicit:
            return Opinion(("dbt_meta",), union(*explicit))
        if any(m.pii for m in metas):
            return Opinion(("dbt_meta",), ("direct_identifier",), vague=True)
        return None

    def data_type(self, table: str, column: str) -> str | None:
        for key in self.schema_index.lookup(table):
            columns = {str(c).lower(): t for c, t in self.schema[key].items()}
            if column.lower() in columns:
                return str(columns[column.lower()]) or None
        return None

    def rule_opinion(self, table: str, column: str) -> Opinion | None:
        key = (table, column)
        if key not in self._rules:
            self._rules[key] = self._ask_plugins(table, column)
        return self._rules[key]

    def _ask_plugins(self, table: str, column: str) -> Opinion | None:
        try:
            answers = self.plugins.hook.kaitiaki_classify_column(
                table=table, column=column, data_type=self.data_type(table, column), context=self.context
            )
        except Exception as exc:
            raise KaitiakiError(
                f"a classification plugin failed on column {table}.{column}: {exc}",
                hint="run `kaitiaki plugins` to see what is installed; fix or remove the failing plugin.",
            ) from exc
        found = [_checked(item, table, column) for answer in answers for item in (answer or [])]
        found = [c for c in found if c.categories]
        if not found:
            return None
        sources = tuple(sorted({_rule_source(c.source) for c in found}))
        return Opinion(sources, union(*(c.categories for c in found)))

    def lineage_opinion(self, table: str, column: str, lineage: LineageIndex) -> Opinion | None:
        categories = lineage.column(table, column)
        return Opinion(("lineage",), categories) if categories is not None else None

    def table_level(self, table: str) -> list[Opinion]:
        catalog = union(*(e.categories for e in self.entries(table)))
        dbt = union(*(m.categories for m in self.model_metas(table)))
        return [Opinion(("catalog",), catalog), Opinion(("dbt_meta",), dbt)]

    # --- resolution ------------------------------------------------------------------------

    def resolve_column(
        self, table: str, column: str, lineage: LineageIndex, *, written_here: bool = False
    ) -> Resolved:
        """Strongest source first. A column this job writes is described by what the job writes
        into it (its own lineage) better than by a guess from its name, so there lineage
        outranks the name rules; the catalog and dbt meta still outrank both.

        A field inside a column (``payload->nhi``) is named by its whole path for the name rules,
        and also carries what is known of the column that holds it (a payload the catalog calls
        health data holds health data in its fields), unless the catalog or dbt meta describes
        the field itself. A column read whole holds every field the catalog or dbt meta lists
        inside it (``details: []`` with ``details->nhi: [unique_identifier:nhi]`` holds an NHI)."""
        if column == STAR:
            return self.resolve_star(table, lineage)
        own = self.resolve_named(table, column, lineage, written_here=written_here)
        base, keys = field_path(column)
        key = column.lower()
        if not keys:
            return merged(own, self.listed_fields(table, key))
        if self.catalog_opinion(table, key) or self.dbt_opinion(table, key):
            return own
        return merged(own, self.resolve_named(table, base, lineage, written_here=written_here))

    def listed_fields(self, table: str, column: str) -> Resolved:
        """The categories the catalog and dbt meta give the fields inside ``column``."""
        catalog = [self._catalog_fields[key].get(column, ()) for key in self.catalog_index.lookup(table)]
        dbt = [self._dbt_fields[key].get(column, ()) for key in self.model_index.lookup(table)]
        sources = (("catalog",) if any(catalog) else ()) + (("dbt_meta",) if any(dbt) else ())
        return Resolved(categories=union(*catalog, *dbt), classified_by=sources)

    def resolve_named(
        self, table: str, column: str, lineage: LineageIndex, *, written_here: bool
    ) -> Resolved:
        """What the sources say of the column by its own name."""
        key = column.lower()
        rule = self.rule_opinion(table, column)
        carried = self.lineage_opinion(table, key, lineage)
        catalog, dbt = self.catalog_opinion(table, key), self.dbt_opinion(table, key)
        qualified = f"{table}.{column}"
        if catalog is None and dbt is not None and carried is not None:
            return self.lineage_floor(qualified, dbt, rule, carried, self.table_level(table))
        opinions = [catalog, dbt, *((carried, rule) if written_here else (rule, carried))]
        present = [o for o in opinions if o is not None]
        return resolve(qualified, present, self.table_level(table))

    @staticmethod
    def lineage_floor(
        qualified: str, dbt: Opinion, rule: Opinion | None, carried: Opinion, table_level: list[Opinion]
    ) -> Resolved:
        """dbt meta is written by the model's engineers and may say more than lineage, never less:
        what flows in raw from upstream stays (``categories: []`` on an NHI would launder it past
        every downstream purpose). Only the governance catalog can clear a column lineage marks."""
        resolved = resolve(qualified, [o for o in (dbt, rule) if o is not None], [*table_level, carried])
        if not _adds_something(carried, dbt.categories):
            return resolved
        note = (
            f"{CONFLICT_PREFIX}{qualified}: dbt_meta says {_show(dbt.categories)}, lineage says "
            f"{_show(carried.categories)}; dbt meta cannot clear what flows in from upstream, so both "
            "count (classify the column in the catalog to change that)."
        )
        return replace(resolved, conflicts=(*resolved.conflicts, note))

    def resolve_star(self, table: str, lineage: LineageIndex) -> Resolved:
        """``t.*`` that could not be expanded: everything known about the table (fail closed)."""
        parts = [
            ("catalog", self.catalog_table_categories(table)),
            ("dbt_meta", self.dbt_table_categories(table)),
            ("lineage", lineage.table_categories(table)),
        ]
        return Resolved(
            categories=union(*(cats for _, cats in parts)),
            classified_by=tuple(source for source, cats in parts if cats),
        )

    def catalog_table_categories(self, table: str) -> tuple[str, ...]:
        entries = self.entries(table)
        return union(*(e.categories for e in entries), *(c for e in entries for c in e.columns.values()))

    def dbt_table_categories(self, table: str) -> tuple[str, ...]:
        metas = self.model_metas(table)
        return union(
            *(m.categories for m in metas),
            *(("direct_identifier",) for m in metas if m.pii),
            *(c.categories or () for m in metas for c in m.columns.values()),
        )

    def non_enumerable(self, ref: ColumnRef) -> bool:
        """The catalog says this identifier is too random to reverse by enumerating its values."""
        return ref.table is not None and any(
            ref.column.lower() in e.non_enumerable for e in self.entries(ref.table)
        )

    def agency(self, table: str) -> str | None:
        agencies = [e.agency for e in self.entries(table) if e.agency]
        agencies += [m.agency for m in self.model_metas(table) if m.agency]
        return agencies[0] if agencies else None


def merged(first: Resolved, second: Resolved) -> Resolved:
    """Both classifications at once (a field and the column holding it)."""
    return Resolved(
        categories=union(first.categories, second.categories),
        classified_by=tuple(dict.fromkeys((*first.classified_by, *second.classified_by))),
        conflicts=(*first.conflicts, *second.conflicts),
    )


def fields_by_column(listed: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, tuple[str, ...]]:
    """Column (lower-cased) → every category listed for a field inside it (``details->nhi``)."""
    found: dict[str, tuple[str, ...]] = {}
    for key, categories in listed:
        base, keys = field_path(key)
        if keys:
            found[base.lower()] = union(found.get(base.lower(), ()), categories)
    return found


def _rule_source(source: str) -> str:
    return source if source.startswith("rule:") else f"rule:{source}"


def _checked(item: Any, table: str, column: str) -> Classification:
    """A plugin's answer, validated: a wrong shape or unknown category is an error, not a guess."""
    if not isinstance(item, Classification):
        raise KaitiakiError(
            f"a classification plugin returned {type(item).__name__} for {table}.{column}; "
            "kaitiaki_classify_column must return a list of kaitiaki.model.Classification.",
            hint="run `kaitiaki plugins` to see what is installed.",
        )
    for category in item.categories:
        problem = check_category(category)
        if problem:
            raise KaitiakiError(f"plugin rule {item.source!r} on {table}.{column}: {problem}")
    return item


def _edges_by_statement(edges: Sequence[LineageEdge]) -> list[list[LineageEdge]]:
    grouped: dict[int, list[LineageEdge]] = {}
    for edge in edges:
        grouped.setdefault(edge.statement, []).append(edge)
    return [grouped[index] for index in sorted(grouped)]


def job_lineage(facts: SqlFacts, classifier: Classifier, inherited: LineageIndex) -> LineageIndex:
    """Inherited lineage plus what each statement writes, in statement order.

    A later statement reading an earlier one's target sees the categories that statement wrote.
    """
    lineage = inherited
    for edges in _edges_by_statement(facts.lineage):
        outputs = build_outputs(edges, _categories_via(classifier, lineage))
        written = outputs_by_key(outputs)
        if written:
            lineage = lineage.merged(written)
    return lineage


def _categories_via(classifier: Classifier, lineage: LineageIndex) -> Callable[[ColumnRef], tuple[str, ...]]:
    """The categories of a lineage edge's source column, under ``lineage``."""

    def categories_of(ref: ColumnRef) -> tuple[str, ...]:
        if ref.table is None:
            return ()
        return classifier.resolve_column(ref.table, ref.column, lineage).categories

    return categories_of


def read_tables(facts: SqlFacts) -> tuple[str, ...]:
    """Tables the job reads, in order of first appearance."""
    names: list[str] = [c.table for c in facts.columns]
    for join in facts.joins:
        names += [t for t in (join.left.table, join.right.table) if t]
    names += [e.source.table for e in facts.lineage if e.source.table]
    names += facts.tables
    return tuple(dict.fromkeys(names))


def _table_fact(
    table: str, classifier: Classifier, lineage: LineageIndex, columns: Sequence[ColumnFact]
) -> TableFact:
    own = [c.categories for c in columns if c.table == table]
    categories = union(
        classifier.catalog_table_categories(table),
        classifier.dbt_table_categories(table),
        lineage.table_categories(table),
        *own,
    )
    entries = classifier.entries(table)
    return TableFact(
        name=table,
        agency=classifier.agency(table),
        categories=categories,
        grain=next((e.grain for e in entries if e.grain), None),
        source=next((e.source for e in entries if e.source), None),
    )


def table_warnings(
    tables: Sequence[str], classifier: Classifier, lineage: LineageIndex, *, strict_catalog: bool
) -> list[str]:
    """Ambiguous catalog matches always; tables nobody vouches for when ``strict_catalog``."""
    found = []
    for table in tables:
        matches = classifier.catalog_index.lookup(table)
        if len(matches) > 1:
            found.append(
                f"{AMBIGUOUS_PREFIX}{table}: matches several catalog entries ({', '.join(matches)}); "
                "their categories were combined. Qualify the table name in the SQL."
            )
        if strict_catalog and not matches and not lineage.knows(table):
            found.append(
                f"{STRICT_PREFIX}table '{table}' is not in the catalog and no upstream job produced it; "
                "add it under catalog: in kaitiaki.yaml (columns: {} if it holds nothing identifying)."
            )
    return found


def classify(
    facts: SqlFacts,
    *,
    catalog: Mapping[str, TableEntry],
    dbt_meta: Mapping[str, Mapping[str, Any]] | None = None,
    inherited: Mapping[str, tuple[str, ...]] | None = None,
    context: Mapping[str, Any] | None = None,
    strict_catalog: bool = False,
    plugins: pluggy.PluginManager | None = None,
    secrets: frozenset[str] = frozenset(),
) -> ClassifiedFacts:
    """Classify one job's facts. Pure apart from calling the plugins' classification hooks.

    Raises KaitiakiError for malformed dbt meta or a plugin answer that is not a valid category.
    ``plugins`` defaults to the process-wide PluginManager.
    """
    if plugins is None:
        from kaitiaki.plugins import get_plugin_manager

        plugins = get_plugin_manager()
    classifier = Classifier(catalog, parse_dbt_meta(dbt_meta), plugins, dict(context or {}))
    lineage = job_lineage(facts, classifier, LineageIndex(inherited or {}))
    written = {(e.target.table, e.target.column.lower()) for e in facts.lineage if e.target.table}
    resolved = [
        classifier.resolve_column(
            c.table, c.column, lineage, written_here=(c.table, c.column.lower()) in written
        )
        for c in facts.columns
    ]
    columns = tuple(
        replace(c, categories=r.categories, classified_by=r.classified_by)
        for c, r in zip(facts.columns, resolved, strict=True)
    )
    assigned = {f"key:setting:{name}" for name in facts.assigned_settings}
    if ANY_SETTING in facts.assigned_settings:  # the job may have assigned any of them
        assigned |= {key for key in secrets if key.startswith("key:setting:")}
    outputs = build_outputs(
        facts.lineage,
        _categories_via(classifier, lineage),
        secrets=secrets - assigned,
        non_enumerable=classifier.non_enumerable,
    )
    tables = read_tables(facts)
    warnings = [w for r in resolved for w in r.conflicts]
    warnings += table_warnings(tables, classifier, lineage, strict_catalog=strict_catalog)
    return ClassifiedFacts(
        facts=facts,
        columns=columns,
        outputs=outputs,
        tables=tuple(_table_fact(t, classifier, lineage, columns) for t in tables),
        warnings=tuple(dict.fromkeys(warnings)),
    )
