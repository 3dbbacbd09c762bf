"""Decision-log sinks for processes without a lasting disk: stdout lines and an HTTP collector.

The collector is a real HTTP server on a loopback port that decodes OPA's upload format (a
gzipped JSON array). A sink that does not take a record stops the decision (``block``) or is
reported while the decision stands (``warn``).
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from kaitiaki.model import Decision
from kaitiaki.report.decision_log import (
    GENESIS,
    DecisionLogError,
    kaitiaki_decision_made,
    new_record,
    record_hash,
)
from kaitiaki.report.sinks import HttpSink, StreamSink, sink_for
from tests.report.verdicts import E3_JOB, PM11, REVISION, policy_input


def decision() -> Decision:
    return Decision(allow=False, violations=(PM11,), policy_revision=REVISION)


class Collector(HTTPServer):
    """What OPA's decision-log service receives: each POST's events, and its headers."""

    status = 204
    events: list[dict[str, Any]]
    encodings: list[str | None]


class CollectorHandler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.encodings.append(self.headers.get("Content-Encoding"))
        if self.server.status < 300:
            self.server.events += json.loads(gzip.decompress(body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what the collector kept."""


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector(("127.0.0.1", 0), CollectorHandler)
    server.events, server.encodings = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url_of(server: HTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/logs"


def test_the_collector_gets_each_record_gzipped_and_chained(collector: Collector) -> None:
    sink = HttpSink(url_of(collector))
    written = [sink.append(new_record(E3_JOB, policy_input(E3_JOB), decision())) for _ in range(3)]
    assert collector.events == written and collector.encodings == ["gzip"] * 3
    assert written[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in written[1:]] == [r["hash"] for r in written[:-1]]
    assert all(record_hash(r) == r["hash"] for r in written)
    assert "input" not in written[0] and written[0]["input_sha256"]


def test_a_collector_that_refuses_or_is_down_raises(collector: Collector) -> None:
    collector.status = 500
    with pytest.raises(DecisionLogError, match="answered HTTP 500"):
        HttpSink(url_of(collector)).append(new_record(E3_JOB, policy_input(E3_JOB), decision()))
    down = HTTPServer(("127.0.0.1", 0), CollectorHandler)
    url = url_of(down)
    down.server_close()
    with pytest.raises(DecisionLogError, match="did not take the record"):
        HttpSink(url, timeout_s=2).append(new_record(E3_JOB, policy_input(E3_JOB), decision()))


def test_stdout_lines_are_whole_records_chained_per_sink() -> None:
    read, write = os.pipe()
    try:
        sink = StreamSink(write)
        written = [sink.append(new_record(E3_JOB, policy_input(E3_JOB), decision())) for _ in range(2)]
        lines = os.read(read, 1 << 20).decode().splitlines()
    finally:
        os.close(read)
        os.close(write)
    assert [json.loads(line) for line in lines] == written
    assert written[1]["prev_hash"] == written[0]["hash"] and written[0]["prev_hash"] == GENESIS


def test_one_sink_per_target_keeps_the_chain_across_decisions(collector: Collector) -> None:
    assert sink_for(url_of(collector)) is sink_for(url_of(collector))
    assert isinstance(sink_for("stdout"), StreamSink)


def test_on_log_failure_block_stops_and_warn_reports(caplog: pytest.LogCaptureFixture) -> None:
    down = HTTPServer(("127.0.0.1", 0), CollectorHandler)
    url = url_of(down)
    down.server_close()
    document = policy_input(E3_JOB)
    document["kaitiaki"]["decision_log"] = url
    with pytest.raises(DecisionLogError):
        kaitiaki_decision_made(job=E3_JOB, input=document, decision=decision())
    document["kaitiaki"]["on_log_failure"] = "warn"
    with caplog.at_level("WARNING", logger="kaitiaki"):
        kaitiaki_decision_made(job=E3_JOB, input=document, decision=decision())
    assert "on_log_failure: warn, so it stands" in caplog.text and E3_JOB.id in caplog.text


def test_kaitiaki_yaml_names_a_sink_and_what_a_failure_does(tmp_path: Any) -> None:
    from kaitiaki.config import parse_settings
    from kaitiaki.errors import ConfigError

    path = tmp_path / "kaitiaki.yaml"
    assert parse_settings("decision_log: stdout\n", path).decision_log == "stdout"
    http = parse_settings("decision_log: https://logs.example/v1/logs\non_log_failure: warn\n", path)
    assert (http.decision_log, http.on_log_failure) == ("https://logs.example/v1/logs", "warn")
    assert (
        parse_settings("decision_log: logs/d.jsonl\n", path).decision_log
        == (tmp_path / "logs/d.jsonl").resolve()
    )
    assert parse_settings("mode: audit\n", path).on_log_failure == "block"
    with pytest.raises(ConfigError, match="on_log_failure is 'ignore'"):
        parse_settings("on_log_failure: ignore\n", path)
