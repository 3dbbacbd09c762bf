"""`make demo`: run the gate end to end on the example estate, printing real output.

Each step is a real `kaitiaki` command; its output is shown as it comes. The steps run even
when one reports a block (that is the point of the demo); a step that fails to *run* (exit 2
where a decision was expected) stops the demo with a non-zero status.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SQL_JOBS = HERE / "sql_jobs"


def kaitiaki(*args: str, cwd: Path, expect: tuple[int, ...]) -> int:
    exe = shutil.which("kaitiaki", path=str(Path(sys.executable).parent)) or "kaitiaki"
    print(f"\n$ kaitiaki {' '.join(args)}", flush=True)
    status = subprocess.run([exe, *args], cwd=cwd, check=False).returncode
    print(f"[exit {status}]", flush=True)
    if status not in expect:
        sys.exit(f"demo: `kaitiaki {' '.join(args)}` exited {status}, expected one of {expect}")
    return status


def main() -> None:
    print("== 1. What kaitiaki sees in SQL: columns, uses, transforms, joins ==")
    kaitiaki("analyze", "jobs/benefit_health.sql", "--format", "text", cwd=SQL_JOBS, expect=(0,))
    print("\n== 2. The gate on SQL jobs (DPUP policies, embedded Rego engine) ==")
    kaitiaki("check", "jobs/uptake_by_region.sql", "--purpose", "benefit-uptake", cwd=SQL_JOBS, expect=(0,))
    kaitiaki(
        "check",
        "jobs/waikato_contacts.sql",
        "--purpose",
        "client-contact",
        "--tag",
        "retention:P1Y",
        cwd=SQL_JOBS,
        expect=(0, 1),
    )
    kaitiaki(
        "check",
        "jobs/benefit_health.sql",
        "--purpose",
        "benefit-health-outcomes",
        "--tag",
        "retention:P1Y",
        cwd=SQL_JOBS,
        expect=(1,),
    )
    kaitiaki("check", "jobs/broken.sql", "--purpose", "benefit-uptake", cwd=SQL_JOBS, expect=(1,))
    print("\n== 3. Every decision was logged, hash-chained ==")
    kaitiaki("log", "verify", cwd=SQL_JOBS, expect=(0,))


if __name__ == "__main__":
    main()
