"""``kaitiaki dbt run-operation MACRO``: a macro's SQL is only known while it runs.

A macro called by ``run-operation`` builds its statements at run time (``run_query``, loops over
the warehouse's own tables…), so nothing can be read beforehand. Governance lists the macros it
allows in kaitiaki.yaml (``dbt: {operations: [name, pkg.name]}``); any other macro is decided
with an ``unresolved`` fact, which the gate blocks as SYS-01 (in enforce mode; audit and warn
log it and let it run). The decision is logged either way.
"""

from __future__ import annotations

from typing import Any

from kaitiaki.config import Settings
from kaitiaki.gate import Gate
from kaitiaki.model import Job, SqlFacts, Unresolved, Verdict

RUNTIME_SQL = "runtime_sql"


def macro_id(manifest: Any, name: str) -> str:
    """``macro.<package>.<name>`` of the macro dbt would call (the root project's first)."""
    package, _, short = name.rpartition(".")
    root = manifest.metadata.project_name if manifest is not None else None
    candidates = sorted(
        uid
        for uid, macro in (manifest.macros.items() if manifest is not None else ())
        if macro.name == short and (not package or macro.package_name == package)
    )
    preferred = [uid for uid in candidates if uid.startswith(f"macro.{root}.")]
    return str((preferred or candidates or [f"macro.{package or root}.{short}"])[0])


def allowed(name: str, unique_id: str, settings: Settings) -> bool:
    """The macro is named in ``dbt.operations`` (bare, or as ``package.name``)."""
    package_name = ".".join(unique_id.split(".")[1:])
    return name in settings.dbt_operations or package_name in settings.dbt_operations


def operation_verdict(gate: Gate, manifest: Any, name: str, settings: Settings) -> Verdict:
    """The decision for one run-operation: allowed when listed, else blocked by SYS-01."""
    unique_id = macro_id(manifest, name)
    macro = manifest.macros.get(unique_id) if manifest is not None else None
    path = getattr(macro, "original_file_path", None)
    job = Job(id=f"dbt:{unique_id}", kind="dbt_operation", name=name, sql="", meta={"unique_id": unique_id})
    if allowed(name, unique_id, settings):
        facts = SqlFacts(path=path, dialect=job.dialect or "")
    else:
        detail = (
            f"run-operation {name} runs SQL that exists only while the macro runs, so it cannot be "
            "checked beforehand; governance can allow the macro by naming it in kaitiaki.yaml "
            f"(dbt: {{operations: [{name}]}})"
        )
        facts = SqlFacts(path=path, dialect="", unresolved=(Unresolved(RUNTIME_SQL, detail, None),))
    return gate.decide(job, facts=facts)
