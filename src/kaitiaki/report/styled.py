"""Lines of styled text that print plain when piped and in colour (through rich) on a terminal.

Reports build ``Line``s of (text, style) segments; ``to_plain`` drops the styles, ``to_ansi``
hands them to rich. rich is imported only when colour is asked for, so the Airflow worker and
CI paths (plain text, JSON, SARIF) never pay for it. Segments are never parsed as markup: SQL
with ``[brackets]`` prints as written.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

Segment = tuple[str, str | None]
Line = list[Segment]

ERROR = "bold red"
WARNING = "bold yellow"
WAIVED = "bold cyan"
ADVISORY = "bold blue"
GUTTER = "bold blue"
EMPHASIS = "bold"
DIM = "dim"
OK = "bold green"
HELP = "bold green"


def plain(text: str) -> Line:
    return [(text, None)]


def to_plain(lines: Sequence[Line]) -> str:
    return "".join("".join(text for text, _ in line) + "\n" for line in lines)


def to_ansi(lines: Sequence[Line]) -> str:
    """The same lines with ANSI colours, never wrapped (code must stay aligned with carets)."""
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        width=100_000,
        soft_wrap=True,
        highlight=False,
        markup=False,
        emoji=False,
        no_color=False,  # the caller decided (it honours NO_COLOR and isatty): don't second-guess
    )
    for line in lines:
        text = Text()
        for segment, style in line:
            text.append(segment, style=style or "")
        console.print(text)
    return buffer.getvalue()


def render(lines: Sequence[Line], *, color: bool) -> str:
    return to_ansi(lines) if color else to_plain(lines)
