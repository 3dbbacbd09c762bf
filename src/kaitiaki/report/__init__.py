"""Reports of the gate's verdicts: explanations, output formats and the decision log (docs/governance.md).

``render(fmt, verdicts)`` looks the format up through the ``kaitiaki_reporters`` hook, so the
built-in formats (``report/builtin.py``) and a plugin's are found the same way. A reporter is a
callable ``(verdicts, *, color=False) -> str``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kaitiaki.errors import KaitiakiError
from kaitiaki.model import Verdict
from kaitiaki.report.explain import explain

Reporter = Callable[..., str]

__all__ = ["Reporter", "explain", "formats", "render", "reporters"]


def reporters() -> dict[str, Reporter]:
    """Format name → reporter from every plugin; a later-registered plugin overrides a built-in."""
    from kaitiaki.plugins import get_plugin_manager

    merged: dict[str, Reporter] = {}
    for contribution in reversed(get_plugin_manager().hook.kaitiaki_reporters()):
        merged.update(contribution or {})
    return merged


def formats() -> list[str]:
    return sorted(reporters())


def render(fmt: str, verdicts: Sequence[Verdict], *, color: bool = False) -> str:
    """The verdicts in format ``fmt``; an unknown format is a usage error naming the known ones."""
    available = reporters()
    reporter = available.get(fmt)
    if reporter is None:
        raise KaitiakiError(
            f"unknown report format {fmt!r}.",
            hint=f"available formats: {', '.join(sorted(available))}.",
        )
    return reporter(list(verdicts), color=color)
