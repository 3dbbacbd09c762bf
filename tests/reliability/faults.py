"""The failures of docs/security.md as data: the job's SQL, the kaitiaki.yaml it runs under, what must happen.

Every failure is tried through every entry point (``test_fail_closed_matrix.py``). The SQL uses
the warehouse of the Airflow tests (``tests/airflow/warehouse.py``: ``msd.clients``,
``health.patients``, ``stats.spine``) so that, were it not blocked, it would run: a block is the
gate's doing, not the database's. Placeholders ``{clients}``, ``{patients}`` and ``{spine}`` become
plain table names for SQL files and Airflow tasks and ``source()`` calls for dbt models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SYS_ANALYSIS = "SYS-01"
SYS_ENGINE = "SYS-02"
USAGE = "exit 2"
DENIED = "PM-03"
EXIT_CODES = {SYS_ANALYSIS: 1, SYS_ENGINE: 1, DENIED: 1, USAGE: 2}

PURPOSE = "benefit-uptake"
OPA_TIMEOUT_MS = 300
LIMITS = {"max_sql_bytes": 4000, "max_depth": 30, "max_statements": 2}
TABLES = {"clients": "msd.clients", "patients": "health.patients", "spine": "stats.spine"}
DBT_SOURCES = {
    "clients": "{{ source('msd', 'clients') }}",
    "patients": "{{ source('health', 'patients') }}",
    "spine": "{{ source('stats', 'spine') }}",
}

CONTROL_SQL = """select region, count(distinct client_number) as clients
from {clients}
where not opted_out
group by region
having count(distinct client_number) >= 6"""

BROKEN_POLICY = """package kaitiaki.custom.broken

import rego.v1

violation contains v if {
	v := {"rule" "BROKEN-01"}
}
"""
BROKEN_POLICY_LINE = 6

# Two values for one complete rule once a job is given: it compiles, and fails while deciding.
FAILING_POLICY = """package kaitiaki.custom.failing

import rego.v1

job_kind := "first" if input.job.id

job_kind := "second" if input.job.id

violation contains v if {
	job_kind == "never"
	v := {"rule": "FAILING-01"}
}
"""


@dataclass(frozen=True)
class Failure:
    """One row of the matrix.

    ``expect``: SYS-01 / SYS-02 or a policy rule (a denial, exit 1, logged) or ``exit 2``
    (nothing decided).
    ``says``: text the user's message must contain — what could not be verified.
    ``located``: ``(file kind, line)`` the message must name; kinds: ``sql`` (the job's own SQL),
    ``config``, ``policy``, ``manifest``, ``log``; line None where there is no line.
    ``worker_fault``: what the fault plugin does to a dbt worker process (``entry_points.py``).
    """

    id: str
    what: str
    expect: str
    says: tuple[str, ...]
    config: str = "plain"
    sql: str = CONTROL_SQL
    located: tuple[str, int | None] | None = None
    worker_fault: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.expect]

    @property
    def is_sql_row(self) -> bool:
        return self.sql != CONTROL_SQL


@dataclass(frozen=True)
class Outcome:
    """What one entry point did with one failing job; ``decided_in``: the kind of process
    (``worker`` or ``main``) each decision about it was made in, where the entry point says;
    ``log``: everything the process logged, where ``output`` is only what the user is shown."""

    ran: bool
    output: str
    records: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None
    task_state: str | None = None
    try_number: int | None = None
    decided_in: tuple[str, ...] = ()
    log: str = ""


def sql_for(sql: str, *, dbt: bool = False) -> str:
    return sql.format(**(DBT_SOURCES if dbt else TABLES))


def control_catalog() -> dict[str, Any]:
    """msd.clients as governance classified it; health.patients and stats.spine are unknown."""
    identifiers = {"full_name": ["direct_identifier"], "date_of_birth": ["quasi_identifier"]}
    columns: dict[str, list[str]] = {
        "client_number": ["unique_identifier:msd_client"],
        "region": [],
        "opted_out": ["opt_out_flag"],
        **identifiers,
    }
    return {"msd.clients": {"agency": "msd", "columns": columns}}


def base_config() -> dict[str, Any]:
    return {
        "agency": "msd",
        "mode": "enforce",
        "default_purpose": PURPOSE,
        "identifier_issuers": {"nhi": "moh", "ird": "ird", "msd_client": "msd"},
        "airflow": {"parse_time_check": "off"},
        "catalog": control_catalog(),
        "purposes": {
            PURPOSE: {
                "description": "Measure benefit uptake by region to plan service centres; aggregate "
                "statistics only, no linking.",
                "allowed_categories": ["unique_identifier", "person_key", "quasi_identifier", "opt_out_flag"],
                "approved_by": "MSD Data Governance Board",
                "expires": "2030-06-30",
                "linking_approved": False,
            }
        },
    }


OPA_FAULTS = ("opa_slow", "opa_500", "opa_undefined", "opa_wrong_shape", "opa_contradiction", "opa_down")
INVALID_CONFIG_LINE_TEXT = 'strict_catalog: "yes"'
LOG_BLOCKER = "not_a_folder"


REGOPY = "regopy"
REGOPY_STRAY_URL = "http://127.0.0.1:8181"


def config_files(kind: str, opa_urls: dict[str, str], parse_time_check: str = "off") -> dict[str, str]:
    """kaitiaki.yaml of one kind, and the files beside it it names (relative path → text).

    ``regopy_<kind>`` is ``<kind>`` decided by the regopy engine (``regopy``: the plain one).
    """
    config = base_config()
    config["airflow"]["parse_time_check"] = parse_time_check
    extra: dict[str, str] = {}
    tail = ""
    if kind.startswith(REGOPY):
        config["engine"] = {"kind": REGOPY}
        kind = kind.removeprefix(REGOPY).removeprefix("_") or "plain"
    if kind == "limits":
        config["limits"] = dict(LIMITS)
    elif kind == "strict":
        config["strict_catalog"] = True
    elif kind == "broken_policy":
        config["policies"] = ["custom"]
        extra["custom/broken.rego"] = BROKEN_POLICY
    elif kind == "failing_policy":
        config["policies"] = ["custom"]
        extra["custom/failing.rego"] = FAILING_POLICY
    elif kind in OPA_FAULTS:
        config["engine"] = {"kind": "opa", "url": opa_urls[kind], "timeout_ms": OPA_TIMEOUT_MS}
    elif kind == "engine_misconfigured" and config.get("engine"):
        config["engine"]["url"] = REGOPY_STRAY_URL
    elif kind == "engine_misconfigured":
        config["engine"] = {"kind": "opa", "timeout_ms": OPA_TIMEOUT_MS}
    elif kind == "invalid":
        tail = INVALID_CONFIG_LINE_TEXT + "\n"
    elif kind == "log_unwritable":
        config["decision_log"] = f"{LOG_BLOCKER}/decisions.jsonl"
        extra[LOG_BLOCKER] = "a file where the decision log's folder should be\n"
    elif kind != "plain":
        raise ValueError(f"unknown configuration kind {kind!r}")
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True) + tail
    return {"kaitiaki.yaml": text, **extra}


def invalid_config_line(opa_urls: dict[str, str]) -> int:
    """The line of the invalid setting in the ``invalid`` kaitiaki.yaml."""
    lines = config_files("invalid", opa_urls)["kaitiaki.yaml"].splitlines()
    return lines.index(INVALID_CONFIG_LINE_TEXT) + 1


def write_config(folder: Path, kind: str, opa_urls: dict[str, str], parse_time_check: str = "off") -> Path:
    """Write one configuration (and its files) into ``folder``; returns its kaitiaki.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in config_files(kind, opa_urls, parse_time_check).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder / "kaitiaki.yaml"


def decision_records(config_dir: Path, job_id: str) -> list[dict[str, Any]]:
    """The decision-log records beside a kaitiaki.yaml for one job (empty when there is no log)."""
    path = config_dir / ".kaitiaki" / "decisions.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in records if r.get("labels", {}).get("job") == job_id]
