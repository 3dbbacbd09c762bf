"""Every engine kaitiaki can decide with, loaded with the bundled DPUP library, for the tests.

``embedded`` and ``regopy`` run in-process; ``opa-local`` is the OPA engine talking to the OPA-API
test server (tests/support/opa_server.py) loaded from a bundle built by ``build_bundle``;
``opa-binary`` is the same bundle in a real ``opa`` server, when one is on PATH.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kaitiaki.config import EngineSettings, Settings
from kaitiaki.engine import Engine, load_engine
from kaitiaki.engine.governance import build_bundle
from kaitiaki.engine.sources import bundled_policies_dir
from tests.policies.cases import ISSUERS
from tests.support.opa_server import serve_bundle

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def opa_binary(bundle: Path) -> Iterator[str]:
    """A real OPA server (``opa run --server``) loading ``bundle`` on 127.0.0.1; yields its URL."""
    opa = shutil.which("opa")
    assert opa is not None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            opa,
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--bundle",
            str(bundle),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"opa exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{url}/health?bundles", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("opa did not become healthy")
