"""What a job's output columns carry, derived from their sources through the transforms.

- raw flow (``none``, ``cast``), ``mask`` and ``truncate`` keep the source's categories: a masked
  or truncated identifier is pseudonymised or coarsened, still identifiable;
- ``hash`` turns every identifier category (direct, unique, person key) into ``person_key``, a
  pseudonym; other categories stay, because hashing a value with few distinct values (ethnicity,
  a date of birth) hides nothing;
- ``aggregate`` removes identifier categories: a count of people does not identify one of them.
  Other categories stay (a mean income by region is still about income).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from kaitiaki.classify.categories import is_identifier
from kaitiaki.model import TRANSFORMS, ClassifiedFacts, ColumnRef, LineageEdge, OutputColumn


def union(*groups: Iterable[str]) -> tuple[str, ...]:
    """Sorted, de-duplicated categories: the one canonical order everywhere."""
    return tuple(sorted({item for group in groups for item in group}))


def derive_categories(categories: Iterable[str], transforms: Iterable[str]) -> tuple[str, ...]:
    """Categories of a value after ``transforms`` were applied to a column with ``categories``."""
    applied = set(transforms)
    result = set(categories)
    if "hash" in applied:
        result = {"person_key" if is_identifier(c) else c for c in result}
    if "aggregate" in applied:
        result = {c for c in result if not is_identifier(c)}
    return tuple(sorted(result))


def _ordered_transforms(transforms: Iterable[str]) -> tuple[str, ...]:
    present = set(transforms)
    known = tuple(t for t in TRANSFORMS if t in present)
    return known + tuple(sorted(present - set(TRANSFORMS)))


def build_outputs(
    edges: Sequence[LineageEdge],
    categories_of: Callable[[ColumnRef], tuple[str, ...]],
    *,
    secrets: frozenset[str] = frozenset(),
    non_enumerable: Callable[[ColumnRef], bool] = lambda _: False,
) -> tuple[OutputColumn, ...]:
    """One OutputColumn per lineage target, in order of first appearance.

    ``secrets`` are the key marks of declared secret sources the job does not assign itself: an
    output is ``keyed`` when every hash on its paths reads one. ``coarsened`` are the coarsenings
    every path applies; ``enumerable`` is false only when every identifier behind it is one the
    catalog lists as ``non_enumerable``.
    """
    grouped: dict[tuple[str | None, str], list[LineageEdge]] = {}
    for edge in edges:
        grouped.setdefault((edge.target.table, edge.target.column), []).append(edge)
    outputs = []
    for (table, column), group in grouped.items():
        source_categories = [categories_of(e.source) for e in group]
        categories = union(
            *(derive_categories(c, e.transforms) for c, e in zip(source_categories, group, strict=True))
        )
        sources = tuple(dict.fromkeys(e.source.qualified for e in group))
        transforms = _ordered_transforms(t for e in group for t in e.transforms)
        hashed = [e for e in group if "hash" in e.transforms]
        identifiers = [
            e.source for c, e in zip(source_categories, group, strict=True) if any(map(is_identifier, c))
        ]
        outputs.append(
            OutputColumn(
                table,
                column,
                categories,
                transforms,
                sources,
                coarsened=coarsenings(group),
                keyed=bool(hashed) and all(secrets.intersection(e.marks) for e in hashed),
                enumerable=not identifiers or not all(non_enumerable(ref) for ref in identifiers),
            )
        )
    return tuple(outputs)


def coarsenings(edges: Sequence[LineageEdge]) -> tuple[str, ...]:
    """The coarsenings (``year``, ``band``, ``prefix:2``) every edge into an output applies."""
    common: set[str] | None = None
    for edge in edges:
        found = {m.removeprefix("coarse:") for m in edge.marks if m.startswith("coarse:")}
        common = found if common is None else common & found
    return tuple(sorted(common or ()))


def outputs_by_key(outputs: Iterable[OutputColumn]) -> dict[str, tuple[str, ...]]:
    """``target_table.column`` → categories, for written (not bare SELECT) outputs."""
    found: dict[str, tuple[str, ...]] = {}
    for output in outputs:
        if output.table:
            key = f"{output.table}.{output.column}".lower()
            found[key] = union(found.get(key, ()), output.categories)
    return found


def propagated_categories(classified: ClassifiedFacts) -> dict[str, tuple[str, ...]]:
    """Categories of this job's written columns, keyed ``target_table.column``, for downstream jobs.

    Columns that carry nothing are included with ``()``: downstream they show the table was
    produced by a classified job (so ``strict_catalog`` knows it), without adding categories.
    """
    return outputs_by_key(classified.outputs)
