"""A small, realistic estate of verdicts built by hand from the model dataclasses.

Nine jobs of a synthetic NZ social-sector platform: a chain of dbt models (staging → linked
intermediate → mart), an Airflow export task, and SQL files. Built here, not through the gate, so
the HTML report can be tested without the analysis, classification and engine rooms; the
policy input mirrors ``Gate.policy_input`` (docs/governance.md). No data values anywhere: only facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kaitiaki.model import (
    AnalysisError,
    ColumnFact,
    ColumnRef,
    Decision,
    Destination,
    Job,
    LineageEdge,
    SourceLocation,
    SqlFacts,
    Verdict,
    Violation,
)

NOW = "2026-11-26T00:00:00Z"
REVISION = "sha256:5f1d0c2a9e7b"

UNIQUE_MSD = "unique_identifier:msd_client"
UNIQUE_NHI = "unique_identifier:nhi"
DIRECT = "direct_identifier"
QUASI = "quasi_identifier"
HEALTH = "sensitive:health"
ETHNICITY = "sensitive:ethnicity"
PERSON_KEY = "person_key"
OPT_OUT = "opt_out_flag"

PURPOSES: dict[str, dict[str, Any]] = {
    "client-services": {
        "id": "client-services",
        "description": "Plan case-manager capacity per region from client records",
        "allowed_categories": ["unique_identifier", "direct_identifier", "quasi_identifier", "sensitive"],
        "approved_by": "MSD Data Governance Board",
        "expires": "2027-06-30",
        "linking_approved": False,
    },
    "readmission-research": {
        "id": "readmission-research",
        "description": "Reduce avoidable readmissions (aggregate statistics only)",
        "allowed_categories": ["unique_identifier", "quasi_identifier", "sensitive:health"],
        "approved_by": "Health NZ Data Governance Group",
        "expires": "2027-06-30",
        "linking_approved": False,
    },
    "benefit-uptake": {
        "id": "benefit-uptake",
        "description": "Measure benefit uptake by region to plan service centres",
        "allowed_categories": ["unique_identifier", "opt_out_flag"],
        "approved_by": "MSD Data Governance Board",
        "expires": "2027-06-30",
        "linking_approved": False,
    },
    "benefit-health-outcomes": {
        "id": "benefit-health-outcomes",
        "description": "Study health outcomes of benefit recipients (not for individual case decisions)",
        "allowed_categories": ["unique_identifier"],
        "approved_by": "MSD Data Governance Board",
        "expires": "2027-12-31",
        "linking_approved": False,
    },
    "client-contact": {
        "id": "client-contact",
        "description": "Contact clients in Waikato about the winter energy payment change",
        "allowed_categories": ["unique_identifier", "direct_identifier"],
        "approved_by": "MSD Data Governance Board",
        "expires": "2027-03-31",
        "linking_approved": False,
    },
}


def column(
    table: str,
    name: str,
    categories: Sequence[str],
    uses: Sequence[str],
    transforms: Sequence[str],
    outputs: Sequence[str] = (),
    lines: Sequence[int] = (1,),
    *,
    from_star: bool = False,
) -> ColumnFact:
    return ColumnFact(
        table=table,
        column=name,
        uses=tuple(uses),
        transforms=tuple(transforms),
        outputs=tuple(outputs),
        lines=tuple(lines),
        from_star=from_star,
        categories=tuple(categories),
        classified_by=("catalog",) if categories else (),
    )


def flow(source: str, target: str, transforms: Sequence[str] = ("none",)) -> LineageEdge:
    """``raw.cms_clients.client_id`` → ``.client_id`` (target table None: a bare SELECT)."""
    source_table, _, source_column = source.rpartition(".")
    target_table, _, target_column = target.rpartition(".")
    return LineageEdge(
        source=ColumnRef(source_table, source_column),
        target=ColumnRef(target_table or None, target_column),
        transforms=tuple(transforms),
    )


def violation(
    rule: str,
    title: str,
    level: str,
    message: str,
    columns: Sequence[str],
    line: int | None,
    remediation: str,
    *,
    waived: bool = False,
    guideline: str = "Purpose Matters",
    law: str = "Privacy Act 2020 IPP10",
) -> Violation:
    return Violation(
        rule=rule,
        title=title,
        guideline=guideline,
        principle="He Tāngata",
        law=law,
        level=level,
        message=message,
        columns=tuple(columns),
        line=line,
        remediation=remediation,
        waived=waived,
    )


def verdict(
    job: Job,
    columns: Sequence[ColumnFact],
    lineage: Sequence[LineageEdge],
    violations: Sequence[Violation] = (),
    *,
    mode: str = "enforce",
    errors: Sequence[AnalysisError] = (),
    waivers: Sequence[dict[str, Any]] = (),
) -> Verdict:
    """A verdict as the gate makes it: allow unless a non-waived, non-advisory violation."""
    allow = not any(v.level != "advisory" and not v.waived for v in violations)
    facts = SqlFacts(
        path=job.source.path,
        dialect=job.dialect or "postgres",
        columns=tuple(c for c in columns),
        lineage=tuple(lineage),
        errors=tuple(errors),
    )
    document: dict[str, Any] = {
        "kaitiaki": {"version": "0.1.0", "mode": mode, "now": NOW},
        "job": job.to_dict(),
        "purpose": PURPOSES.get(job.purpose or ""),
        "columns": [c.to_dict() for c in columns],
        "joins": [],
        "outputs": [],
        "aggregation": {"grouped": False, "count": False, "magnitudes": [], "min_group_size": None},
        "tables": [],
        "unresolved": [{"kind": "analysis_error", "detail": e.message, "line": e.line} for e in errors],
        "waivers": list(waivers),
    }
    return Verdict(
        job=job,
        decision=Decision(allow=allow, violations=tuple(violations), policy_revision=REVISION),
        mode=mode,
        blocked=mode == "enforce" and not allow,
        input=document,
        facts=facts,
    )


def dbt_model(name: str, purpose: str, *, upstream: Sequence[str] = (), tags: Sequence[str] = ()) -> Job:
    return Job(
        id=f"dbt:model.nz_social.{name}",
        kind="dbt_model",
        name=name,
        sql="",
        dialect="duckdb",
        source=SourceLocation(path=f"models/{name}.sql"),
        owner="msd-analytics",
        purpose=purpose,
        tags=tuple(tags),
        upstream=tuple(f"dbt:model.nz_social.{u}" for u in upstream),
        meta={"relation": f'"dev"."main"."{name}"', "materialized": "table"},
    )


def sql_file(path: str, purpose: str | None, *, owner: str = "msd-data-eng", **extra: Any) -> Job:
    return Job(
        id=f"sql:{path}",
        kind="sql",
        name=path.rsplit("/", 1)[-1],
        sql="",
        dialect="postgres",
        source=SourceLocation(path=path),
        owner=owner,
        purpose=purpose,
        **extra,
    )


def stg_clients() -> Verdict:
    t = "raw.cms_clients"
    cols = [
        column(t, "client_id", [UNIQUE_MSD], ["select"], ["none"], [".client_id"], [2]),
        column(t, "full_name", [DIRECT], ["select"], ["none"], [".full_name"], [3]),
        column(t, "date_of_birth", [QUASI], ["select"], ["truncate"], [".birth_year"], [4]),
        column(t, "ethnicity", [ETHNICITY], ["select"], ["none"], [".ethnicity"], [5]),
        column(t, "region", [], ["select"], ["none"], [".region"], [6]),
    ]
    lineage = [
        flow(f"{t}.client_id", ".client_id"),
        flow(f"{t}.full_name", ".full_name"),
        flow(f"{t}.date_of_birth", ".birth_year", ["truncate"]),
        flow(f"{t}.ethnicity", ".ethnicity"),
        flow(f"{t}.region", ".region"),
    ]
    return verdict(dbt_model("stg_clients", "client-services", tags=["retention:P2Y"]), cols, lineage)


def stg_health_events() -> Verdict:
    t = "raw.health_events"
    cols = [
        column(t, "nhi", [UNIQUE_NHI], ["select"], ["none"], [".nhi"], [2]),
        column(t, "client_id", [UNIQUE_MSD], ["select"], ["none"], [".client_id"], [3]),
        column(t, "diagnosis_code", [HEALTH], ["select"], ["none"], [".diagnosis_code"], [4]),
        column(t, "event_date", [], ["select"], ["none"], [".event_date"], [5]),
    ]
    lineage = [
        flow(f"{t}.nhi", ".nhi"),
        flow(f"{t}.client_id", ".client_id"),
        flow(f"{t}.diagnosis_code", ".diagnosis_code"),
        flow(f"{t}.event_date", ".event_date"),
    ]
    retention = violation(
        "PM-12",
        "Retention declared",
        "advisory",
        "stg_health_events writes identifiable columns to an internal table without a retention:* tag.",
        [f"{t}.nhi"],
        1,
        "Tag the model (e.g. retention:P2Y) and schedule deletion.",
        law="Privacy Act 2020 IPP9",
    )
    return verdict(dbt_model("stg_health_events", "readmission-research"), cols, lineage, [retention])


def int_client_health() -> Verdict:
    clients, events = "dev.main.stg_clients", "dev.main.stg_health_events"
    cols = [
        column(clients, "client_id", [UNIQUE_MSD], ["select", "join"], ["none"], [".client_id"], [2, 7]),
        column(clients, "ethnicity", [ETHNICITY], ["select"], ["none"], [".ethnicity"], [3]),
        column(clients, "birth_year", [QUASI], ["select"], ["none"], [".birth_year"], [3]),
        column(events, "client_id", [UNIQUE_MSD], ["join"], [], [], [7]),
        column(events, "nhi", [UNIQUE_NHI], ["select"], ["none"], [".nhi"], [4]),
        column(events, "diagnosis_code", [HEALTH], ["select"], ["none"], [".diagnosis_code"], [5]),
        column(events, "event_date", [], ["select"], ["none"], [".event_date"], [5]),
    ]
    lineage = [
        flow(f"{clients}.client_id", ".client_id"),
        flow(f"{clients}.ethnicity", ".ethnicity"),
        flow(f"{clients}.birth_year", ".birth_year"),
        flow(f"{events}.nhi", ".nhi"),
        flow(f"{events}.diagnosis_code", ".diagnosis_code"),
        flow(f"{events}.event_date", ".event_date"),
    ]
    violations = [
        violation(
            "PM-11",
            "Another agency's unique identifier",
            "hard",
            "The NHI (issued by moh) is written raw to a person-level output of msd.",
            [f"{events}.nhi"],
            4,
            "Use an approved linking key. Do not adopt NHI or IRD as your own key.",
            guideline="Purpose Matters",
            law="Privacy Act 2020 IPP13",
        ),
        violation(
            "PM-10",
            "Linking needs approval",
            "soft",
            "stg_clients and stg_health_events are joined on client_id; purpose "
            "readmission-research does not approve linking.",
            [f"{clients}.client_id", f"{events}.client_id"],
            7,
            "State the linkage in the purpose and set linking_approved.",
        ),
    ]
    job = dbt_model(
        "int_client_health", "readmission-research", upstream=["stg_clients", "stg_health_events"]
    )
    return verdict(job, cols, lineage, violations)


def mart_readmissions() -> Verdict:
    t = "dev.main.int_client_health"
    cols = [
        column(t, "nhi", [UNIQUE_NHI], ["select", "group"], ["hash"], [".patient_key"], [2]),
        column(t, "diagnosis_code", [HEALTH], ["select", "group"], ["none"], [".diagnosis_code"], [3]),
        column(t, "event_date", [], ["select"], ["aggregate"], [".admissions"], [4]),
    ]
    lineage = [
        flow(f"{t}.nhi", ".patient_key", ["hash"]),
        flow(f"{t}.diagnosis_code", ".diagnosis_code"),
        flow(f"{t}.event_date", ".admissions", ["aggregate"]),
    ]
    job = dbt_model("mart_readmissions", "readmission-research", upstream=["int_client_health"])
    return verdict(job, cols, lineage)


def export_readmissions() -> Verdict:
    t = "dev.main.mart_readmissions"
    target = "exports.moh_readmissions"
    cols = [
        column(t, "patient_key", [PERSON_KEY], ["select"], ["none"], [f"{target}.patient_key"], [2]),
        column(t, "diagnosis_code", [HEALTH], ["select"], ["none"], [f"{target}.diagnosis_code"], [2]),
        column(t, "admissions", [], ["select"], ["none"], [f"{target}.admissions"], [2]),
    ]
    lineage = [
        flow(f"{t}.patient_key", f"{target}.patient_key"),
        flow(f"{t}.diagnosis_code", f"{target}.diagnosis_code"),
        flow(f"{t}.admissions", f"{target}.admissions"),
    ]
    violations = [
        violation(
            "SV-02",
            "Offshore destination",
            "hard",
            "Identifiable column patient_key goes to an offshore destination without an IPP12 basis.",
            [f"{t}.patient_key"],
            2,
            "Record the IPP12 basis (comparable safeguards, model clauses, informed authorisation).",
            guideline="Sharing Value",
            law="Privacy Act 2020 IPP12",
        ),
        violation(
            "SV-04",
            "Hashing is not anonymisation",
            "soft",
            "patient_key is a hash of an NHI: still personal information off-agency.",
            [f"{t}.patient_key"],
            2,
            "Use HMAC with a secret you hold; SV-01/02 still apply.",
            guideline="Sharing Value",
            law="Privacy Act 2020 IPP11",
        ),
    ]
    job = Job(
        id="airflow:moh_export.share_readmissions",
        kind="airflow_task",
        name="moh_export.share_readmissions",
        sql="",
        dialect="duckdb",
        source=SourceLocation(path="dags/moh_export.py", line_offset=41),
        owner="health-insights",
        purpose="readmission-research",
        destination=Destination(kind="external", region="offshore", name="research-partner-sftp"),
        upstream=("dbt:model.nz_social.mart_readmissions",),
    )
    return verdict(job, cols, lineage, violations)


def uptake_by_region() -> Verdict:
    t = "service_events"
    cols = [
        column(t, "client_key", [UNIQUE_MSD], ["select"], ["aggregate"], [".clients"], [2, 6]),
        column(t, "region", [], ["select", "group"], ["none"], [".region"], [2, 5]),
        column(t, "opted_out", [OPT_OUT], ["filter"], [], [], [4]),
    ]
    lineage = [flow(f"{t}.client_key", ".clients", ["aggregate"]), flow(f"{t}.region", ".region")]
    return verdict(sql_file("jobs/uptake_by_region.sql", "benefit-uptake"), cols, lineage)


def waikato_contacts() -> Verdict:
    t = "cms.clients"
    cols = [
        column(t, "client_id", [UNIQUE_MSD], ["select"], ["none"], [".client_id"], [2], from_star=True),
        column(t, "full_name", [DIRECT], ["select"], ["none"], [".full_name"], [2], from_star=True),
        column(t, "phone", [DIRECT], ["select"], ["none"], [".phone"], [2], from_star=True),
        column(t, "region", [], ["select", "filter"], ["none"], [".region"], [2, 4], from_star=True),
    ]
    lineage = [flow(f"{t}.{c}", f".{c}") for c in ("client_id", "full_name", "phone", "region")]
    waived = violation(
        "PM-05",
        "No SELECT * on identifiable tables",
        "soft",
        "cms.clients has identifiable columns and is read with SELECT *.",
        [f"{t}.client_id", f"{t}.full_name", f"{t}.phone"],
        2,
        "List the columns you need.",
        waived=True,
    )
    waiver = {
        "rule": "PM-05",
        "job": "sql:jobs/waikato_contacts.sql",
        "justification": "One-off contact list; column list being narrowed in ticket DG-142",
        "approved_by": "MSD Data Governance Board",
        "expires": "2027-01-31",
    }
    job = sql_file("jobs/waikato_contacts.sql", "client-contact", tags=("retention:P1Y",))
    return verdict(job, cols, lineage, [waived], waivers=[waiver])


def benefit_health() -> Verdict:
    benefits, health = "benefits", "health_extract"
    target = "analytics.benefit_health"
    cols = [
        column(benefits, "client_id", [UNIQUE_MSD], ["select"], ["none"], [f"{target}.client_id"], [3]),
        column(benefits, "benefit_type", [], ["select"], ["none"], [f"{target}.benefit_type"], [3]),
        column(benefits, "nhi", [UNIQUE_NHI], ["join"], [], [], [5]),
        column(health, "nhi", [UNIQUE_NHI], ["join"], [], [], [5]),
        column(health, "diagnosis_code", [HEALTH], ["select"], ["none"], [f"{target}.diagnosis_code"], [3]),
    ]
    lineage = [
        flow(f"{benefits}.client_id", f"{target}.client_id"),
        flow(f"{benefits}.benefit_type", f"{target}.benefit_type"),
        flow(f"{health}.diagnosis_code", f"{target}.diagnosis_code"),
    ]
    violations = [
        violation(
            "PM-11",
            "Another agency's unique identifier",
            "hard",
            "benefits and health_extract are joined on nhi (issued by moh) without linking approval.",
            [f"{benefits}.nhi", f"{health}.nhi"],
            5,
            "Use an approved linking key. Do not adopt NHI or IRD as your own key.",
            law="Privacy Act 2020 IPP13",
        ),
        violation(
            "PM-03",
            "Use within the purpose",
            "hard",
            "health_extract.diagnosis_code is sensitive:health, which purpose benefit-health-outcomes "
            "does not allow.",
            [f"{health}.diagnosis_code"],
            3,
            "Drop the column, or have the approver extend the purpose.",
        ),
    ]
    job = sql_file("jobs/benefit_health.sql", "benefit-health-outcomes", owner="msd-research")
    return verdict(job, cols, lineage, violations)


def broken() -> Verdict:
    error = AnalysisError("Expected table name but got <EOF>", line=1)
    sys01 = violation(
        "SYS-01",
        "Analysis complete",
        "hard",
        "The SQL could not be fully analysed: Expected table name but got <EOF>",
        [],
        1,
        "Fix the SQL or declare the tables' columns (schema or catalog); "
        "kaitiaki never allows what it cannot see.",
        guideline="Fail closed",
        law="",
    )
    return verdict(sql_file("jobs/broken.sql", "benefit-uptake"), [], [], [sys01], errors=[error])


def sample_estate() -> list[Verdict]:
    """The nine verdicts, in no particular order (the report sorts them)."""
    return [
        stg_clients(),
        stg_health_events(),
        int_client_health(),
        mart_readmissions(),
        export_readmissions(),
        uptake_by_region(),
        waikato_contacts(),
        benefit_health(),
        broken(),
    ]
