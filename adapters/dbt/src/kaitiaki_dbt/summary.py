"""The run/build summary on stderr: what was blocked and why, what was left out with it, what ran."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kaitiaki.model import Verdict
from kaitiaki_dbt.manifest import DbtProject

LISTED = 40


def exclusion_selectors(project: DbtProject, unique_ids: Iterable[str]) -> list[str]:
    """``--exclude`` values for models and all their descendants: full fqn plus ``+``.

    dbt has no unique-id selector; the full dotted fqn names exactly one node (``pkg.model``
    alone does not match a model in a sub-folder).
    """
    models = project.models()
    return [".".join(models[uid]["fqn"]) + "+" for uid in sorted(unique_ids)]


def names(project: DbtProject, unique_ids: Iterable[str]) -> list[str]:
    models = project.models()
    return sorted(str(models[uid].get("name", uid)) for uid in unique_ids if uid in models)


def blocked_report(
    verdicts: Sequence[Verdict],
    descendants: Iterable[str],
    project: DbtProject,
    explain: Callable[[Verdict], str],
) -> str:
    """Each denied model with its explanation, then the descendants excluded with them."""
    denied = [v for v in verdicts if not v.decision.allow]
    if not denied:
        return f"kaitiaki: all {len(verdicts)} selected models are allowed.\n"
    enforcing = any(v.blocked for v in denied)
    verb = "blocked" if enforcing else f"denied (mode {denied[0].mode}: running anyway)"
    lines = [f"kaitiaki: {len(denied)} of {len(verdicts)} models {verb}:", ""]
    for verdict in denied:
        lines.append(explain(verdict).rstrip())
        lines.append("")
    left_out = names(project, descendants)
    if enforcing and left_out:
        lines.append(f"kaitiaki: excluded with them (downstream): {', '.join(left_out)}")
    return "\n".join(lines) + "\n"


def ran_report(result: Any) -> str:
    """What dbt ran, by status, from its run results (names only, at most LISTED of them)."""
    results = list(getattr(getattr(result, "result", None), "results", None) or ())
    if not results:
        return "kaitiaki: dbt ran nothing.\n"
    statuses = Counter(str(r.status) for r in results)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    shown = [f"{r.node.name} ({r.status})" for r in results[:LISTED]]
    more = f", and {len(results) - LISTED} more" if len(results) > LISTED else ""
    return f"kaitiaki: dbt ran {len(results)} nodes ({counts}): {', '.join(shown)}{more}\n"
