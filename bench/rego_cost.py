"""What each Rego rule costs the embedded engine, in instructions (callgrind; not a test).

regorus's wheel has no symbols, so a profile of its own functions says nothing about the Rego.
This counts the instructions of evaluating one rule at a time, with bench/engines.py's 50-column
input already set (the Rego alone: no input parsing, no answer reading), and, for a package, what
each of its `violation contains` bodies adds to the package's violations (the tree evaluated again
with that one body renamed away, shared lib rules counted once).

    .venv/bin/python bench/rego_cost.py [--input allowed|denied] [--bodies PACKAGE] [RULE ...]

RULE is a full path (data.kaitiaki.lib.identifiable_columns); by default the decision and each
DPUP package's violations. PACKAGE is a file name under policies/dpup (purpose_matters). Each figure
includes writing the rule's value as JSON, so measure large values through a wrapper rule of your
own (count(...)). Needs valgrind. regorus captures a Rust backtrace for errors it handles inside
an evaluation when RUST_BACKTRACE is set, which makes some expressions ten times dearer: the count
runs with it off, as kaitiaki's engine does (kaitiaki.engine.base.quiet_rust_backtraces).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engines import callgrind_total, inputs, settings  # noqa: E402

from kaitiaki.engine import engine_data, policy_set  # noqa: E402
from kaitiaki.engine.base import compute_revision, input_json, with_revision  # noqa: E402

EVALUATIONS = 10
PACKAGES = ("purpose_matters", "transparency_choice", "access_information", "sharing_value", "system")
DEFAULT_RULES = ("data.kaitiaki.main.decision", *(f"data.kaitiaki.dpup.{p}.violation" for p in PACKAGES))
BODY = re.compile(r"^violation contains", re.MULTILINE)


def modules_without_body(package: str | None, body: int | None) -> list[tuple[str, str]]:
    """The bundled policies, with the `body`-th `violation contains` of `package` renamed away."""
    modules = policy_set(()).modules()
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

    modules = modules_without_body(package, body)
    policies = policy_set(())
    data = engine_data(policies, settings("embedded"))
    engine = regorus.Engine()
    for name, text in modules:
        engine.add_policy(name, text)
    engine.add_data_json(json.dumps(with_revision(data, compute_revision(modules, data))))
    engine.set_input_json(input_json(inputs()[label], "embedded"))
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
    environment = {**os.environ, "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out}",
            *command,
        ]
        done = subprocess.run(run, capture_output=True, text=True, env=environment, check=False)
        parts = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
        if done.returncode != 0 or len(parts) < 2 * len(rules):
            raise SystemExit(f"the count failed:\n{done.stderr[-3000:]}")
        totals = [callgrind_total(p.read_text()) for p in parts]
    return [totals[2 * i + 1] / EVALUATIONS for i in range(len(rules))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", choices=("allowed", "denied"), default="denied")
    parser.add_argument("--bodies", metavar="PACKAGE", help="what each violation body of PACKAGE adds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--without", help=argparse.SUPPRESS)
    parser.add_argument("rules", nargs="*")
    args = parser.parse_args()
    if args.child:
        package, body = args.without.split(":") if args.without else (None, None)
        evaluate(args.input, args.rules, package, None if body is None else int(body))
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
