"""The worked plugin in docs/classification.md, loaded from the page itself and run for real."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from kaitiaki.classify import classify
from kaitiaki.scan import scan

from .support import facts, plugin_manager

DOC = Path(__file__).resolve().parents[2] / "docs" / "classification.md"
MARKER = re.compile(r"<!-- example-plugin: (\S+) -->\n```python\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    match = MARKER.search(DOC.read_text(encoding="utf-8"))
    assert match, "docs/classification.md lost its example plugin"
    path = tmp_path_factory.mktemp("plugin") / match.group(1)
    path.write_text(match.group(2), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[path.stem]


def test_the_example_plugin_classifies_by_name(example_plugin: ModuleType) -> None:
    pm = plugin_manager(example_plugin)
    result = classify(
        facts([("acme.cases.CaseNo", ["select"]), ("acme.cases.case_number_count", ["select"])]),
        catalog={},
        plugins=pm,
    )
    assert [(c.categories, c.classified_by) for c in result.columns] == [
        (("unique_identifier:acme_case",), ("rule:acme_case_number",)),
        ((), ()),
    ]


def test_the_example_plugin_detects_values_in_a_scan(example_plugin: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "acme.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table referrals (ref_code varchar)")
        connection.executemany("insert into referrals values (?)", [(f"CASE-{n:06d}",) for n in range(40)])
    text = scan(str(path), plugins=plugin_manager(example_plugin))
    assert "      ref_code: [unique_identifier:acme_case]  # acme_case: 1.00 of 40 sampled values" in text
    assert "CASE-0000" not in text
