"""Every engine kaitiaki can decide with, loaded with the bundled DPUP library, for the tests.

``embedded`` and ``regopy`` run in-process; ``opa-local`` is the OPA engine talking to the OPA-API
test server (tests/support/opa_server.py) loaded from a bundle built by ``build_bundle``;
``opa-binary`` is the same bundle in a real ``opa`` server (tests/support/real_opa.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kaitiaki.config import EngineSettings, Settings
from kaitiaki.engine import Engine, load_engine
from kaitiaki.engine.governance import build_bundle
from kaitiaki.engine.sources import bundled_policies_dir
from tests.policies.cases import ISSUERS
from tests.support.opa_server import serve_bundle
from tests.support.real_opa import free_port, opa_binary

__all__ = ["ENGINE_KINDS", "bundle_for", "free_port", "opa_binary", "opa_local_engine", "settings"]

ENGINE_KINDS = ("embedded", "regopy", "opa-local", "opa-binary")


def settings(kind: str = "embedded", *, urls: tuple[str, ...] = (), **extra: object) -> Settings:
    engine = EngineSettings(kind=kind, urls=urls, timeout_ms=5000)
    return Settings(engine=engine, identifier_issuers=ISSUERS, **extra)  # type: ignore[arg-type]


def bundle_for(path: Path, base: Settings | None = None) -> Path:
    """The bundled library (with kaitiaki.yaml's data) as an OPA bundle at ``path``."""
    return build_bundle([bundled_policies_dir()], path, settings=base or settings())


@contextmanager
def opa_local_engine(bundle: Path, **extra: object) -> Iterator[Engine]:
    with serve_bundle(bundle) as server:
        yield load_engine(settings("opa", urls=(server.url,), **extra))
