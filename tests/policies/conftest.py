"""Engines for the policy tests: one fixture per engine kind, each loaded once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kaitiaki.engine import Engine, load_engine
from tests.policies.engines import ENGINE_KINDS, bundle_for, opa_binary, opa_local_engine, settings
from tests.support.real_opa import opa_executable, opa_or_skip


@pytest.fixture(scope="session")
def dpup_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle_for(tmp_path_factory.mktemp("bundle") / "bundle.tar.gz")


@pytest.fixture(scope="session")
def all_engines(dpup_bundle: Path) -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {"embedded": load_engine(settings("embedded"))}
    try:
        import regopy  # noqa: F401

        engines["regopy"] = load_engine(settings("regopy"))
    except ImportError:
        pass
    with opa_local_engine(dpup_bundle) as local:
        engines["opa-local"] = local
        if opa_executable():
            with opa_binary(dpup_bundle) as url:
                engines["opa-binary"] = load_engine(settings("opa", urls=(url,)))
                yield engines
        else:
            yield engines


@pytest.fixture(params=ENGINE_KINDS)
def engine(request: pytest.FixtureRequest, all_engines: dict[str, Engine]) -> Engine:
    kind = request.param
    if kind == "opa-binary":
        opa_or_skip()
    if kind not in all_engines:
        pytest.skip(f"{kind} is not installed")
    return all_engines[kind]
