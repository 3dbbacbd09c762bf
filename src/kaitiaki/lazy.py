"""Package attributes that load their module on first use.

An Airflow task process pays for every module it imports, and most never analyse SQL: a
package such as ``kaitiaki.analysis`` names its public functions here and imports the module
that holds one only when it is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that finds each name of ``homes`` in the module it maps to."""

    def getattr_on_first_use(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home), name)

    return getattr_on_first_use
