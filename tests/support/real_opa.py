"""The real OPA for tests and benchmarks: the binary, its servers, a bundle service, a log collector.

``make opa`` builds OPA from its Go module into ``.tools/bin`` (the Makefile exports its path as
``KAITIAKI_OPA``). Without it a test that needs OPA skips, unless ``KAITIAKI_REQUIRE_OPA`` is set
(``make pytest`` sets it), where it fails: CI never passes by skipping the real engine.

Everything listens on 127.0.0.1, on ports the OS picks, and is stopped by its context manager.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLE_RESOURCE = "bundles/kaitiaki.tar.gz"


def opa_executable() -> str | None:
    """``$KAITIAKI_OPA``, else the repository's ``.tools/bin/opa``, else ``opa`` on PATH."""
    for candidate in (os.environ.get("KAITIAKI_OPA"), str(REPO / ".tools" / "bin" / "opa")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("opa")


def opa_required() -> bool:
    return bool(os.environ.get("KAITIAKI_REQUIRE_OPA"))


def opa_or_skip() -> str:
    """The OPA binary; a skip without it (a failure when KAITIAKI_REQUIRE_OPA is set)."""
    opa = opa_executable()
    if opa is None:
        message = "no opa binary (run `make opa`, or put opa on PATH)"
        if opa_required():
            pytest.fail(message + "; KAITIAKI_REQUIRE_OPA is set", pytrace=False)
        pytest.skip(message)
    return opa


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_opa(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """One ``opa`` command (check, test, eval, ...), its output captured."""
    return subprocess.run(
        [opa_or_skip(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


class OpaProcess:
    """One ``opa run --server`` on 127.0.0.1; ``url`` is its base URL."""

    def __init__(self, args: Sequence[str], *, cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (
            Path(tempfile.mkstemp(prefix="opa-", suffix=".log")[1])
            if cwd is None
            else cwd / f"opa-{self.port}.log"
        )
        self._own_log = cwd is None
        command = [
            opa_or_skip(),
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{self.port}",
            "--skip-version-check",
            "--log-level",
            "error",
            *args,
        ]
        self._stderr = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=cwd, stdout=self._stderr, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._stderr.close()
        if self._own_log:
            self.log.unlink(missing_ok=True)

    def errors(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def health(self, query: str = "bundles") -> int | None:
        """The status of ``GET /health?<query>`` (200 once the bundles are activated), or None."""
        try:
            with urllib.request.urlopen(f"{self.url}/health?{query}", timeout=1) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return None

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"opa exited ({self.process.returncode}): {self.errors()[-2000:]}")
            if self.health() == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"opa did not become healthy within {timeout_s} s: {self.errors()[-2000:]}")


@contextmanager
def opa_server(args: Sequence[str], *, cwd: Path | None = None, healthy: bool = True) -> Iterator[OpaProcess]:
    server = OpaProcess(args, cwd=cwd)
    try:
        if healthy:
            server.wait_healthy()
        yield server
    finally:
        server.stop()


@contextmanager
def opa_binary(bundle: Path) -> Iterator[str]:
    """A real OPA server loading the bundle file ``bundle``; yields its URL."""
    with opa_server(["--bundle", str(bundle)]) as server:
        yield server.url


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the test output."""


class BundleService:
    """A bundle service (OPA's ``services`` + ``bundles`` config): ``GET /bundles/kaitiaki.tar.gz``
    serves the current bundle with an ETag, and answers 304 to a poll that already has it.
    ``publish`` swaps the bundle, as a rollout does."""

    def __init__(self) -> None:
        self._bundle = b""
        self._etag = ""
        self._lock = threading.Lock()
        self.downloads = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def publish(self, bundle: Path) -> None:
        content = bundle.read_bytes()
        with self._lock:
            self._bundle = content
            self._etag = hashlib.sha256(content).hexdigest()

    def current(self) -> tuple[bytes, str]:
        with self._lock:
            return self._bundle, self._etag

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                body, etag = service.current()
                if self.path.split("?")[0] != f"/{BUNDLE_RESOURCE}" or not body:
                    self.send_response(404)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == f'"{etag}"':
                    self.send_response(304)
                    self.end_headers()
                    return
                service.downloads += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def __enter__(self) -> BundleService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class LogCollector:
    """A decision-log collector: OPA's decision-log plugin POSTs gzipped JSON arrays of events to
    ``/logs``; every event is kept, in arrival order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def wait_until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 30.0
    ) -> list[dict[str, Any]]:
        """The events once ``done(events)`` holds (or whatever arrived by the timeout)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            events = self.received()
            if done(events):
                return events
            time.sleep(0.1)
        return self.received()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                events = json.loads(body)
                with collector._lock:
                    collector.events.extend(events)
                self.send_response(200)
                self.end_headers()

        return Handler

    def __enter__(self) -> LogCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def fleet_config(
    bundles: str, logs: str | None = None, *, signing_key: tuple[str, str, str] | None = None
) -> dict[str, Any]:
    """OPA's configuration for a server that polls ``bundles`` every second and, with ``logs``,
    ships its decision log there; ``signing_key`` = (key id, algorithm, key) verifies the bundle."""
    config: dict[str, Any] = {
        "services": {"bundles": {"url": bundles}},
        "bundles": {
            "kaitiaki": {
                "service": "bundles",
                "resource": BUNDLE_RESOURCE,
                "polling": {"min_delay_seconds": 1, "max_delay_seconds": 1},
            }
        },
    }
    if logs is not None:
        config["services"]["logs"] = {"url": logs}
        config["decision_logs"] = {
            "service": "logs",
            "reporting": {"min_delay_seconds": 1, "max_delay_seconds": 1},
        }
    if signing_key is not None:
        key_id, algorithm, key = signing_key
        config["keys"] = {key_id: {"algorithm": algorithm, "key": key}}
        config["bundles"]["kaitiaki"]["signing"] = {"keyid": key_id}
    return config
