"""kaitiaki's own policy engines, registered through the same hook a third-party engine uses.

Factories import their engine lazily: this module is imported whenever the plugin manager is built,
and an optional engine (regopy, opa) must not cost anything, or fail, until it is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kaitiaki.engine.base import Engine
from kaitiaki.hookspecs import hookimpl


def embedded(**settings: Any) -> Engine:
    from kaitiaki.engine.embedded import EmbeddedEngine

    return EmbeddedEngine(**settings)


def regopy(**settings: Any) -> Engine:
    from kaitiaki.engine.regopy_engine import RegopyEngine

    return RegopyEngine(**settings)


def opa(**settings: Any) -> Engine:
    from kaitiaki.engine.opa import OpaEngine

    return OpaEngine(**settings)


@hookimpl
def kaitiaki_policy_engines() -> dict[str, Callable[..., Engine]]:
    return {"embedded": embedded, "regopy": regopy, "opa": opa}
