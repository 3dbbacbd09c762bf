"""Verify the decision records a sink sent: a stdout stream or an HTTP collector's batches.

A file holds one chain; a sink's records hold one chain *per process* (each task process's first
record links to the genesis hash), and a stream interleaves them with other output: a task
log's lines, or a collector's batches (OPA's upload format: gzipped JSON arrays, kept as
received, one after another). :func:`verify_stream` finds every record in such a text, checks
each record's hash, and checks that each record follows a record met earlier in the stream, or
the genesis hash, and that no two records follow the same one. So an edited, deleted (from the
start or the middle of a chain), reordered, duplicated or unreadable record is reported; a
record cut off the *end* of a chain is not, so the result lists each chain's head hash to keep.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kaitiaki.report.decision_log import (
    DELETED,
    EDITED,
    GENESIS,
    MALFORMED,
    REORDERED,
    _is_hash,
    record_hash,
)

DUPLICATED = "duplicated"
RECORD_START = '{"decision_id"'
ESCAPED_START = '{\\"decision_id\\"'
EMPTY = "empty"
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class StreamVerifyResult:
    """The first problem in a stream of sink records, or its chains' heads when all are intact."""

    name: str
    ok: bool
    records: int
    heads: tuple[str, ...] = ()
    line: int | None = None
    problem: str | None = None
    detail: str = ""

    def render_text(self) -> str:
        if not self.ok:
            return (
                f"{self.name}:{self.line}: {self.problem}: {self.detail} "
                f"({self.records} record(s) before it verified.)"
            )
        return (
            f"{self.name}: {self.records} record(s) in {len(self.heads)} chain(s) (one per process and "
            f"sink), every chain intact. Head hashes {', '.join(self.heads)} — keep them elsewhere to "
            "detect records cut off the end of a chain."
        )


def verify_stream(data: bytes, name: str) -> StreamVerifyResult:
    """Check every record a sink sent (see the module docstring); ``name`` labels the result."""
    try:
        text = (gzip.decompress(data) if data.startswith(GZIP_MAGIC) else data).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        return StreamVerifyResult(name, False, 0, (), 1, MALFORMED, f"the stream cannot be read ({exc}).")
    found = list(records_in(text))
    if not found:
        detail = "no decision records found: nothing was verified (is this the sink's output?)"
        return StreamVerifyResult(name, False, 0, (), 1, EMPTY, detail)
    later = {r["hash"]: line for line, r in found if isinstance(r, dict) and _is_hash(r.get("hash"))}
    seen: dict[str, int] = {}
    followed: dict[str, int] = {}
    heads: dict[str, None] = {}
    for count, (line, record) in enumerate(found):
        problem = record_problem(record, seen, followed, heads, later, line)
        if problem is not None:
            return StreamVerifyResult(name, False, count, (), line, *problem)
        seen[record["hash"]] = line
        followed[record["prev_hash"]] = line
        heads.pop(record["prev_hash"], None)
        heads[record["hash"]] = None
    return StreamVerifyResult(name, True, len(found), tuple(heads))


def records_in(text: str) -> Iterator[tuple[int, Any]]:
    """(line, record) for every decision record in the text; None for one that is not JSON.

    A record is found where it starts on a line (after any log prefix), or inside a JSON log
    line's string fields, where a structured task log keeps each line the task printed.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if RECORD_START in line:
            for record in records_on(line):
                yield number, record
        elif ESCAPED_START in line:
            inner = strings_in(line)
            if not inner:
                yield number, None
            for value in inner:
                for record in records_on(value):
                    yield number, record


def records_on(line: str) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    start = line.find(RECORD_START)
    while start != -1:
        try:
            record, end = decoder.raw_decode(line, start)
        except ValueError:
            yield None
            return
        yield record
        start = line.find(RECORD_START, end)


def strings_in(line: str) -> list[str]:
    """The string fields of a JSON log line that hold a record; none when the line is not such a
    JSON object (its record cannot be read, and is reported)."""
    try:
        event = json.loads(line)
    except ValueError:
        return []
    values = event.values() if isinstance(event, dict) else []
    return [v for v in values if isinstance(v, str) and RECORD_START in v]


def record_problem(
    record: Any,
    seen: dict[str, int],
    followed: dict[str, int],
    heads: dict[str, None],
    later: dict[str, int],
    line: int,
) -> tuple[str, str] | None:
    """Why ``record`` (at ``line``) breaks its chain, given the records met before it (``seen``:
    hash → line; ``followed``: hash → line of the record after it; ``heads``: chain ends so far;
    ``later``: every hash in the stream → its line); None: it does not."""
    if not isinstance(record, dict):
        return MALFORMED, "a decision record that is not valid JSON: it was edited or cut off"
    if not _is_hash(record.get("hash")) or not _is_hash(record.get("prev_hash")):
        return MALFORMED, "the record has no valid hash/prev_hash: it is not a kaitiaki decision record"
    if record_hash(record) != record["hash"]:
        return EDITED, "the record's content no longer matches its hash: it was changed after it was written"
    prev = record["prev_hash"]
    if record["hash"] in seen:
        return DUPLICATED, f"the same record is already at line {seen[record['hash']]}: it was copied"
    if prev != GENESIS and prev in followed:
        return DUPLICATED, (
            f"the record at line {followed[prev]} already follows the same record: a record was "
            "replaced by another with its hash recomputed"
        )
    if prev == GENESIS or prev in heads:
        return None
    if prev in later and later[prev] >= line:
        return REORDERED, "this record follows one that comes later in the stream: records were reordered"
    return DELETED, (
        "the record written before this one (in the same process's chain) is missing: records were "
        "deleted, or the one before was edited and its hash recomputed"
    )
