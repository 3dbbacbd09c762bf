"""``kaitiaki dbt <any dbt command>``: gated commands are checked, the others are dbt's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.dbt.conftest import BuiltProject, run_dbt_command
from tests.e2e.cli_runner import run_cli

pytestmark = pytest.mark.dbt

GATED = ("build", "check", "clone", "run", "run-operation", "seed", "snapshot", "source", "test")
PROGRESS = re.compile(
    r"^\d\d:\d\d:\d\d  \d+ of \d+ CHECK (model|seed|snapshot|test|hook|operation) \S+ \.+ "
    r"\[(ALLOWED|BLOCKED|DENIED) in \d+\.\d\ds\]$"
)


def test_help_lists_what_is_gated_and_what_passes_through() -> None:
    result = run_cli(["dbt", "--help"])
    assert result.exit_code == 0
    gated = result.stdout.split("Gated", 1)[1].split("Passed straight through", 1)[0]
    for command in GATED:
        assert re.search(rf"^\s+{re.escape(command)}\s", gated, re.MULTILINE), command
    passed = result.stdout.split("Passed straight through to dbt", 1)[1]
    for command in ("compile", "ls", "parse", "docs", "debug", "deps"):
        assert command in passed
    section = result.stdout.split("What is decided", 1)[1].split("Passed straight", 1)[0]
    decided = re.sub(r"-\s+", "-", " ".join(section.split()))  # click wraps after a hyphen
    for route in (
        "models",
        "snapshots",
        "seeds",
        "store_failures",
        "unit tests",
        "pre_hook/post_hook",
        "on-run-start/on-run-end",
        "run-operation",
        "clone",
        "Python models",
    ):
        assert route in decided, route


@pytest.mark.parametrize("command", ["retry", "show", "no-such-command"])
def test_commands_kaitiaki_cannot_check_are_refused(command: str) -> None:
    result = run_cli(["dbt", command, "--select", "x"])
    assert result.exit_code == 2
    assert f"kaitiaki dbt {command} is refused" in result.stderr and "Traceback" not in result.stderr


def test_ls_is_dbts_own_output_and_exit_code(built: BuiltProject, tmp_path: Path) -> None:
    own_target = ("--target-path", str(tmp_path / "target"))  # the shared manifest stays compiled
    listed = run_dbt_command(
        built.path, "ls", "--resource-type", "seed", "--output", "name", "--quiet", *own_target
    )
    assert listed.exit_code == 0, listed.stderr
    assert set(listed.stdout.split()) == {
        "msd_clients",
        "moh_patients",
        "moe_students",
        "ot_children_in_care",
        "idi_spine",
    }
    wrong = run_dbt_command(built.path, "ls", "--no-such-flag", *own_target)
    assert wrong.exit_code == 2


def test_checking_prints_progress_in_dbts_style_unless_quiet(built: BuiltProject) -> None:
    lines = [line for line in built.check.stderr.splitlines() if " CHECK " in line]
    assert len(lines) == 21  # 16 models and 5 seeds
    assert all(PROGRESS.match(line) for line in lines), lines
    assert lines[-1].split("  ", 1)[1].startswith("21 of 21 CHECK")
    quiet = run_cli(["dbt", "check", "--manifest", str(built.manifest), "--quiet", "--format", "json"])
    assert quiet.exit_code == 1 and " CHECK " not in quiet.stderr


def on_a_terminal(argv: list[str]) -> tuple[int, str, str]:
    """Run ``kaitiaki`` with its stderr on a pseudo-terminal: (exit code, stdout, the terminal's text)."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "150"}
    env.pop("NO_COLOR", None)
    script = "import sys\nfrom kaitiaki.cli import main\nmain(sys.argv[1:])\n"
    process = subprocess.Popen(
        [sys.executable, "-c", script, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    stdout = process.stdout.read() if process.stdout else b""
    return process.wait(timeout=120), stdout.decode(), screen.decode(errors="replace")


def test_a_terminal_gets_a_progress_bar_with_the_denied_nodes_above_it(built: BuiltProject) -> None:
    """On a TTY: a rich progress bar to 21/21 and one dbt-style line per denied node (the allowed
    ones do not scroll by); stdout, piped, is the same JSON as without a terminal."""
    argv = ["dbt", "check", "--manifest", str(built.manifest), "--format", "json"]
    code, stdout, screen = on_a_terminal(argv)
    assert code == 1, screen
    assert "kaitiaki CHECK" in screen and "━" in screen and "21/21" in screen
    assert "4 denied" in screen
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    denied = [line for line in plain.splitlines() if re.search(r"\d of 21 CHECK ", line)]
    assert len(denied) == 4 and all("[BLOCKED in" in line for line in denied), denied
    assert "[ALLOWED in" not in plain
    piped = run_cli(argv)
    assert [j["job"]["id"] for j in json.loads(stdout)["jobs"]] == [
        j["job"]["id"] for j in json.loads(piped.stdout)["jobs"]
    ]


def test_a_failed_compile_is_one_error_naming_the_node(
    built: BuiltProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.dbt.conftest import copy_example

    project = copy_example(tmp_path_factory.mktemp("broken") / "nz_social")
    (project / "models" / "marts" / "broken.sql").write_text("select {{ var('never_set') }} as x\n")
    result = run_dbt_command(project, "check", "--format", "json", "--quiet")
    assert result.exit_code == 2 and result.stdout == ""
    assert "dbt compile failed" in result.stderr and "broken" in result.stderr
    assert "never_set" in result.stderr and "SYS-01" not in result.stderr


def test_the_installed_dbt_core_is_in_the_declared_supported_range() -> None:
    """docs/dbt.md: dbt-core 1.10 and 1.11 (1.12 does not install here, see the docs); this
    runs on both ends of the range (the lock's 1.11, and 1.10 under `make dbt-lowest`)."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    pyproject = Path(__file__).resolve().parents[2] / "adapters" / "dbt" / "pyproject.toml"
    declared = re.search(r'"(dbt-core[^"]*)"', pyproject.read_text())
    assert declared is not None
    core = Requirement(declared[1])
    assert str(core.specifier) in ("<1.12,>=1.10", ">=1.10,<1.12")
    assert core.specifier.contains(version("dbt-core"))
    docs = (pyproject.parents[2] / "docs" / "dbt.md").read_text()
    assert "dbt-core 1.10 and 1.11" in docs and "1.12" in docs
