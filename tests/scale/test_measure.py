"""The benchmark helpers that the scaling figures rest on: peak memory of real child processes,
the memory line every results file carries, and the summary's refusal to call a figure met when
it could not read it."""

from __future__ import annotations

import sys

from bench.measure import PeakMemory, memory_line, parse_memory_line, run_measured
from bench.summary import all_rows, dbt_rows, decision_log_rows, engine_rows, scaling_rows

ALLOCATE_MIB = 64
PARENT_MIB = 160


def test_memory_line_reads_back_what_it_wrote() -> None:
    peak = PeakMemory(self_mib=123.0, children_mib=456.0)
    assert parse_memory_line(f"# Results\n\n{memory_line(peak)}\n") == peak
    assert parse_memory_line("# Results without a memory line\n") is None


def test_child_peak_is_its_own_not_its_parents() -> None:
    """ru_maxrss of a child starts at its parent's size; the sampled VmHWM must not."""
    ballast = bytearray(PARENT_MIB * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so it is resident
    child = (
        f"import time; b = bytearray({ALLOCATE_MIB} << 20); b[::4096] = b'x' * len(b[::4096]); "
        "time.sleep(0.5)"
    )
    measured = run_measured([sys.executable, "-c", child])
    assert measured.returncode == 0
    assert ALLOCATE_MIB <= measured.peak_rss_mib < PARENT_MIB
    assert measured.tree_peak_mib >= ALLOCATE_MIB
    assert measured.cpu_s > 0
    assert len(ballast) == PARENT_MIB * 1024 * 1024


def test_nothing_read_is_nothing_met() -> None:
    rows = all_rows({})
    assert rows
    assert all(row.met is None for row in rows)
    assert all(row.measured.startswith("not measured") for row in rows)


def test_a_figure_over_its_target_is_not_met() -> None:
    dbt = (
        "Synthetic manifest from `bench/gen_manifest.py` (seed 7): 2000 models (5.2 MB)\n"
        "| cold (no cache), target < 20 s | 21.30 s (target MISSED) | 17.8 s | 21.30 |\n"
        "| warm (cache, nothing changed), target < 2 s | 1.64 s (target met) | 1.6 s | 1.64 |\n"
    )
    cold, warm = dbt_rows(dbt)
    assert (cold.measured, cold.met) == ("21.3 s", False)
    assert (warm.measured, warm.met) == ("1.64 s", True)
    log = "| 1 process | 2000 | 90 | 0.47 | 1.05 |\n| 8 processes | 4000 | 1,686 | 4.41 | 11.25 |\n"
    [appends] = decision_log_rows(log, dbt)
    assert appends.met is False  # 90/s cannot keep up with 2000 models in 21.3 s


def test_scaling_memory_over_a_gigabyte_is_not_met() -> None:
    row = (
        "| 10,000 | 23.6 MB | 47.84 s | 67.4 s | 6.7 ms | 4.66 s | 4.7 s | 579 / 556 MiB "
        "| 1100 / 549 MiB | 57 MB |"
    )
    rows = scaling_rows(row + "\n")
    memory = [r for r in rows if r.figure.startswith("Peak memory, 10,000")]
    assert [(r.measured, r.met) for r in memory] == [("1100 MiB", False)]
    assert [r.met for r in rows if r.figure.startswith("Peak memory, 2,000")] == [None]


def test_the_engines_table_as_the_bench_writes_it_is_read() -> None:
    # bench/engines.py's table, with its last column (same decision as the embedded engine)
    engines = (
        "<!-- bench/engines.py: begin -->\n"
        "| engine | input | runs | load (compile) | median | p95 | p99 | violations | same as embedded |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---|\n"
        "| embedded | allowed | 1000 | 14.5 | 0.900 | 1.550 | 1.682 | 2 | yes |\n"
        "| embedded | denied | 1000 | 14.5 | 1.198 | 6.361 | 6.985 | 26 | yes |\n"
        "| opa-binary (loopback HTTP) | denied | 1000 | 20.0 | 1.306 | 4.700 | 5.000 | 26 | yes |\n"
        "<!-- bench/engines.py: end -->\n"
    )
    embedded, opa = engine_rows(engines)
    assert (embedded.measured, embedded.met) == ("1.198 ms", False)
    assert (opa.measured, opa.met) == ("4.7 ms", True)
