"""What each Rego rule costs the embedded engine, in instructions (callgrind; not a test).

regorus's wheel has no symbols, so a profile of its own functions says nothing about the Rego.
This counts the instructions of evaluating one rule at a time, with bench/engines.py's 50-column
input already set (the Rego alone: no input parsing, no answer reading), and, for a package, what
each of its `violation contains` bodies adds to the package's violations (the tree evaluated again
with that one body renamed away, shared lib rules counted once).

    .venv/bin/python bench/rego_cost.py [--input allowed|denied|empty] [--bodies PACKAGE] [RULE ...]
    .venv/bin/python bench/rego_cost.py --floor

RULE is a full path (data.kaitiaki.lib.identifiable_columns); by default the decision and each
DPUP package's violations. PACKAGE is a file name under policies/dpup (purpose_matters). Each figure
includes writing the rule's value as JSON, so measure large values through a wrapper rule of your
own (count(...)). The `empty` input is the denied one without its columns, outputs, joins and
tables: what the library costs when it finds nothing to look at. `--floor` sets the denied
decision beside the least it could cost on regorus: the library on the empty input, and the
input's per-column PM-03/PM-08 findings built as cheaply as Rego allows (FLOOR, one pass and no
helper). Needs valgrind. regorus captures a Rust backtrace for errors it handles inside
an evaluation when RUST_BACKTRACE is set, which makes some expressions ten times dearer: the count
runs with it off, as kaitiaki's engine does (kaitiaki.engine.base.quiet_rust_backtraces).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engines import callgrind_counts, inputs, settings  # noqa: E402

from kaitiaki.engine import engine_data, policy_set  # noqa: E402
from kaitiaki.engine.base import compute_revision, input_json, with_revision  # noqa: E402

EVALUATIONS = 10
PACKAGES = ("purpose_matters", "transparency_choice", "access_information", "sharing_value", "system")
DEFAULT_RULES = ("data.kaitiaki.main.decision", *(f"data.kaitiaki.dpup.{p}.violation" for p in PACKAGES))
BODY = re.compile(r"^violation contains", re.MULTILINE)
DECISION = DEFAULT_RULES[0]

# The denied input's per-column findings (PM-03 and PM-08 on each column with a sensitive
# category, the same columns, lines and fields), built as cheaply as Rego allows; and the same pass
# building nothing. A floor, not a policy: no purpose, approval or own-category test.
FLOOR = """
package bench.floor

import rego.v1

findings contains v if {
	fields := data.kaitiaki.violation_fields.internal["PM-03"]
	some col in input.columns
	some cat in col.categories
	startswith(cat, "sensitive:")
	some rest in [", which the purpose does not allow", ", not approved by the purpose"]
	name := concat(".", [col.table, col.column])
	message := concat("", [name, " is ", cat, rest])
	v := object.union(fields, {"message": message, "columns": [name], "line": min(col.lines)})
}

passed contains [col, rest] if {
	some col in input.columns
	some cat in col.categories
	startswith(cat, "sensitive:")
	some rest in [", which the purpose does not allow", ", not approved by the purpose"]
}

with_findings := {"allow": false, "violations": findings}

without_findings := {"allow": false, "violations": count(passed)}
"""
FLOOR_RULES = ["data.bench.floor.with_findings", "data.bench.floor.without_findings"]


def documents() -> dict[str, dict[str, object]]:
    """bench/engines.py's 50-column inputs, and the denied one with nothing to look at."""
    found: dict[str, dict[str, object]] = dict(inputs())
    found["empty"] = {**found["denied"], "columns": [], "outputs": [], "joins": [], "tables": []}
    return found


def modules_without_body(
    modules: list[tuple[str, str]], package: str | None, body: int | None
) -> list[tuple[str, str]]:
    """The policy ``modules``, with the `body`-th `violation contains` of `package` renamed away."""
    if package is None or body is None:
        return modules
    changed = []
    for name, text in modules:
        if Path(name).stem == package:
            start = [m.start() for m in BODY.finditer(text)][body]
            text = f"{text[:start]}unmeasured_{text[start:]}"
        changed.append((name, text))
    return changed


def count_bodies(package: str) -> int:
    for name, text in policy_set(()).modules():
        if Path(name).stem == package:
            return len(BODY.findall(text))
    raise SystemExit(f"no policy file {package}.rego among the bundled policies")


def evaluate(label: str, rules: list[str], package: str | None, body: int | None) -> None:
    """Child mode, under callgrind: each rule evaluated EVALUATIONS times between two markers (a
    getppid call makes callgrind dump its counters)."""
    import regorus

    policies = policy_set(())
    modules = modules_without_body(policies.modules(), package, body)
    data = engine_data(policies, settings("embedded"))
    engine = regorus.Engine()
    for name, text in modules:
        engine.add_policy(name, text)
    engine.add_data_json(json.dumps(with_revision(data, compute_revision(modules, data))))
    if any(rule.startswith("data.bench.") for rule in rules):
        engine.add_policy("floor.rego", FLOOR)
    engine.set_input_json(input_json(documents()[label], "embedded"))
    for rule in rules:
        engine.eval_rule_as_json(rule)
        os.getppid()
        for _ in range(EVALUATIONS):
            engine.eval_rule_as_json(rule)
        os.getppid()


def instructions(
    label: str, rules: list[str], package: str | None = None, body: int | None = None
) -> list[float]:
    """Instructions per evaluation of each rule, in a child process under callgrind."""
    command = [sys.executable, __file__, "--input", label, "--child", *rules]
    if package is not None and body is not None:
        command += ["--without", f"{package}:{body}"]
    totals = callgrind_counts(command, {**os.environ, "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"})
    if len(totals) < 2 * len(rules):
        raise SystemExit(f"the count stopped after {len(totals) // 2} of {len(rules)} rules")
    return [totals[2 * i + 1] / EVALUATIONS for i in range(len(rules))]


def per_column_findings() -> tuple[int, int]:
    """How many findings FLOOR builds on the denied input, and how many PM-03/PM-08 findings the
    real decision has (they should be the same)."""
    from kaitiaki.engine import load_engine
    from kaitiaki.engine.base import quiet_rust_backtraces

    quiet_rust_backtraces()
    import regorus

    engine = regorus.Engine()
    engine.add_policy("floor.rego", FLOOR)
    engine.add_data_json(json.dumps(engine_data(policy_set(()), settings("embedded"))))
    engine.set_input_json(input_json(inputs()["denied"], "embedded"))
    built = len(json.loads(engine.eval_rule_as_json("data.bench.floor.findings")))
    decision = load_engine(settings("embedded")).evaluate(inputs()["denied"])
    return built, sum(v.rule in ("PM-03", "PM-08") for v in decision.violations)


def floor() -> None:
    (decision,) = instructions("denied", [DECISION])
    (empty,) = instructions("empty", [DECISION])
    built, bare = instructions("denied", FLOOR_RULES)
    findings, in_decision = per_column_findings()
    print("The denied 50-column input, the Rego alone (instructions per evaluation):")
    print(f"  the decision: {decision / 1e3:,.0f} k")
    print(f"  the decision without columns, outputs, joins or tables: {empty / 1e3:,.0f} k")
    print(
        f"  its {findings} per-column findings built as cheaply as Rego allows: "
        f"{(built - bare) / 1e3:,.0f} k ({(built - bare) / findings / 1e3:,.0f} k each) above one bare "
        f"pass over the columns ({bare / 1e3:,.0f} k); the decision has {in_decision} PM-03/PM-08 findings"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", choices=("allowed", "denied", "empty"), default="denied")
    parser.add_argument("--floor", action="store_true", help="the denied decision beside its floor")
    parser.add_argument("--bodies", metavar="PACKAGE", help="what each violation body of PACKAGE adds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--without", help=argparse.SUPPRESS)
    parser.add_argument("rules", nargs="*")
    args = parser.parse_args()
    if args.child:
        package, body = args.without.split(":") if args.without else (None, None)
        evaluate(args.input, args.rules, package, None if body is None else int(body))
        return
    if args.floor:
        floor()
        return
    if args.bodies:
        rule = f"data.kaitiaki.dpup.{args.bodies}.violation"
        (whole,) = instructions(args.input, [rule])
        print(f"{rule}, {args.input} input: {whole / 1e3:,.0f} k instructions")
        for body in range(count_bodies(args.bodies)):
            (without,) = instructions(args.input, [rule], args.bodies, body)
            print(f"  violation body {body + 1}: adds {(whole - without) / 1e3:,.0f} k")
        return
    rules = args.rules or list(DEFAULT_RULES)
    for rule, counted in zip(rules, instructions(args.input, rules), strict=True):
        print(f"{rule}: {counted / 1e3:,.0f} k instructions ({args.input} input)")


if __name__ == "__main__":
    main()
