"""`make demo`: the gate end to end on the example estate, on the embedded defaults.

Every step is a real `kaitiaki` command whose output is shown as it comes:
1. what kaitiaki sees in a SQL job (`kaitiaki analyze`);
2. SQL jobs decided against the DPUP policies (`kaitiaki check`): one allowed, one held by a
   soft rule, one blocked by hard rules, one that cannot be parsed;
3. the nz_social dbt platform built through `kaitiaki dbt build`: denied models and everything
   downstream of them are not built, and DuckDB is checked afterwards;
4. the HTML estate report of the platform, and the decision logs verified.
Steps that decide are expected to deny some jobs; a step that fails to *run* stops the demo.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SQL_JOBS = HERE / "sql_jobs"
NZ_SOCIAL = HERE / "nz_social"
REPORT = NZ_SOCIAL / "target" / "kaitiaki-report.html"


def kaitiaki(*args: str, cwd: Path, expect: tuple[int, ...], stdout: Path | None = None) -> int:
    exe = shutil.which("kaitiaki", path=str(Path(sys.executable).parent)) or "kaitiaki"
    shown = " ".join(args) + (f" > {stdout.relative_to(cwd)}" if stdout else "")
    print(f"\n$ kaitiaki {shown}", flush=True)
    if stdout is None:
        status = subprocess.run([exe, *args], cwd=cwd, check=False).returncode
    else:
        with stdout.open("w", encoding="utf-8") as sink:
            status = subprocess.run([exe, *args], cwd=cwd, check=False, stdout=sink).returncode
    print(f"[exit {status}]", flush=True)
    if status not in expect:
        sys.exit(f"demo: `kaitiaki {' '.join(args)}` exited {status}, expected one of {expect}")
    return status


def sql_jobs() -> None:
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


def main() -> None:
    sql_jobs()
    print("\n== 3. ", end="")
    from nz_social.demo import main as dbt_demo

    dbt_demo()
    print("\n== 4. The estate report and the decision logs ==")
    kaitiaki(
        "dbt",
        "check",
        "--manifest",
        "target/manifest.json",
        "--format",
        "html",
        cwd=NZ_SOCIAL,
        expect=(1,),
        stdout=REPORT,
    )
    print(f"open {REPORT} in a browser (one self-contained file)")
    kaitiaki("log", "verify", cwd=SQL_JOBS, expect=(0,))
    kaitiaki("log", "verify", cwd=NZ_SOCIAL, expect=(0,))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
