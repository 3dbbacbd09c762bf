"""kaitiaki-nz reaches kaitiaki the way a third-party plugin does: through its entry point."""

from __future__ import annotations

from importlib.metadata import entry_points

import kaitiaki_nz.plugin

from kaitiaki.plugins import get_plugin_manager


def test_the_distribution_declares_the_kaitiaki_entry_point() -> None:
    (found,) = [ep for ep in entry_points(group="kaitiaki") if ep.name == "nz"]
    assert found.value == "kaitiaki_nz.plugin"
    assert found.load() is kaitiaki_nz.plugin


def test_the_process_wide_plugin_manager_loads_it() -> None:
    pm = get_plugin_manager()
    assert pm.get_plugin("nz") is kaitiaki_nz.plugin
    hooks = {caller.name for caller in pm.get_hookcallers(kaitiaki_nz.plugin) or []}
    assert hooks == {"kaitiaki_classify_column", "kaitiaki_detect_values"}
