"""The engine gaps docs/scale.md documents, pinned on the engines themselves: if an engine changes
its behaviour, this fails and the documentation (and the library's workaround) must follow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaitiaki.engine.base import quiet_rust_backtraces
from tests.support.real_opa import run_opa

NEGATED_MISSING_FIELD = """package gap

nonempty(text) if {
	is_string(text)
	text != ""
}

problem := "no approver" if {
	not nonempty(input.waiver.approved_by)
} else := null
"""


def regorus_value(policy: str, rule: str, policy_input: object) -> object:
    quiet_rust_backtraces()
    import regorus

    engine = regorus.Engine()
    engine.add_policy("gap.rego", policy)
    engine.set_input_json(json.dumps(policy_input))
    return json.loads(engine.eval_rule_as_json(rule))


def opa_value(tmp_path: Path, policy: str, query: str, policy_input: object) -> object:
    (tmp_path / "gap.rego").write_text(policy)
    (tmp_path / "input.json").write_text(json.dumps(policy_input))
    result = run_opa(
        "eval",
        "--format",
        "json",
        "--data",
        str(tmp_path / "gap.rego"),
        "--input",
        str(tmp_path / "input.json"),
        query,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["result"][0]["expressions"][0]["value"]


def test_opa_does_not_negate_a_function_of_a_missing_field(tmp_path: Path) -> None:
    """Why the library reads optional fields with object.get before a `not`."""
    missing = {"waiver": {}}
    assert regorus_value(NEGATED_MISSING_FIELD, "data.gap.problem", missing) == "no approver"
    assert opa_value(tmp_path, NEGATED_MISSING_FIELD, "data.gap.problem", missing) is None
    safe = NEGATED_MISSING_FIELD.replace(
        "input.waiver.approved_by", 'object.get(input.waiver, "approved_by", null)'
    )
    assert opa_value(tmp_path, safe, "data.gap.problem", missing) == "no approver"


def test_regopy_orders_numbers_as_text_in_min_and_max(tmp_path: Path) -> None:
    regopy = pytest.importorskip("regopy")
    answer = json.loads(str(regopy.Interpreter().query("x := min({9, 10}); y := max({9, 10})")))
    assert answer["bindings"] == {"x": 10, "y": 9}
    assert regorus_value("package gap\n\nx := min({9, 10})\n", "data.gap.x", {}) == 9
    assert opa_value(tmp_path, "package gap\n\nx := min({9, 10})\n", "data.gap.x", {}) == 9


def test_regorus_vm_drops_a_rule_body_whose_builtin_fails() -> None:
    """Why kaitiaki does not decide with regorus's compiled VM: the interpreter raises (a block)."""
    quiet_rust_backtraces()
    import regorus

    policy = (
        'package gap\n\nfound contains "bad" if to_number(input.x) > 0\n\nfound contains "good" if true\n'
    )
    program = regorus.Program.compile_from_modules("{}", [("gap.rego", policy)], ["data.gap.found"])
    vm = regorus.Rvm()
    vm.load_program(program)
    vm.set_data_json("{}")
    vm.set_input_json('{"x": "not a number"}')
    assert json.loads(vm.execute()) == ["good"]
    with pytest.raises(RuntimeError):
        regorus_value(policy, "data.gap.found", {"x": "not a number"})
