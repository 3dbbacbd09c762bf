"""Verdicts built by hand from the model dataclasses, shaped like the gate's (docs/governance.md).

The gate is built in parallel, so report tests construct what it returns: worked example E3
(an Airflow task linking benefits to health data on NHI) with hard, waived and advisory
findings, an allowed job, and variants for warn mode and fail-closed denials.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kaitiaki.model import (
    ColumnFact,
    Decision,
    Destination,
    Job,
    SourceLocation,
    SqlFacts,
    Verdict,
    Violation,
)

E3_SQL = """-- Link benefit recipients to their diagnoses (not approved for linking).
insert into analytics.benefit_health
select b.client_id, b.benefit_type, h.diagnosis_code
from benefits b
join health_extract h on h.nhi = b.nhi
"""
E3_OFFSET = 20  # the SQL starts on line 21 of the DAG file
E3_JOB = Job(
    id="airflow:benefits.load_health",
    kind="airflow_task",
    name="load_health",
    sql=E3_SQL,
    dialect="postgres",
    source=SourceLocation(path="dags/benefit_health.py", line_offset=E3_OFFSET),
    owner="benefits-team",
    purpose="benefit-health-outcomes",
    destination=Destination(kind="internal", region="nz"),
    tags=("retention:P1Y",),
)
E3_FACTS = SqlFacts(
    path="dags/benefit_health.py",
    dialect="postgres",
    columns=(
        ColumnFact("benefits", "client_id", ("select", "write"), ("none",), (), (3,)),
        ColumnFact("benefits", "nhi", ("join",), (), (), (5,)),
        ColumnFact("health_extract", "nhi", ("join",), (), (), (5,)),
        ColumnFact("health_extract", "diagnosis_code", ("select", "write"), ("none",), (), (3,)),
    ),
)
PM03 = Violation(
    rule="PM-03",
    title="Use within the purpose",
    guideline="Purpose Matters",
    principle="He Tāngata",
    law="Privacy Act 2020 IPP10",
    level="hard",
    message="health_extract.diagnosis_code (sensitive:health) is outside the purpose's allowed categories.",
    columns=("health_extract.diagnosis_code",),
    line=None,
    remediation="Drop the column or use, or have the approver extend the purpose.",
)
PM11 = Violation(
    rule="PM-11",
    title="Another agency's unique identifier",
    guideline="Purpose Matters",
    principle="Kaitiakitanga",
    law="Privacy Act 2020 IPP13",
    level="hard",
    message="Join on nhi, an identifier issued by moh, without approved linking.",
    columns=("health_extract.nhi", "benefits.nhi"),
    line=5,
    remediation="Use an approved linking key. Do not adopt NHI or IRD as your own key.",
)
PM10_WAIVED = Violation(
    rule="PM-10",
    title="Linking needs approval",
    guideline="Purpose Matters",
    principle="He Tāngata",
    law="",
    level="soft",
    message="benefits and health_extract are joined on identifiers; linking is not approved.",
    columns=("benefits.nhi",),
    line=5,
    remediation="State the linkage in the purpose and set linking_approved.",
    waived=True,
)
PM08_SOFT = Violation(
    rule="PM-08",
    title="Sensitive attributes need approval",
    guideline="Purpose Matters",
    principle="Manaakitanga",
    law="",
    level="soft",
    message="sensitive:health is not covered by sensitive_approved.",
    columns=("health_extract.diagnosis_code",),
    line=3,
    remediation="Get it approved on the purpose, or drop or coarsen it.",
)
PM12_ADVISORY = Violation(
    rule="PM-12",
    title="Retention declared",
    guideline="Purpose Matters",
    principle="Kaitiakitanga",
    law="Privacy Act 2020 IPP9",
    level="advisory",
    message="An internal person-level write has no retention:* tag.",
    columns=(),
    line=2,
    remediation="Tag it (e.g. retention:P2Y) and schedule deletion.",
)
WAIVER = {
    "rule": "PM-10",
    "job": E3_JOB.id,
    "justification": "One-off linkage study, ticket DG-7",
    "approved_by": "MSD Data Governance Board",
    "expires": "2027-01-31",
}
PURPOSE = {
    "id": "benefit-health-outcomes",
    "description": "Study health outcomes of benefit recipients",
    "allowed_categories": ["unique_identifier"],
    "allowed_uses": [],
    "approved_by": "MSD Data Governance Board",
    "expires": "2027-12-31",
    "linking_approved": False,
    "sensitive_approved": [],
    "sharing_agreement": None,
}
REVISION = "sha256:" + "ab" * 32


def policy_input(
    job: Job, *, mode: str = "enforce", purpose: dict[str, Any] | None = PURPOSE
) -> dict[str, Any]:
    """The input document the gate would build: facts only, never data values."""
    return {
        "kaitiaki": {
            "version": "0.1.0",
            "mode": mode,
            "now": "2026-11-26T00:00:00Z",
            "entry_point": "check",
            "decision_log": None,
            "labels": {},
        },
        "job": job.to_dict(),
        "purpose": purpose,
        "columns": [c.to_dict() for c in E3_FACTS.columns],
        "joins": [],
        "outputs": [],
        "aggregation": {"grouped": False, "count": False, "magnitudes": [], "min_group_size": None},
        "tables": [],
        "unresolved": [],
        "waivers": [WAIVER] if job.id == WAIVER["job"] else [],
    }


def e3_verdict(*, mode: str = "enforce", purpose: dict[str, Any] | None = PURPOSE) -> Verdict:
    """E3 blocked: two hard rules, a waived soft rule and an advisory one."""
    decision = Decision(
        allow=False, violations=(PM03, PM11, PM10_WAIVED, PM12_ADVISORY), policy_revision=REVISION
    )
    return Verdict(
        job=E3_JOB,
        decision=decision,
        mode=mode,
        blocked=mode == "enforce",
        input=policy_input(E3_JOB, mode=mode, purpose=purpose),
        facts=E3_FACTS,
    )


def allowed_verdict() -> Verdict:
    job = Job(
        id="sql:jobs/uptake_by_region.sql",
        kind="sql",
        name="uptake_by_region.sql",
        sql="select region, count(distinct client_key) as clients\nfrom service_events\ngroup by region\n",
        source=SourceLocation(path="jobs/uptake_by_region.sql"),
        purpose="benefit-uptake",
    )
    return Verdict(
        job=job,
        decision=Decision(allow=True, violations=(), policy_revision=REVISION),
        mode="enforce",
        blocked=False,
        input=policy_input(job),
    )


def soft_verdict(*, mode: str = "enforce", waived: bool = False) -> Verdict:
    """Only a soft rule fired: blocking in enforce mode unless waived."""
    violation = replace(PM08_SOFT, waived=waived)
    return Verdict(
        job=E3_JOB,
        decision=Decision(allow=waived, violations=(violation,), policy_revision=REVISION),
        mode=mode,
        blocked=mode == "enforce" and not waived,
        input=policy_input(E3_JOB, mode=mode),
        facts=E3_FACTS,
    )


def unnamed_denial_verdict() -> Verdict:
    """A policy that says deny without naming a blocking violation (only an advisory one)."""
    return Verdict(
        job=E3_JOB,
        decision=Decision(allow=False, violations=(PM12_ADVISORY,), policy_revision=REVISION),
        mode="enforce",
        blocked=True,
        input=policy_input(E3_JOB),
        facts=E3_FACTS,
    )
