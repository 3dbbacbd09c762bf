"""The in-process engines (embedded regorus, regopy) behind the one Engine interface: loading,
revisions, compile errors with file:line, and fail-closed evaluation."""

from __future__ import annotations

import gc
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kaitiaki.config import EngineSettings, Settings
from kaitiaki.engine import Engine, embedded, engine_factories, load_engine
from kaitiaki.engine.base import compute_revision
from kaitiaki.engine.embedded import ThreadBound, new_regorus_engine
from kaitiaki.errors import EngineError, PolicyError
from kaitiaki.model import Decision
from tests.policies.cases import ISSUERS, worked_examples

IN_PROCESS = ("embedded", "regopy")
E2 = worked_examples()[1]["input"]


def settings(kind: str, *policies: Path, **extra: object) -> Settings:
    options: dict[str, object] = {"identifier_issuers": ISSUERS, **extra}
    return Settings(engine=EngineSettings(kind=kind), policies=tuple(policies), **options)  # type: ignore[arg-type]


def write_policy(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_builtin_engines_are_registered_through_the_plugin_hook() -> None:
    assert {"embedded", "regopy", "opa"} <= set(engine_factories())


@pytest.mark.parametrize("kind", IN_PROCESS)
@pytest.mark.parametrize("server", [{"urls": ("http://opa:8181",)}, {"token": "t"}])
def test_an_in_process_engine_refuses_server_settings(kind: str, server: dict[str, object]) -> None:
    """A URL under an in-process engine means the author thinks a fleet decides: say so, never ignore it."""
    with pytest.raises(PolicyError, match=f"engine kind '{kind}' asks no server"):
        load_engine(Settings(engine=EngineSettings(kind=kind, **server)))  # type: ignore[arg-type]


def test_unknown_engine_kind_is_a_policy_error_listing_the_kinds() -> None:
    with pytest.raises(PolicyError, match="unknown policy engine kind 'wasm'") as info:
        load_engine(Settings(engine=EngineSettings(kind="wasm")))
    assert "embedded" in str(info.value)


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_engine_satisfies_the_protocol_and_decides(kind: str) -> None:
    engine = load_engine(settings(kind))
    assert isinstance(engine, Engine)
    decision = engine.evaluate(E2)
    assert isinstance(decision, Decision)
    assert {v.rule for v in decision.violations} == {"PM-05", "PM-07"}
    assert decision.policy_revision == engine.revision


def test_revision_is_shared_by_engines_and_follows_the_data() -> None:
    embedded = load_engine(settings("embedded"))
    regopy = load_engine(settings("regopy"))
    relaxed = load_engine(settings("embedded", levels={"PM-05": "advisory"}))
    assert embedded.revision == regopy.revision
    assert embedded.revision.startswith("sha256:") and len(embedded.revision) == 7 + 64
    assert relaxed.revision != embedded.revision


def test_revision_ignores_file_names_order_and_its_own_field() -> None:
    policies = [("a.rego", "package a"), ("b.rego", "package b")]
    moved = [("x/b.rego", "package b"), ("y/a.rego", "package a")]
    data = {"kaitiaki": {"params": {"n": 1}}}
    assert compute_revision(policies, data) == compute_revision(moved, data)
    assert compute_revision(policies, data) == compute_revision(
        policies, {"kaitiaki": {"params": {"n": 1}, "revision": "sha256:old"}}
    )
    assert compute_revision(policies, data) != compute_revision(policies, {"kaitiaki": {"params": {"n": 2}}})


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_syntax_error_names_file_and_line(kind: str, tmp_path: Path) -> None:
    bad = write_policy(
        tmp_path / "org",
        "broken.rego",
        "package kaitiaki.custom.org\n\nviolation contains v if {\n  v := \n}\n",
    )
    with pytest.raises(PolicyError) as info:
        load_engine(settings(kind, tmp_path / "org"))
    error = info.value
    assert error.path is not None and Path(error.path).resolve() == bad.resolve()
    assert error.line in (4, 5)
    assert f"{error.path}:{error.line}:" in str(error)
    assert "Traceback" not in str(error) and "backtrace" not in str(error).lower()


def test_unsafe_variable_is_caught_when_loading(tmp_path: Path) -> None:
    write_policy(
        tmp_path, "unsafe.rego", "package kaitiaki.custom.org\n\nviolation contains y if {\n  y == 1\n}\n"
    )
    with pytest.raises(PolicyError, match="unsafe") as info:
        load_engine(settings("embedded", tmp_path))
    assert info.value.line == 4


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_undefined_decision_is_an_engine_error(kind: str, tmp_path: Path) -> None:
    write_policy(tmp_path, "main.rego", "package kaitiaki.main\n\ndecision := {} if input.never\n")
    engine = load_engine(settings(kind, tmp_path))
    with pytest.raises(EngineError, match="undefined"):
        engine.evaluate(E2)


@pytest.mark.parametrize(
    "decision",
    [
        '{"allow": "yes", "violations": [], "policy_revision": ""}',
        '{"allow": true}',
        '{"allow": false, "violations": [{"rule": "X"}], "policy_revision": ""}',
        '{"allow": false, "violations": [{"rule": "X", "message": "m", "level": "fatal"}], '
        '"policy_revision": ""}',
        "[true]",
    ],
)
@pytest.mark.parametrize("kind", IN_PROCESS)
def test_malformed_decision_is_an_engine_error(kind: str, decision: str, tmp_path: Path) -> None:
    write_policy(tmp_path, "main.rego", f"package kaitiaki.main\n\ndecision := {decision}\n")
    engine = load_engine(settings(kind, tmp_path))
    with pytest.raises(EngineError, match="decision"):
        engine.evaluate(E2)


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_failing_builtin_in_a_rule_is_an_engine_error_not_a_dropped_violation(
    kind: str, tmp_path: Path
) -> None:
    write_policy(
        tmp_path,
        "org.rego",
        "package kaitiaki.custom.org\n\nviolation contains v if {\n"
        '  v := {"rule": "ORG-1", "message": "m", "line": to_number(input.job.name)}\n}\n',
    )
    engine = load_engine(settings(kind, tmp_path))
    with pytest.raises(EngineError):
        engine.evaluate(E2)


def test_embedded_error_names_the_policy_line(tmp_path: Path) -> None:
    write_policy(
        tmp_path, "org.rego", "package kaitiaki.custom.org\n\nviolation contains 1 / count(input.joins)\n"
    )
    engine = load_engine(settings("embedded", tmp_path))
    with pytest.raises(EngineError, match=r"org\.rego:3: divide by zero"):
        engine.evaluate(E2)


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_input_that_is_not_json_is_an_engine_error(kind: str) -> None:
    engine = load_engine(settings(kind))
    with pytest.raises(EngineError, match="cannot send"):
        engine.evaluate({**E2, "job": {"id": object()}})


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_input_with_a_reference_cycle_is_an_engine_error(kind: str) -> None:
    engine = load_engine(settings(kind))
    job: dict[str, object] = {**E2["job"]}
    job["meta"] = job
    with pytest.raises(EngineError, match="cannot send"):
        engine.evaluate({**E2, "job": job})


@pytest.mark.parametrize("kind", IN_PROCESS)
@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_carry_is_an_engine_error(kind: str, number: float) -> None:
    # orjson would send it as null (read as a missing value); the json module's text was refused
    engine = load_engine(settings(kind))
    with pytest.raises(EngineError, match=r"input.job holds NaN or an infinity"):
        engine.evaluate({**E2, "job": {**E2["job"], "meta": {"ratio": [number]}}})


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_a_finite_number_in_job_meta_is_sent_and_decided(kind: str) -> None:
    engine = load_engine(settings(kind))
    decided = engine.evaluate({**E2, "job": {**E2["job"], "meta": {"ratio": [0.5]}}})
    assert decided == engine.evaluate(E2)


@pytest.mark.parametrize("kind", IN_PROCESS)
@pytest.mark.parametrize(
    "meta", [{"big": 10**30}, {1: "a key that is not a string"}], ids=["big-int", "int-key"]
)
def test_what_orjson_refuses_is_sent_by_the_json_module(kind: str, meta: dict[object, object]) -> None:
    engine = load_engine(settings(kind))
    assert engine.evaluate({**E2, "job": {**E2["job"], "meta": meta}}) == engine.evaluate(E2)


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_evaluate_before_load_is_an_engine_error(kind: str) -> None:
    engine = engine_factories()[kind]()
    with pytest.raises(EngineError, match="before any policy was loaded"):
        engine.evaluate(E2)


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_engine_serves_many_threads(kind: str) -> None:
    engine = load_engine(settings(kind))
    expected = engine.evaluate(E2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        decisions = list(pool.map(engine.evaluate, [E2] * 24))
    assert all(d == expected for d in decisions)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_engine_released_while_other_threads_hold_copies_raises_nowhere() -> None:
    """Regression: a regorus engine dropped off its own thread raised RuntimeError in whatever code
    was running (seen inside Airflow's threading.Event.set). Each copy must die on its own thread."""
    held = [load_engine(settings("embedded"))]
    expected = held[0].evaluate(E2)
    evaluated, release, results = threading.Event(), threading.Event(), []

    def worker() -> None:
        results.append(held[0].evaluate(E2))
        evaluated.set()
        release.wait(timeout=30)
        results.append(load_engine(settings("embedded")).evaluate(E2))

    thread = threading.Thread(target=worker)
    thread.start()
    assert evaluated.wait(timeout=30)
    held.clear()
    gc.collect()
    release.set()
    thread.join(timeout=30)
    assert results == [expected, expected]


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_engine_whose_last_reference_goes_on_another_thread_waits_for_its_own() -> None:
    """An exception's frames or a caller may hold the last reference; it is parked, not dropped."""
    handed_over: list[ThreadBound] = []
    released, parked_seen = threading.Event(), []

    def owner() -> None:
        handed_over.append(new_regorus_engine([("p.rego", "package p\n\nx := 1\n")], {}))
        released.wait(timeout=30)
        parked_seen.append(len(embedded._PARKED))
        embedded.release_parked()
        parked_seen.append(len(embedded._PARKED))

    thread = threading.Thread(target=owner)
    thread.start()
    while not handed_over:
        thread.join(timeout=0.01)
    handed_over.clear()
    gc.collect()
    released.set()
    thread.join(timeout=30)
    assert parked_seen == [1, 0]


def test_reloading_replaces_this_threads_compiled_copy() -> None:
    engine = load_engine(settings("embedded"))
    assert "PM-05" in {v.rule for v in engine.evaluate(E2).violations}
    relaxed = (
        'package kaitiaki.main\n\ndecision := {"allow": true, "violations": [], "policy_revision": ""}\n'
    )
    engine.load([("relaxed.rego", relaxed)], {})
    assert engine.evaluate(E2).allow is True


def test_level_overrides_and_issuers_reach_the_policies() -> None:
    relaxed = load_engine(settings("embedded", levels={"PM-05": "advisory", "PM-07": "advisory"}))
    decision = relaxed.evaluate(E2)
    assert decision.allow is True
    assert {v.rule: v.level for v in decision.violations} == {"PM-05": "advisory", "PM-07": "advisory"}
    e3 = worked_examples()[2]["input"]
    own_nhi = load_engine(settings("embedded", identifier_issuers={"nhi": "msd"}))
    assert "PM-11" not in {v.rule for v in own_nhi.evaluate(e3).violations}


def test_policy_data_from_configuration_overrides_thresholds() -> None:
    e4 = worked_examples()[3]["input"]
    document = json.loads(json.dumps(e4))
    document["aggregation"]["min_group_size"] = 10
    # HAVING COUNT(DISTINCT nsn) >= 10: a threshold on people (the nsn is an identifier)
    nsn = {"table": "dev.main.enrolments", "column": "nsn", "uses": ["filter"], "transforms": ["aggregate"]}
    document["columns"].append(
        {**nsn, "outputs": [], "lines": [2], "from_star": False, "categories": ["unique_identifier:nsn"]}
    )
    threshold = {"min": 10, "distinct": True, "columns": ["dev.main.enrolments.nsn"], "tables": []}
    document["aggregation"]["cells"] = [
        {"populations": ["all"], "thresholds": [{**threshold, "joined": False, "population": "all"}]}
    ]
    default = load_engine(settings("embedded"))
    strict = load_engine(settings("embedded", policy_data={"params": {"min_count_cell": 11}}))
    assert "SV-06" not in {v.rule for v in default.evaluate(document).violations}
    assert "SV-06" in {v.rule for v in strict.evaluate(document).violations}


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_policy_data_overriding_metadata_reaches_the_violations(kind: str) -> None:
    """Violation fields are prepared from the METADATA after kaitiaki.yaml's policy_data is merged."""
    override = {"rules": {"PM-05": {"title": "Name the columns", "level": "hard"}}}
    engine = load_engine(settings(kind, policy_data=override))
    star = next(v for v in engine.evaluate(E2).violations if v.rule == "PM-05")
    assert (star.title, star.level) == ("Name the columns", "hard")
    assert star.guideline == "Purpose Matters"


@pytest.mark.parametrize("kind", IN_PROCESS)
@pytest.mark.parametrize(("part", "key"), [("aggregation", "magnitudes"), ("job", "tags")])
def test_a_nested_list_of_another_type_is_refused(kind: str, part: str, key: str) -> None:
    """regorus raises on iterating null where OPA iterates nothing (and could allow): every engine
    refuses it before evaluating (the OPA engine's check is the same function); a missing list is
    an empty one."""
    engine = load_engine(settings(kind))
    with pytest.raises(EngineError, match=rf"input\.{part}\.{key} is not a list"):
        engine.evaluate({**E2, part: {**E2[part], key: None}})
    without = {**E2, part: {k: v for k, v in E2[part].items() if k != key}}
    assert engine.evaluate(without).allow == engine.evaluate(E2).allow


@pytest.mark.parametrize("kind", IN_PROCESS)
@pytest.mark.parametrize(
    ("part", "broken"),
    [
        ("columns", {"table": "cms.clients", "column": "phone", "uses": ["select"]}),
        ("outputs", {"table": None, "column": "phone", "categories": "direct_identifier"}),
        ("columns", "cms.clients.phone"),
        ("columns", {**E2["columns"][0], "categories": ("direct_identifier",)}),
        ("outputs", {**E2["outputs"][0], "sources": None}),
    ],
)
def test_malformed_column_facts_are_never_evaluated(kind: str, part: str, broken: object) -> None:
    """A column without categories would look like no personal information: block instead."""
    engine = load_engine(settings(kind))
    document = {**E2, part: [*E2[part], broken]}
    with pytest.raises(EngineError, match=rf"input\.{part}\[4\] is malformed"):
        engine.evaluate(document)


class Listing(list[str]):
    """A list by another type: the exact-type check passes it to the entry-by-entry one."""


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_a_column_fact_with_a_list_subclass_is_decided(kind: str) -> None:
    engine = load_engine(settings(kind))
    first = E2["columns"][0]
    document = {**E2, "columns": [{**first, "categories": Listing(first["categories"])}, *E2["columns"][1:]]}
    assert engine.evaluate(document) == engine.evaluate(E2)
