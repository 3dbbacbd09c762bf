"""A small server that speaks OPA's REST data API, for tests and benchmarks.

It loads an OPA bundle (``.tar.gz`` with ``.manifest``, as ``kaitiaki policy bundle build`` writes
it) the way OPA does, checking that every package and data path is under the manifest's roots,
and evaluates with regorus underneath (one request at a time, on the serving thread, which owns
the regorus engine). It listens on 127.0.0.1 only. Endpoints: ``GET /health``,
``POST /v1/data/{path}`` (``{"input": …}`` → ``{"result": …}``, or ``{}`` when undefined) and
``GET /v1/data/{path}``. ``faults`` injects what a broken server does: a delay, an HTTP status,
an undefined result or a decision of the wrong shape.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path, PurePosixPath
from typing import Any

from kaitiaki.engine.base import quiet_rust_backtraces


@dataclass
class Faults:
    """What the server does wrong; all off by default."""

    delay_s: float = 0.0
    status: int | None = None
    undefined: bool = False
    answer: Any = None


@dataclass(frozen=True)
class Bundle:
    revision: str
    roots: tuple[str, ...]
    policies: tuple[tuple[str, str], ...]
    data: dict[str, Any]


class BundleError(ValueError):
    """The bundle is one OPA would refuse."""


def read_bundle(path: Path) -> Bundle:
    """Read an OPA bundle tarball: manifest, .rego files, data.json files placed by directory."""
    with tarfile.open(path, "r:gz") as tar:
        files = {_clean(m.name): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    manifest = json.loads(files.pop(".manifest", b"{}"))
    roots = tuple(manifest.get("roots", [""]))
    policies: list[tuple[str, str]] = []
    data: dict[str, Any] = {}
    for name, content in sorted(files.items()):
        if name.endswith(".rego"):
            text = content.decode()
            _check_root(_package(text), roots, name)
            policies.append((name, text))
        elif PurePosixPath(name).name == "data.json":
            prefix = [p for p in PurePosixPath(name).parent.parts if p]
            _place(data, prefix, json.loads(content), roots, name)
    return Bundle(str(manifest.get("revision", "")), roots, tuple(policies), data)


def _clean(name: str) -> str:
    return name.lstrip("/").removeprefix("./")


def _package(text: str) -> str:
    for line in text.splitlines():
        if line.strip().startswith("package "):
            return line.split()[1]
    raise BundleError("a policy file declares no package")


def _check_root(dotted: str, roots: tuple[str, ...], name: str) -> None:
    path = dotted.replace(".", "/")
    if not any(root == "" or path == root or path.startswith(root + "/") for root in roots):
        raise BundleError(f"{name}: package {dotted} is outside the bundle roots {list(roots)}")


def _place(data: dict[str, Any], prefix: list[str], value: Any, roots: tuple[str, ...], name: str) -> None:
    if prefix:
        _check_root(".".join(prefix), roots, name)
    else:
        for key in value:
            _check_root(key, roots, name)
    target = data
    for part in prefix:
        target = target.setdefault(part, {})
    target.update(value)


class OpaTestServer:
    """An OPA-compatible REST server over a bundle, on 127.0.0.1 and a free port."""

    def __init__(self, bundle: Path, *, token: str | None = None) -> None:
        quiet_rust_backtraces()
        import regorus

        self.bundle = read_bundle(bundle)
        self.token = token
        self.faults = Faults()
        self.requests = 0
        self._compile(regorus).eval_query_as_json("true")  # refuse a bundle that does not compile
        self._regorus = regorus
        self._local = threading.local()
        self._http = HTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OpaTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def _compile(self, regorus: Any) -> Any:
        engine = regorus.Engine()
        for name, text in self.bundle.policies:
            engine.add_policy(name, text)
        engine.add_data_json(json.dumps(self.bundle.data))
        return engine

    def evaluate(self, path: str, policy_input: Any) -> tuple[bool, Any]:
        """(defined, value) of ``data.<path>`` for the input, on this thread's engine."""
        if not hasattr(self._local, "engine"):
            self._local.engine = self._compile(self._regorus)
        query = "data" + "".join(f".{part}" for part in path.strip("/").split("/") if part)
        self._local.engine.set_input_json(json.dumps(policy_input))
        results = json.loads(self._local.engine.eval_query_as_json(query))["result"]
        if not results:
            return False, None
        return True, results[0]["expressions"][0]["value"]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/health":
                    self._reply(200, {})
                else:
                    self._data(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                self._data(body.get("input"))

            def _data(self, policy_input: Any) -> None:
                server.requests += 1
                faults = server.faults
                if faults.delay_s:
                    time.sleep(faults.delay_s)
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._reply(401, {"code": "unauthorized", "message": "missing or invalid bearer token"})
                    return
                if faults.status:
                    self._reply(faults.status, {"code": "internal_error", "message": "injected fault"})
                    return
                path = self.path.split("?")[0]
                if not path.startswith("/v1/data"):
                    self._reply(404, {"code": "not_found", "message": path})
                    return
                try:
                    defined, value = server.evaluate(path.removeprefix("/v1/data"), policy_input)
                except RuntimeError as exc:
                    self._reply(500, {"code": "internal_error", "message": str(exc).strip().splitlines()[-1]})
                    return
                if faults.undefined or not defined:
                    self._reply(200, {})
                elif faults.answer is not None:
                    self._reply(200, {"result": faults.answer})
                else:
                    self._reply(200, {"result": value})

            def _reply(self, status: int, document: Any) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


@contextmanager
def serve_bundle(bundle: Path, *, token: str | None = None) -> Iterator[OpaTestServer]:
    server = OpaTestServer(bundle, token=token).start()
    try:
        yield server
    finally:
        server.stop()


def tarball_members(bundle: Path) -> dict[str, bytes]:
    """Every file of a bundle tarball by its cleaned name (for tests that inspect bundles)."""
    with tarfile.open(fileobj=io.BytesIO(bundle.read_bytes()), mode="r:gz") as tar:
        return {_clean(m.name): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
