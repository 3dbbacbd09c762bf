"""``kaitiaki log verify --stream``: the records a stdout or HTTP sink sent, one chain per process.

The streams are made by the real sinks: two "task processes" (two StreamSinks, as two task
processes each have one) writing JSON lines between other task output, and a real loopback
HTTP collector keeping the gzipped batches HttpSinks POST, as received. Each tampering is
caught; the untouched stream, its legitimate twin, verifies.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from kaitiaki.model import Decision
from kaitiaki.report.decision_log import new_record
from kaitiaki.report.sinks import HttpSink, StreamSink
from kaitiaki.report.stream_verify import verify_stream
from tests.e2e.cli_runner import run_cli
from tests.report.verdicts import E3_JOB, PM11, REVISION, policy_input

KAITIAKI = Path(sys.executable).parent / "kaitiaki"


def record() -> dict[str, Any]:
    return new_record(E3_JOB, policy_input(E3_JOB), Decision(False, (PM11,), REVISION))


def task_output(tmp_path: Path) -> list[str]:
    """Two task processes' stdout, as a log shipper collects it: records among other lines."""
    lines: list[str] = []
    for process in ("a", "b"):
        path = tmp_path / f"stdout-{process}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            sink = StreamSink(fd)
            for n in range(3):
                os.write(fd, f"[task {process}] INFO - running step {n}\n".encode())
                sink.append(record())
        finally:
            os.close(fd)
        lines += path.read_text(encoding="utf-8").splitlines()
    # the shipper interleaves the two pods' lines, each process's in its own order
    a, b = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    return [line for pair in zip(a, b, strict=True) for line in pair]


def verified(lines: list[str]) -> Any:
    return verify_stream(("\n".join(lines) + "\n").encode(), "stream")


def record_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith('{"decision_id"')]


def test_an_untouched_stream_of_two_processes_verifies_as_two_chains(tmp_path: Path) -> None:
    result = verified(task_output(tmp_path))
    assert result.ok, result.render_text()
    assert (result.records, len(result.heads)) == (6, 2)
    assert "6 record(s) in 2 chain(s)" in result.render_text()


def test_an_edited_record_is_caught(tmp_path: Path) -> None:
    lines = task_output(tmp_path)
    at = record_lines(lines)[2]
    lines[at] = lines[at].replace('"allow":false', '"allow":true')
    assert lines[at].count('"allow":true') == 1
    result = verified(lines)
    assert (result.ok, result.problem, result.line) == (False, "edited", at + 1)


@pytest.mark.parametrize("which", [0, 1], ids=["first of a chain", "middle of a chain"])
def test_a_deleted_record_is_caught(tmp_path: Path, which: int) -> None:
    lines = task_output(tmp_path)
    of_a = record_lines(lines)[::2]
    del lines[of_a[which]]
    result = verified(lines)
    assert (result.ok, result.problem) == (False, "deleted"), result.render_text()


def test_reordered_and_duplicated_records_are_caught(tmp_path: Path) -> None:
    lines = task_output(tmp_path)
    first, _, third = record_lines(lines)[:3]
    swapped = list(lines)
    swapped[first], swapped[third] = swapped[third], swapped[first]
    assert verified(swapped).problem == "reordered"
    doubled = [*lines, lines[first]]
    assert verified(doubled).problem == "duplicated"


def test_a_record_cut_off_is_caught(tmp_path: Path) -> None:
    lines = task_output(tmp_path)
    at = record_lines(lines)[-1]
    lines[at] = lines[at][: len(lines[at]) // 2]
    assert verified(lines).problem == "malformed"


class Kept(HTTPServer):
    bodies: list[bytes]


class KeepBodies(BaseHTTPRequestHandler):
    server: Kept

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def batches() -> Iterator[list[bytes]]:
    """What a collector received from two processes' HttpSinks: gzipped batches, in arrival order."""
    server = Kept(("127.0.0.1", 0), KeepBodies)
    server.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/logs"
        first, second = HttpSink(url), HttpSink(url)
        for _ in range(2):
            first.append(record())
            second.append(record())
        yield server.bodies
    finally:
        server.shutdown()
        server.server_close()


def test_a_collectors_batches_verify_and_tampering_with_them_is_caught(batches: list[bytes]) -> None:
    assert len(batches) == 4
    result = verify_stream(b"".join(batches), "batches")
    assert (result.ok, result.records, len(result.heads)) == (True, 4, 2), result.render_text()
    dropped = verify_stream(b"".join(batches[1:]), "batches")
    assert (dropped.ok, dropped.problem) == (False, "deleted")
    (event,) = json.loads(gzip.decompress(batches[1]))
    event["result"]["allow"] = True
    edited = [*batches[:1], gzip.compress(json.dumps([event]).encode()), *batches[2:]]
    assert verify_stream(b"".join(edited), "batches").problem == "edited"
    assert verify_stream(b"".join(batches)[:-5], "batches").problem == "malformed"


def test_kaitiaki_log_verify_stream_reads_a_file_or_stdin(tmp_path: Path, batches: list[bytes]) -> None:
    stream = tmp_path / "task.log"
    stream.write_text("\n".join(task_output(tmp_path)) + "\n", encoding="utf-8")
    intact = run_cli(["log", "verify", "--stream", str(stream)])
    assert intact.exit_code == 0 and "2 chain(s)" in intact.stdout
    piped = subprocess.run(
        [str(KAITIAKI), "log", "verify", "--stream", "-"],
        input=b"".join(batches[:1] + batches[2:]),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 1 and b"<stdin>:1: deleted" in piped.stdout, piped.stdout + piped.stderr
    missing = run_cli(["log", "verify", "--stream", str(tmp_path / "missing.log")])
    assert missing.exit_code == 2 and "cannot read the stream" in missing.stderr


def test_records_inside_a_structured_task_log_are_verified_and_an_empty_stream_is_not_a_pass(
    tmp_path: Path,
) -> None:
    """A JSON task log keeps each printed line as a string field; its records are found there. A
    stream with no record at all verified nothing, so it does not pass."""
    lines = task_output(tmp_path)
    structured = [json.dumps({"event": line, "logger": "task.stdout", "level": "info"}) for line in lines]
    result = verified(structured)
    assert (result.ok, result.records, len(result.heads)) == (True, 6, 2), result.render_text()
    at = record_lines(lines)[1]
    structured[at] = structured[at].replace('\\"allow\\":false', '\\"allow\\":true')
    assert verified(structured).problem == "edited"
    structured[at] = structured[at][:-10]
    assert verified(structured).problem == "malformed"
    empty = verified(["[task a] INFO - nothing here", '{"event": "no records either"}'])
    assert (empty.ok, empty.problem) == (False, "empty")
