"""The one PluginManager: kaitiaki's own plugins plus every ``kaitiaki`` entry point.

As in datasette, the core's features are default plugins registered through the same hooks a
third party uses. ``KAITIAKI_LOAD_PLUGINS`` (comma-separated distribution/entry-point names)
restricts which entry points load; an empty value loads none, which tests use to isolate the core.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from importlib.metadata import entry_points

import pluggy

from kaitiaki import hookspecs

DEFAULT_PLUGINS: tuple[str, ...] = (
    "kaitiaki.classify.name_rules",
    "kaitiaki.engine.builtin",
    "kaitiaki.report.builtin",
    "kaitiaki.report.decision_log",
    "kaitiaki.scan",
)


_DISTRIBUTIONS: dict[str, str] = {}  # entry-point plugin name → "distribution version"


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed = os.environ.get("KAITIAKI_LOAD_PLUGINS")
    names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
    for ep in entry_points(group="kaitiaki"):
        if names is not None and ep.name not in names:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        pm.register(ep.load(), name=ep.name)
        if ep.dist is not None:
            _DISTRIBUTIONS[ep.name] = f"{ep.dist.name} {ep.dist.version}"


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide PluginManager, built once."""
    pm = pluggy.PluginManager("kaitiaki")
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
    _load_entry_points(pm)
    return pm


def plugin_listing() -> list[dict[str, object]]:
    """What is installed and which hooks each plugin implements (``kaitiaki plugins``)."""
    pm = get_plugin_manager()
    rows: list[dict[str, object]] = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append(
            {"name": name, "distribution": _DISTRIBUTIONS.get(name, "kaitiaki (built in)"), "hooks": hooks}
        )
    return sorted(rows, key=lambda r: str(r["name"]))
