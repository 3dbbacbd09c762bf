"""The decision log: OPA's record shape, hash chaining, tamper detection, concurrent writers.

Real files and real processes throughout (multiprocessing, ``flock``); nothing is mocked.
"""

from __future__ import annotations

import json
import multiprocessing
import uuid
from pathlib import Path
from typing import Any

import pytest

from kaitiaki.errors import KaitiakiError
from kaitiaki.model import Decision
from kaitiaki.plugins import get_plugin_manager
from kaitiaki.report.decision_log import (
    DECISION_PATH,
    DELETED,
    EDITED,
    GENESIS,
    INCOMPLETE,
    MALFORMED,
    REORDERED,
    DecisionLog,
    DecisionLogError,
    input_sha256,
    new_record,
    record_hash,
    verify,
)
from tests.e2e.cli_runner import run_cli
from tests.report.verdicts import E3_JOB, PM11, REVISION, policy_input

WRITERS = 8
APPENDS_PER_WRITER = 500


def decision() -> Decision:
    return Decision(allow=False, violations=(PM11,), policy_revision=REVISION)


def write_log(path: Path, count: int) -> list[dict[str, Any]]:
    log = DecisionLog(path)
    return [log.append(new_record(E3_JOB, policy_input(E3_JOB), decision())) for _ in range(count)]


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_records_use_opa_field_names_and_store_a_digest_not_the_input(tmp_path: Path) -> None:
    document = policy_input(E3_JOB)
    document["kaitiaki"]["labels"] = {"dag_id": "benefits", "task_id": "load_health", "run_id": "manual__1"}
    record = DecisionLog(tmp_path / "log.jsonl").append(new_record(E3_JOB, document, decision()))
    assert uuid.UUID(record["decision_id"]).version == 4
    assert record["timestamp"].endswith("Z") and "T" in record["timestamp"]
    assert record["path"] == DECISION_PATH == "kaitiaki/main/decision"
    assert record["input_sha256"] == input_sha256(document)
    assert "input" not in record and "erased" not in record
    assert record["result"] == decision().to_dict()
    assert record["revision"] == REVISION
    assert record["labels"] == {
        "job": E3_JOB.id,
        "job_kind": "airflow_task",
        "kaitiaki_version": "0.1.0",
        "mode": "enforce",
        "entry_point": "check",
        "dag_id": "benefits",
        "task_id": "load_health",
        "run_id": "manual__1",
    }
    assert record["metrics"]["counter_violations"] == 1
    assert record["metrics"]["counter_violations_hard"] == 1


def test_records_are_chained_from_a_zero_genesis(tmp_path: Path) -> None:
    records = write_log(tmp_path / "log.jsonl", 3)
    assert records[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    assert all(record_hash(r) == r["hash"] for r in records)
    stored = [json.loads(line) for line in lines_of(tmp_path / "log.jsonl")]
    assert stored == records


def test_verify_accepts_an_intact_log_and_reports_its_head(tmp_path: Path) -> None:
    records = write_log(tmp_path / "log.jsonl", 5)
    result = verify(tmp_path / "log.jsonl")
    assert (result.ok, result.records, result.head) == (True, 5, records[-1]["hash"])
    assert "5 record(s), hash chain intact" in result.render_text()
    assert records[-1]["hash"] in result.render_text()


def test_verify_accepts_an_empty_log(tmp_path: Path) -> None:
    (tmp_path / "log.jsonl").write_bytes(b"")
    result = verify(tmp_path / "log.jsonl")
    assert (result.ok, result.records) == (True, 0)


def test_verify_catches_an_edited_record(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, 5)
    lines = lines_of(path)
    edited = json.loads(lines[2])
    edited["result"]["allow"] = True
    lines[2] = json.dumps(edited) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = verify(path)
    assert (result.ok, result.line, result.problem, result.records) == (False, 3, EDITED, 2)
    assert result.render_text().startswith(f"{path}:3: edited:")


def test_verify_catches_a_deleted_record(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, 5)
    lines = lines_of(path)
    del lines[2]
    path.write_text("".join(lines), encoding="utf-8")
    result = verify(path)
    assert (result.ok, result.line, result.problem) == (False, 3, DELETED)


def test_verify_catches_records_deleted_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, 3)
    path.write_text("".join(lines_of(path)[1:]), encoding="utf-8")
    result = verify(path)
    assert (result.ok, result.line, result.problem) == (False, 1, DELETED)


def test_verify_catches_reordered_records(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, 5)
    lines = lines_of(path)
    lines[1], lines[3] = lines[3], lines[1]
    path.write_text("".join(lines), encoding="utf-8")
    result = verify(path)
    assert (result.ok, result.line, result.problem) == (False, 2, REORDERED)
    assert "record now at line 3" in result.detail


def test_verify_catches_an_edit_whose_hash_was_recomputed_at_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, 4)
    lines = lines_of(path)
    forged = json.loads(lines[1])
    forged["result"]["allow"] = True
    forged["hash"] = record_hash(forged)
    lines[1] = json.dumps(forged) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = verify(path)
    assert (result.ok, result.line, result.problem) == (False, 3, DELETED)
    assert "edited and its hash recomputed" in result.detail


def test_verify_reports_malformed_and_cut_off_records(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, 2)
    path.write_text(lines_of(path)[0] + "not json\n", encoding="utf-8")
    assert (verify(path).line, verify(path).problem) == (2, MALFORMED)
    write_log(tmp_path / "cut.jsonl", 2)
    data = (tmp_path / "cut.jsonl").read_bytes()
    (tmp_path / "cut.jsonl").write_bytes(data[:-10])
    result = verify(tmp_path / "cut.jsonl")
    assert (result.line, result.problem) == (2, INCOMPLETE)


def test_appending_after_a_cut_off_record_refuses_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write_log(path, 2)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DecisionLogError) as caught:
        write_log(path, 1)
    assert str(path) in str(caught.value)
    assert "incomplete record" in str(caught.value)
    assert "kaitiaki log verify" in str(caught.value)


def test_a_long_last_record_is_read_back_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    big = new_record(E3_JOB, policy_input(E3_JOB), decision())
    big["labels"]["note"] = "x" * 200_000
    log.append(big)
    write_log(path, 2)
    assert verify(path).ok and verify(path).records == 3


def test_the_hook_writes_to_the_path_in_the_input_and_never_the_values(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "decisions.jsonl"
    document = policy_input(E3_JOB)
    document["kaitiaki"]["decision_log"] = str(path)
    document["columns"][0]["sample"] = "ZZZ9999-value-that-must-not-be-logged"
    hook = get_plugin_manager().hook.kaitiaki_decision_made
    hook(job=E3_JOB, input=document, decision=decision())
    hook(job=E3_JOB, input=document, decision=decision())
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 2
    assert "ZZZ9999" not in text
    assert verify(path).ok


def test_the_hook_does_nothing_when_logging_is_off(tmp_path: Path) -> None:
    document = policy_input(E3_JOB)
    assert document["kaitiaki"]["decision_log"] is None
    get_plugin_manager().hook.kaitiaki_decision_made(job=E3_JOB, input=document, decision=decision())
    assert list(tmp_path.iterdir()) == []


def append_many(path: str, writer: int, count: int) -> None:
    """One worker process: ``count`` appends, each through its own open/lock/append/fsync."""
    log = DecisionLog(path)
    document = policy_input(E3_JOB)
    document["kaitiaki"]["labels"] = {"writer": str(writer)}
    for index in range(count):
        record = new_record(E3_JOB, document, decision())
        record["labels"]["sequence"] = str(index)
        log.append(record)


@pytest.mark.slow
def test_concurrent_writers_lose_nothing_and_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=append_many, args=(str(path), writer, APPENDS_PER_WRITER))
        for writer in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0] * WRITERS
    result = verify(path)
    assert (result.ok, result.records) == (True, WRITERS * APPENDS_PER_WRITER)
    records = [json.loads(line) for line in lines_of(path)]
    seen = {(r["labels"]["writer"], r["labels"]["sequence"]) for r in records}
    assert seen == {(str(w), str(i)) for w in range(WRITERS) for i in range(APPENDS_PER_WRITER)}
    assert len({r["decision_id"] for r in records}) == WRITERS * APPENDS_PER_WRITER
    for writer in range(WRITERS):
        own = [int(r["labels"]["sequence"]) for r in records if r["labels"]["writer"] == str(writer)]
        assert own == sorted(own)


def test_an_unwritable_log_is_a_clear_error_not_a_silent_skip(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log folder should be")
    with pytest.raises(DecisionLogError) as caught:
        write_log(blocker / "decisions.jsonl", 1)
    assert str(blocker / "decisions.jsonl") in str(caught.value)
    assert "cannot open the decision log" in str(caught.value)
    assert f"{blocker} is a file, so it cannot hold the log's folder" in str(caught.value)


def test_a_log_path_that_is_a_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(DecisionLogError, match="that path is a folder; name a file"):
        write_log(tmp_path, 1)


def test_verify_of_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(KaitiakiError) as caught:
        verify(tmp_path / "missing.jsonl")
    assert "cannot read the decision log" in str(caught.value)


def test_kaitiaki_log_verify_exits_0_on_an_intact_log_and_1_on_a_tampered_one(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    records = write_log(path, 3)
    intact = run_cli(["log", "verify", str(path)])
    assert intact.exit_code == 0
    assert records[-1]["hash"] in intact.stdout
    lines = lines_of(path)
    path.write_text(lines[0] + lines[2], encoding="utf-8")
    tampered = run_cli(["log", "verify", str(path)])
    assert tampered.exit_code == 1
    assert tampered.stdout.startswith(f"{path}:2: deleted:")
