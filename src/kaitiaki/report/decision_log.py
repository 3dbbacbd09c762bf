"""The tamper-evident decision log: append-only JSONL in OPA's decision-log shape, hash-chained.

Each line is one decision, with OPA's field names (``decision_id``, ``timestamp``, ``path``,
``labels``, ``result``, ``revision``, ``metrics``) except that the input is stored as its digest
(``input_sha256`` of the canonical input JSON): the input holds no data values, but logs stay
small. ``prev_hash`` is the previous record's ``hash``; ``hash`` is the SHA-256 of the canonical
record without ``hash``. ``verify`` finds the first record that was edited, deleted or moved.

Several processes (Airflow workers) may append at once: each append takes an exclusive
``flock`` on the file, reads the last hash, writes one line and fsyncs before unlocking. A chain
cannot show that records were cut off the *end*: keep the ``head`` hash ``verify`` reports
somewhere else (a CI artefact, a ticket) to detect that too.

This module is also the default plugin that writes the log from the ``kaitiaki_decision_made``
hook, to the path the gate puts in ``input["kaitiaki"]["decision_log"]`` (null: logging off).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import stat
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaitiaki import __version__
from kaitiaki.clock import utc_now
from kaitiaki.errors import KaitiakiError
from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import Decision, Job

GENESIS = "0" * 64
DECISION_PATH = "kaitiaki/main/decision"
TAIL_CHUNK = 64 * 1024
FILE_MODE = 0o640
HEX = frozenset("0123456789abcdef")

EDITED = "edited"
DELETED = "deleted"
REORDERED = "reordered"
MALFORMED = "malformed"
INCOMPLETE = "incomplete"


class DecisionLogError(KaitiakiError):
    """The decision log cannot be appended to; the gate must not let the job run unlogged."""


# --- records ------------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8, no NaN (RFC 8785 in spirit)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def input_sha256(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical record without its own ``hash`` (``prev_hash`` included)."""
    return hashlib.sha256(canonical_json({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def labels_for(job: Job, document: Mapping[str, Any]) -> dict[str, str]:
    """OPA-style string labels: the job, the mode and entry point, and the adapter's run ids."""
    meta = document.get("kaitiaki") or {}
    labels = {"job": job.id, "job_kind": job.kind, "kaitiaki_version": str(meta.get("version", __version__))}
    for key in ("mode", "entry_point"):
        if meta.get(key) is not None:
            labels[key] = str(meta[key])
    extra = meta.get("labels") or {}
    if isinstance(extra, Mapping):
        labels.update({str(k): str(v) for k, v in extra.items() if v is not None})
    return labels


def decision_metrics(decision: Decision) -> dict[str, int]:
    """Counters in OPA's metric naming: how many violations, and of which level."""
    metrics = {"counter_violations": len(decision.violations)}
    for level in ("hard", "soft", "advisory"):
        metrics[f"counter_violations_{level}"] = sum(1 for v in decision.violations if v.level == level)
    metrics["counter_violations_waived"] = sum(1 for v in decision.violations if v.waived)
    return metrics


def new_record(
    job: Job,
    document: Mapping[str, Any],
    decision: Decision,
    *,
    timestamp: str | None = None,
    decision_id: str | None = None,
) -> dict[str, Any]:
    """The record for one decision, before chaining. Facts only: the input is a digest."""
    return {
        "decision_id": decision_id or str(uuid.uuid4()),
        "timestamp": timestamp or utc_now("microseconds"),
        "path": DECISION_PATH,
        "input_sha256": input_sha256(document),
        "result": decision.to_dict(),
        "revision": decision.policy_revision,
        "labels": labels_for(job, document),
        "metrics": decision_metrics(decision),
    }


def chained(record: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in ("prev_hash", "hash")}
    out["prev_hash"] = prev_hash
    out["hash"] = record_hash(out)
    return out


# --- appending ----------------------------------------------------------------------------------


class DecisionLog:
    """An append-only, hash-chained JSONL file, safe for concurrent appenders (``flock``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Chain ``record`` onto the last one, write it and fsync; returns the written record."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, FILE_MODE)
        except OSError as exc:
            raise self._error(f"cannot open the decision log: {self._open_problem(exc)}.") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self._error(
                    "the decision log is not a regular file (a device, a pipe or a socket keeps no record).",
                    hint="name a file, or set decision_log: false in kaitiaki.yaml to turn the log off.",
                )
            fcntl.flock(fd, fcntl.LOCK_EX)
            written = chained(record, self._last_hash(fd))
            _write_all(fd, canonical_json(written) + b"\n")
            os.fsync(fd)
            return written
        except OSError as exc:
            raise self._error(f"cannot write the decision log: {exc.strerror or exc}.") from None
        finally:
            os.close(fd)  # also releases the lock

    def _open_problem(self, exc: OSError) -> str:
        """Say which path is in the way: mkdir's "File exists" does not."""
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            blocker = next((p for p in self.path.parents if p.exists() and not p.is_dir()), None)
            if blocker is not None:
                return f"{blocker} is a file, so it cannot hold the log's folder"
        if isinstance(exc, IsADirectoryError):
            return "that path is a folder; name a file"
        return exc.strerror or str(exc)

    def _last_hash(self, fd: int) -> str:
        size = os.fstat(fd).st_size
        if size == 0:
            return GENESIS
        tail = _last_line(fd, size)
        if tail is None:
            raise self._error(
                "the decision log ends with an incomplete record (a writer stopped mid-line).",
                hint="run `kaitiaki log verify`; move the file aside to start a new chain.",
            )
        try:
            last = json.loads(tail)
            prev = last["hash"]
        except (ValueError, TypeError, KeyError):
            prev = None
        if not _is_hash(prev):
            raise self._error(
                "the decision log's last record is not a kaitiaki record with a hash.",
                hint="run `kaitiaki log verify`; move the file aside to start a new chain.",
            )
        return str(prev)

    def _error(self, message: str, hint: str | None = None) -> DecisionLogError:
        return DecisionLogError(message, path=str(self.path), hint=hint)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _last_line(fd: int, size: int) -> bytes | None:
    """The last complete line (without its newline), or None when the file does not end in one."""
    if os.pread(fd, 1, size - 1) != b"\n":
        return None
    chunks: list[bytes] = []
    position = size - 1
    while position > 0:
        start = max(0, position - TAIL_CHUNK)
        chunk = os.pread(fd, position - start, start)
        newline = chunk.rfind(b"\n")
        if newline != -1:
            chunks.append(chunk[newline + 1 :])
            break
        chunks.append(chunk)
        position = start
    return b"".join(reversed(chunks))


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX


# --- verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking a log's chain: the first broken record, or the head hash."""

    path: str
    ok: bool
    records: int
    head: str | None = None
    line: int | None = None
    problem: str | None = None
    detail: str = ""

    def render_text(self) -> str:
        if self.ok:
            head = self.head or GENESIS
            return (
                f"{self.path}: {self.records} record(s), hash chain intact. Head hash {head} — "
                "keep it elsewhere to detect records cut off the end."
            )
        return (
            f"{self.path}:{self.line}: {self.problem}: {self.detail} "
            f"({self.records} record(s) before it verified.)"
        )


def verify(path: str | os.PathLike[str]) -> VerifyResult:
    """Check every record's hash and link; report the first edited, deleted or reordered one."""
    name = str(path)
    try:
        positions = _hash_positions(Path(path))
        prev = GENESIS
        count = 0
        for line_no, raw in _lines(Path(path)):
            checked = _check_record(raw, line_no, prev, positions)
            if isinstance(checked, tuple):
                kind, detail = checked
                return VerifyResult(name, False, count, prev, line_no, kind, detail)
            prev = checked
            count += 1
    except OSError as exc:
        raise KaitiakiError(f"cannot read the decision log: {exc.strerror or exc}.", path=name) from None
    return VerifyResult(name, True, count, prev if count else None)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        yield from enumerate(handle, start=1)


def _hash_positions(path: Path) -> dict[str, int]:
    """Stored hash → line, to tell a record moved elsewhere from one that is gone."""
    positions: dict[str, int] = {}
    for line_no, raw in _lines(path):
        try:
            value = json.loads(raw).get("hash")
        except (ValueError, AttributeError):
            continue
        if _is_hash(value):
            positions.setdefault(value, line_no)
    return positions


def _check_record(raw: bytes, line_no: int, prev: str, positions: Mapping[str, int]) -> str | tuple[str, str]:
    """The record's hash when it is intact and follows ``prev``; else (problem, detail)."""
    if not raw.endswith(b"\n"):
        return INCOMPLETE, "the last record is cut off (a writer stopped mid-line, or the file was truncated)"
    try:
        record = json.loads(raw)
    except ValueError:
        return MALFORMED, "the line is not JSON: the record was edited or the file corrupted"
    if (
        not isinstance(record, dict)
        or not _is_hash(record.get("hash"))
        or not _is_hash(record.get("prev_hash"))
    ):
        return MALFORMED, "the record has no valid hash/prev_hash: it is not a kaitiaki decision record"
    if record_hash(record) != record["hash"]:
        return EDITED, "the record's content no longer matches its hash: it was changed after it was written"
    if record["prev_hash"] == prev:
        return str(record["hash"])
    return _link_problem(record["prev_hash"], line_no, positions)


def _link_problem(prev_hash: str, line_no: int, positions: Mapping[str, int]) -> tuple[str, str]:
    where = positions.get(prev_hash)
    if where is not None and where != line_no - 1:
        return REORDERED, (
            f"this record was written right after the record now at line {where}: records were reordered"
        )
    if line_no == 1:
        return (
            DELETED,
            "the log does not start at the beginning of its chain: records were deleted from the start",
        )
    return DELETED, (
        "the record written before this one is missing: one or more records were deleted here "
        "(or the previous record was edited and its hash recomputed)"
    )


# --- the default plugin -------------------------------------------------------------------------


@hookimpl
def kaitiaki_decision_made(job: Job, input: Mapping[str, Any], decision: Decision) -> None:
    """Append every decision to the configured log or sink; logging off when it is null.

    A record that cannot be kept stops the job (``on_log_failure: block``), or is reported on
    the ``kaitiaki`` logger while the decision stands (``warn``).
    """
    from kaitiaki.report.sinks import sink_for

    meta = input.get("kaitiaki") or {}
    target = meta.get("decision_log") if isinstance(meta, Mapping) else None
    if not target:
        return
    try:
        sink_for(str(target)).append(new_record(job, input, decision))
    except DecisionLogError as exc:
        if meta.get("on_log_failure") != "warn":
            raise
        logging.getLogger("kaitiaki").warning(
            "kaitiaki could not keep the decision record of %s (on_log_failure: warn, so it stands): %s",
            job.id,
            exc,
        )
