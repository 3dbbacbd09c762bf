"""kaitiaki-nz: New Zealand identifiers and te reo Māori field names (entry point ``kaitiaki: nz``).

Name rules add NZ schemes to the country-neutral core rules: NHI, IRD number, NSN, MSD client
number (SWN), driver licence and passport numbers, meshblocks, iwi affiliation, and te reo field
names (``ingoa``, ``ingoa_whānau``, ``wāhi_noho``, ``rā_whānau``, ``iwi``, ``hapū``,
``whakapapa``). Value detectors (NHI and IRD check digits, e-mail, NZ phone numbers) serve
``kaitiaki scan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kaitiaki.classify.names import NameRule, RuleSet
from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import Classification
from kaitiaki_nz.detectors import detect

DIRECT = ("direct_identifier",)
IWI = ("sensitive:iwi",)

NZ_RULES = RuleSet(
    NameRule(
        name="nz_nhi",
        categories=("unique_identifier:nhi",),
        phrases=(("nhi",), ("nhi", "number"), ("nhi", "no"), ("national", "health", "index")),
    ),
    NameRule(
        name="nz_ird",
        categories=("unique_identifier:ird",),
        phrases=(
            ("ird",),
            ("ird", "number"),
            ("ird", "no"),
            ("irdno",),
            ("irdnum",),
            ("tax", "number"),
            ("tax", "file", "number"),
            ("tax", "id"),
            ("inland", "revenue", "number"),
        ),
    ),
    NameRule(
        name="nz_nsn",
        categories=("unique_identifier:nsn",),
        phrases=(("nsn",), ("national", "student", "number"), ("national", "student", "id")),
    ),
    NameRule(
        name="nz_msd_client",
        categories=("unique_identifier:msd_client",),
        phrases=(
            ("swn",),
            ("social", "welfare", "number"),
            ("msd", "client", "number"),
            ("msd", "client", "id"),
            ("msd", "number"),
            ("msd", "id"),
            ("client", "number"),
            ("client", "no"),
        ),
    ),
    NameRule(
        name="nz_driver_licence",
        categories=("unique_identifier:driver_licence",),
        phrases=(
            ("dl", "number"),
            ("dl", "no"),
            ("dlno",),
            ("licence", "number"),
            ("licence", "no"),
            ("nzta", "licence"),
            ("nz", "driver", "licence"),
        ),
    ),
    NameRule(
        name="nz_passport",
        categories=("unique_identifier:passport",),
        phrases=(("uruwhenua",), ("nz", "passport")),
    ),
    NameRule(
        name="nz_te_reo_name",
        categories=DIRECT,
        phrases=(
            ("ingoa",),
            ("ingoa", "whanau"),
            ("ingoa", "tuatahi"),
            ("ingoa", "tuarua"),
            ("ingoa", "karanga"),
            ("ingoa", "tangata"),
        ),
        contact_detail=True,
    ),
    NameRule(
        name="nz_te_reo_contact",
        categories=DIRECT,
        phrases=(
            ("wahi", "noho"),
            ("kainga", "noho"),
            ("waea",),
            ("waea", "pukoro"),
            ("imera",),
            ("ime", "ra"),
        ),
        contact_detail=True,
    ),
    NameRule(
        name="nz_rural_address",
        categories=DIRECT,
        phrases=(("rd", "number"), ("rural", "delivery")),
        contact_detail=True,
    ),
    NameRule(
        name="nz_ra_whanau",
        categories=("quasi_identifier:dob",),
        phrases=(("ra", "whanau"), ("te", "ra", "whanau")),
    ),
    NameRule(
        name="nz_meshblock",
        categories=("quasi_identifier:meshblock",),
        phrases=(
            ("meshblock",),
            ("mesh", "block"),
            ("meshblock", "code"),
            ("mb", "code"),
            ("mb2013",),
            ("mb2018",),
            ("mb2023",),
        ),
    ),
    NameRule(
        name="nz_sa1",
        categories=("quasi_identifier:sa1",),
        phrases=(("sa1",), ("sa1", "code"), ("sa12018",), ("sa12023",)),
    ),
    NameRule(
        name="nz_iwi",
        categories=IWI,
        phrases=(("iwi",), ("iwi", "affiliation"), ("hapu",), ("whakapapa",), ("marae",)),
    ),
    NameRule(
        name="nz_ira",
        categories=("sensitive:gender",),
        phrases=(("ira",), ("ira", "tangata")),
    ),
    NameRule(
        name="nz_ethnicity",
        categories=("sensitive:ethnicity",),
        phrases=(("matawaka",), ("prioritised", "ethnicity"), ("ethnic", "group", "level")),
    ),
)


@hookimpl
def kaitiaki_classify_column(
    table: str, column: str, data_type: str | None, context: Mapping[str, Any]
) -> list[Classification]:
    """NZ identifier schemes and te reo Māori field names."""
    return NZ_RULES.classify(table, column, data_type)


@hookimpl
def kaitiaki_detect_values(table: str, column: str, values: Iterable[str]) -> list[Classification]:
    """NHI and IRD numbers (check digits), e-mail addresses and NZ phone numbers."""
    return detect(values)
