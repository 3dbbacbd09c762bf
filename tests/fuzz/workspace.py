"""A throwaway folder with a kaitiaki.yaml whose purpose allows no identifying category."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PURPOSE = "regional-planning"
FUZZ_LIMITS = {"max_sql_bytes": 20_000, "max_depth": 60, "max_statements": 20}


def fuzz_config(**overrides: Any) -> dict[str, Any]:
    """msd.clients classified, a purpose that allows no identifying category, no decision log."""
    config: dict[str, Any] = {
        "agency": "msd",
        "default_purpose": PURPOSE,
        "decision_log": False,
        "limits": dict(FUZZ_LIMITS),
        "identifier_issuers": {"nhi": "moh", "msd_client": "msd"},
        "catalog": {
            "msd.clients": {
                "agency": "msd",
                "columns": {
                    "full_name": ["direct_identifier"],
                    "client_number": ["unique_identifier:msd_client"],
                    "date_of_birth": ["quasi_identifier"],
                    "phone": ["direct_identifier"],
                    "region": [],
                    "benefit_type": [],
                    "city": [],
                },
            }
        },
        "purposes": {
            PURPOSE: {
                "description": "Count service use by region to plan service centres; aggregate statistics "
                "only, no person-level data.",
                "allowed_categories": [],
                "approved_by": "MSD Data Governance Board",
                "expires": "2030-06-30",
            }
        },
    }
    config.update(overrides)
    return config


def write_workspace(
    folder: Path, config: dict[str, Any], sql: str = "select region from msd.clients\n"
) -> Path:
    """kaitiaki.yaml and job.sql in ``folder``; returns the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.sql").write_text(sql, encoding="utf-8")
    path = folder / "kaitiaki.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
