"""kaitiaki-nz name rules, through the real hook, alongside the core rules."""

from __future__ import annotations

import pytest

from kaitiaki.classify import classify
from tests.classify.support import facts, plugin_manager

PM = plugin_manager()


def answer(table: str, column: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categories, sources) from every registered plugin."""
    found = [
        c
        for a in PM.hook.kaitiaki_classify_column(table=table, column=column, data_type=None, context={})
        for c in a
    ]
    return tuple(sorted({k for c in found for k in c.categories})), tuple(sorted({c.source for c in found}))


CASES = [
    ("health.patients", "nhi", ("unique_identifier:nhi",)),
    ("health.patients", "NHI_Number", ("unique_identifier:nhi",)),
    ("health.patients", "patient_nhi", ("unique_identifier:nhi",)),
    ("tax.clients", "ird_number", ("unique_identifier:ird",)),
    ("tax.clients", "IRDNo", ("unique_identifier:ird",)),
    ("moe.enrolments", "nsn", ("unique_identifier:nsn",)),
    ("moe.enrolments", "national_student_number", ("unique_identifier:nsn",)),
    ("msd.clients", "swn", ("unique_identifier:msd_client",)),
    ("msd.clients", "client_number", ("unique_identifier:msd_client",)),
    ("nzta.holders", "dl_number", ("unique_identifier:driver_licence",)),
    ("nzta.holders", "driver_licence", ("unique_identifier:driver_licence",)),
    ("dia.holders", "passport_number", ("unique_identifier:passport",)),
    ("ot.tamariki", "ingoa", ("direct_identifier",)),
    ("ot.tamariki", "ingoa_whānau", ("direct_identifier",)),
    ("ot.tamariki", "ingoa_whanau", ("direct_identifier",)),
    ("ot.tamariki", "wāhi_noho", ("direct_identifier",)),
    ("ot.tamariki", "rā_whānau", ("quasi_identifier:dob",)),
    ("ot.tamariki", "iwi", ("sensitive:iwi",)),
    ("ot.tamariki", "iwi_affiliation", ("sensitive:iwi",)),
    ("ot.tamariki", "hapū", ("sensitive:iwi",)),
    ("ot.tamariki", "whakapapa", ("sensitive:iwi",)),
    ("stats.people", "meshblock", ("quasi_identifier:meshblock",)),
    ("stats.people", "MB2023_code", ("quasi_identifier:meshblock",)),
    ("stats.people", "sa1_code", ("quasi_identifier:sa1",)),
    ("stats.people", "date_of_birth", ("quasi_identifier:dob",)),
    ("stats.people", "prioritised_ethnicity", ("sensitive:ethnicity",)),
    ("health.patients", "nhi_hash", ("person_key",)),
    ("health.patients", "nhinumber", ("unique_identifier:nhi",)),
    ("tax.clients", "irdnumber", ("unique_identifier:ird",)),
    ("ot.tamariki", "ingoawhanau", ("direct_identifier",)),
    ("ot.tamariki", "rawhanau", ("quasi_identifier:dob",)),
    # not a person's identifier
    ("moe.kura", "ingoa", ()),
    ("moe.enrolments", "ingoa_kura", ()),
    ("health.patients", "nhi_valid", ()),
    ("stats.people", "iwi_count", ()),
    ("stats.people", "region", ()),
]


@pytest.mark.parametrize(("table", "column", "expected"), CASES, ids=[f"{t}.{c}" for t, c, _ in CASES])
def test_nz_name_rules(table: str, column: str, expected: tuple[str, ...]) -> None:
    assert answer(table, column)[0] == expected


def test_nz_rules_are_named_in_classified_by() -> None:
    result = classify(
        facts([("ot.tamariki.ingoa_whanau", ["select"]), ("health.patients.nhi", ["join"])]),
        catalog={},
        plugins=PM,
    )
    assert [c.classified_by for c in result.columns] == [("rule:nz_te_reo_name",), ("rule:nz_nhi",)]
    assert answer("health.patients", "nhi_hash")[1] == ("rule:nz_nhi",)
