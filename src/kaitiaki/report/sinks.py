"""Where decision records go when a local file does not last: stdout, or an HTTP collector.

A Kubernetes pod per Airflow task loses its disk when the task ends, so its records must leave
the process as they are made. ``decision_log: stdout`` writes each record as one JSON line on
the process's standard output (file descriptor 1, for the platform's log shipper);
``decision_log: https://…`` POSTs each record to a collector in OPA's decision-log upload
format (a gzipped JSON array of events, ``Content-Encoding: gzip``), before the job runs.
Records are hash-chained per sink, as in the file: the first record of a process's sink links
to the genesis hash, each next one to the one before. A record the sink does not take raises
:class:`DecisionLogError` (``on_log_failure: block``, the default, stops the job).
"""

from __future__ import annotations

import gzip
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

from kaitiaki.report.decision_log import GENESIS, DecisionLog, DecisionLogError, canonical_json, chained

STDOUT = "stdout"
HTTP_TIMEOUT_S = 5.0
STDOUT_FD = 1


class Sink(Protocol):
    def append(self, record: Mapping[str, Any]) -> dict[str, Any]: ...


class StreamSink:
    """Records chained in this process and written whole, one line each, to a file descriptor."""

    def __init__(self, fd: int = STDOUT_FD) -> None:
        self.fd = fd
        self.prev = GENESIS
        self.lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            written = chained(record, self.prev)
            data = memoryview(canonical_json(written) + b"\n")
            try:
                while data:
                    data = data[os.write(self.fd, data) :]
            except OSError as exc:
                raise DecisionLogError(
                    f"cannot write the decision record to stdout: {exc.strerror or exc}."
                ) from None
            self.prev = written["hash"]
            return written


class HttpSink:
    """Records chained in this process and POSTed one by one to an OPA-style log collector."""

    def __init__(self, url: str, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.prev = GENESIS
        self.lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            written = chained(record, self.prev)
            self.post(gzip.compress(b"[" + canonical_json(written) + b"]"))
            self.prev = written["hash"]
            return written

    def post(self, body: bytes) -> None:
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DecisionLogError(
                f"the decision-log collector {self.url} did not take the record: {reason}."
            ) from None
        if not 200 <= status < 300:
            raise DecisionLogError(
                f"the decision-log collector {self.url} answered HTTP {status}; the record is not kept."
            )


@lru_cache(maxsize=32)
def sink_for(target: str) -> Sink:
    """One sink per target per process, so each keeps its own chain."""
    if target == STDOUT:
        return StreamSink()
    if target.startswith(("http://", "https://")):
        return HttpSink(target)
    return DecisionLog(target)
