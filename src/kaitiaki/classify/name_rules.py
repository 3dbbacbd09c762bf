"""Built-in, country-neutral column-name rules (a default plugin).

They propose categories from names alone; the catalog and dbt meta always win over them. Country
schemes (NHI, IRD, NSN, te reo field names) live in plugins such as kaitiaki-nz, never here.
The lists favour precision: ``school_name``, ``region``, ``created_at``, ``email_verified`` and
``phone_type`` are deliberately not matched (see docs/classification.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kaitiaki.classify.names import NameRule, RuleSet
from kaitiaki.hookspecs import hookimpl
from kaitiaki.model import Classification

DIRECT = ("direct_identifier",)
PERSON_KEY_WORDS = (
    "person", "client", "patient", "student", "pupil", "learner", "child", "customer", "member",
    "citizen", "individual", "applicant", "beneficiary", "caregiver", "participant", "respondent",
    "employee", "staff", "user", "taxpayer", "resident", "recipient",
)  # fmt: skip
KEY_WORDS = ("id", "key", "sk", "uid", "guid", "identifier", "ref")

GENERIC_RULES = RuleSet(
    NameRule(
        name="person_name",
        categories=DIRECT,
        phrases=(
            ("first", "name"),
            ("firstname",),
            ("given", "name"),
            ("given", "names"),
            ("givenname",),
            ("forename",),
            ("forenames",),
            ("middle", "name"),
            ("middlename",),
            ("last", "name"),
            ("lastname",),
            ("surname",),
            ("family", "name"),
            ("familyname",),
            ("full", "name"),
            ("fullname",),
            ("preferred", "name"),
            ("maiden", "name"),
            ("legal", "name"),
            ("birth", "name"),
            ("person", "name"),
            ("client", "name"),
            ("patient", "name"),
            ("student", "name"),
            ("child", "name"),
            ("customer", "name"),
            ("member", "name"),
            ("contact", "name"),
            ("caregiver", "name"),
            ("mother", "name"),
            ("father", "name"),
            ("parent", "name"),
            ("guardian", "name"),
            ("employee", "name"),
            ("staff", "name"),
            ("user", "name"),
            ("username",),
            ("display", "name"),
            ("next", "of", "kin"),
            ("emergency", "contact"),
        ),
        person_table_names=(("name",), ("names",)),
    ),
    NameRule(
        name="email",
        categories=DIRECT,
        phrases=(("email",), ("e", "mail"), ("emailaddress",), ("email", "address")),
        contact_detail=True,
    ),
    NameRule(
        name="phone",
        categories=DIRECT,
        phrases=(
            ("phone",),
            ("telephone",),
            ("tel",),
            ("mobile",),
            ("cellphone",),
            ("cell", "phone"),
            ("landline",),
            ("phone", "number"),
            ("contact", "number"),
            ("fax",),
            ("msisdn",),
        ),
        contact_detail=True,
    ),
    NameRule(
        name="address",
        categories=DIRECT,
        phrases=(
            ("address",),
            ("addr",),
            ("street",),
            ("street", "address"),
            ("address", "line"),
            ("residential", "address"),
            ("postal", "address"),
            ("home", "address"),
        ),
        contact_detail=True,
    ),
    NameRule(
        name="postcode",
        categories=("quasi_identifier:postcode",),
        phrases=(
            ("postcode",),
            ("post", "code"),
            ("postal", "code"),
            ("zip",),
            ("zipcode",),
            ("zip", "code"),
        ),
        contact_detail=True,
    ),
    NameRule(
        name="date_of_birth",
        categories=("quasi_identifier:dob",),
        phrases=(
            ("dob",),
            ("d", "o", "b"),
            ("date", "of", "birth"),
            ("birth", "date"),
            ("birthdate",),
            ("birthday",),
            ("born", "on"),
        ),
    ),
    NameRule(  # already coarse: SV-09 pairs it only with the finest geography (meshblock, SA1)
        name="birth_year",
        categories=("quasi_identifier:birth_year",),
        phrases=(("birth", "year"), ("year", "of", "birth"), ("yob",)),
    ),
    NameRule(
        name="date_of_death",
        categories=("quasi_identifier:date",),
        phrases=(("date", "of", "death"), ("death", "date"), ("dod",)),
    ),
    NameRule(
        name="age",
        categories=("quasi_identifier:age",),
        whole_names=(("age",), ("age", "years"), ("age", "at", "event")),
    ),
    NameRule(  # a country or town of birth: not geography of where the person lives
        name="birthplace",
        categories=("quasi_identifier:birthplace",),
        phrases=(
            ("place", "of", "birth"),
            ("birth", "place"),
            ("birthplace",),
            ("country", "of", "birth"),
            ("birth", "country"),
        ),
    ),
    NameRule(
        name="gender",
        categories=("sensitive:gender",),
        phrases=(("gender",), ("sex",), ("gender", "identity")),
    ),
    NameRule(
        name="sexuality",
        categories=("sensitive:sexuality",),
        phrases=(("sexuality",), ("sexual", "orientation"), ("sexual", "identity")),
    ),
    NameRule(
        name="ethnicity",
        categories=("sensitive:ethnicity",),
        phrases=(("ethnicity",), ("ethnic",), ("ethnicities",), ("race",), ("ethnic", "group")),
    ),
    NameRule(
        name="religion",
        categories=("sensitive:religion",),
        phrases=(("religion",), ("religious",), ("faith",), ("denomination",)),
    ),
    NameRule(
        name="health",
        categories=("sensitive:health",),
        phrases=(
            ("diagnosis",),
            ("diagnoses",),
            ("icd",),
            ("icd10",),
            ("icd9",),
            ("medical", "condition"),
            ("health", "condition"),
            ("medication",),
            ("medications",),
            ("prescription",),
            ("clinical", "notes"),
            ("mental", "health"),
        ),
    ),
    NameRule(
        name="disability",
        categories=("sensitive:disability",),
        phrases=(("disability",), ("disabilities",), ("impairment",)),
    ),
    NameRule(
        name="justice",
        categories=("sensitive:justice",),
        phrases=(("conviction",), ("convictions",), ("offence",), ("offences",), ("offense",), ("criminal",)),
    ),
    NameRule(
        name="income",
        categories=("sensitive:income",),
        phrases=(("income",), ("salary",), ("wage",), ("wages",), ("earnings",)),
    ),
    NameRule(
        name="passport",
        categories=("unique_identifier:passport",),
        phrases=(("passport",), ("passport", "number"), ("passport", "no")),
    ),
    NameRule(
        name="social_security_number",
        categories=("unique_identifier:ssn",),
        phrases=(("ssn",), ("social", "security", "number"), ("social", "security", "no")),
    ),
    NameRule(
        name="national_id",
        categories=("unique_identifier:national_id",),
        phrases=(("national", "id"), ("national", "identity", "number")),
    ),
    NameRule(
        name="driver_licence",
        categories=("unique_identifier:driver_licence",),
        phrases=(
            ("driver", "licence"),
            ("drivers", "licence"),
            ("driver", "license"),
            ("drivers", "license"),
            ("driving", "licence"),
            ("driving", "license"),
        ),
    ),
    NameRule(
        name="bank_account",
        categories=DIRECT,
        phrases=(
            ("bank", "account"),
            ("bank", "account", "number"),
            ("iban",),
            ("credit", "card"),
            ("card", "number"),
        ),
    ),
    NameRule(
        name="person_key",
        categories=("person_key",),
        phrases=tuple((noun, key) for noun in PERSON_KEY_WORDS for key in KEY_WORDS),
        person_table_names=(("id",), ("key",), ("sk",)),
    ),
    NameRule(
        name="opt_out",
        categories=("opt_out_flag",),
        phrases=(
            ("opted", "out"),
            ("opt", "out"),
            ("optout",),
            ("optedout",),
            ("do", "not", "contact"),
            ("consent", "withdrawn"),
            ("withdrew", "consent"),
            ("no", "consent"),
        ),
        negatable=False,
        hashable=False,
    ),
)


@hookimpl
def kaitiaki_classify_column(
    table: str, column: str, data_type: str | None, context: Mapping[str, Any]
) -> list[Classification]:
    """Country-neutral rules over the column's name (and, for flags, its type)."""
    return GENERIC_RULES.classify(table, column, data_type)
