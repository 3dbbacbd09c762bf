"""An HTTP server on 127.0.0.1 that answers every request with whatever the test scripts.

The fuzz target for engine responses points the OPA engine at it: unlike the OPA-API test
server (``tests/support/opa_server.py``), which evaluates real policies and injects a few named
faults, this one returns any status and any bytes, so generated answers reach the engine as-is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"


class ScriptedServer:
    """Answers each POST and GET with ``reply``; counts the requests it saw."""

    def __init__(self) -> None:
        self.reply = Reply()
        self.requests = 0
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                self._answer()

            def do_GET(self) -> None:
                self._answer()

            def _answer(self) -> None:
                server.requests += 1
                reply = server.reply
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        return Handler


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server._thread.start()
    try:
        yield server
    finally:
        server._http.shutdown()
        server._http.server_close()
        server._thread.join(timeout=5)
