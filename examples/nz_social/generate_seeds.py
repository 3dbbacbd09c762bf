"""Write the example's dbt seeds from the NZ plugin's seeded synthetic generator.

No real person is in these files: NHIs use the Ministry of Health's test range (``Z…``), IRD
numbers are random numbers with valid check digits, e-mail domains are reserved (see
``kaitiaki_nz.synthetic``). The same seed always writes the same files, so the committed CSVs can
be regenerated and compared. Two link tables are derived here, deterministically: the IDI-style
spine (MSD client number ↔ NHI) and children in care whose NHI is also a patient's, so the
linking models have something to link.

Run: ``python examples/nz_social/generate_seeds.py`` (writes examples/nz_social/seeds/*.csv).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from kaitiaki_nz.synthetic import (
    generate_children_in_care,
    generate_clients,
    generate_patients,
    generate_students,
    write_seed_csv,
)

SEED = 2026
ROWS = 300
CHILDREN = 150
LINKED_SHARE = 0.6
SEEDS = Path(__file__).resolve().parent / "seeds"


def linked_children(children: list[dict[str, Any]], patients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give a share of the children the NHI of a patient, as a real health record would."""
    rng = random.Random(f"children-link:{SEED}")
    donors = rng.sample(patients, k=int(len(children) * LINKED_SHARE))
    linked = [dict(child) for child in children]
    for child, patient in zip(linked[: len(donors)], donors, strict=True):
        child["nhi"] = patient["nhi"]
    return linked


def spine(clients: list[dict[str, Any]], patients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An IDI-style concordance: MSD client number ↔ NHI for the clients found in both."""
    rng = random.Random(f"spine:{SEED}")
    pairs = zip(rng.sample(clients, k=ROWS // 2), rng.sample(patients, k=ROWS // 2), strict=True)
    return [{"client_number": c["client_number"], "nhi": p["nhi"]} for c, p in pairs]


def main() -> None:
    clients = generate_clients(ROWS, SEED)
    patients = generate_patients(ROWS, SEED)
    tables = {
        "msd_clients": clients,
        "moh_patients": patients,
        "moe_students": generate_students(ROWS, SEED),
        "ot_children_in_care": linked_children(generate_children_in_care(CHILDREN, SEED), patients),
        "idi_spine": spine(clients, patients),
    }
    SEEDS.mkdir(exist_ok=True)
    for name, records in tables.items():
        path = write_seed_csv(SEEDS / f"{name}.csv", records)
        print(f"wrote {path.relative_to(SEEDS.parent)} ({len(records)} rows)")


if __name__ == "__main__":
    main()
