"""The built-in, country-neutral name rules, called through the real hook (kaitiaki-nz not loaded)."""

from __future__ import annotations

import pytest

from kaitiaki.classify.names import name_tokens

from .support import plugin_manager

PM = plugin_manager(nz=False)


def categories(table: str, column: str, data_type: str | None = None) -> tuple[str, ...]:
    answers = PM.hook.kaitiaki_classify_column(table=table, column=column, data_type=data_type, context={})
    return tuple(sorted({c for answer in answers for found in answer for c in found.categories}))


# (table, column, expected categories): one line per case, so a new case is one line.
CASES = [
    ("cms.clients", "first_name", ("direct_identifier",)),
    ("cms.clients", "FirstName", ("direct_identifier",)),
    ("cms.clients", "FIRST-NAME", ("direct_identifier",)),
    ("cms.clients", "given_name", ("direct_identifier",)),
    ("cms.clients", "surname", ("direct_identifier",)),
    ("cms.clients", "full_name", ("direct_identifier",)),
    ("cms.clients", "Full Name", ("direct_identifier",)),
    ("cms.clients", "name", ("direct_identifier",)),
    ("cms.clients", "next_of_kin", ("direct_identifier",)),
    ("cms.clients", "email", ("direct_identifier",)),
    ("cms.clients", "EmailAddress", ("direct_identifier",)),
    ("cms.clients", "phone", ("direct_identifier",)),
    ("cms.clients", "mobile", ("direct_identifier",)),
    ("cms.clients", "home_address", ("direct_identifier",)),
    ("cms.clients", "address", ("direct_identifier",)),
    ("cms.clients", "postcode", ("quasi_identifier:postcode",)),
    ("cms.clients", "dob", ("quasi_identifier:dob",)),
    ("cms.clients", "date_of_birth", ("quasi_identifier:dob",)),
    ("cms.clients", "BirthDate", ("quasi_identifier:dob",)),
    # Each quasi-identifier names its kind: SV-09's combinations and coarsenings read it.
    ("cms.clients", "zip_code", ("quasi_identifier:postcode",)),
    ("cms.clients", "birth_year", ("quasi_identifier:birth_year",)),
    ("cms.clients", "YearOfBirth", ("quasi_identifier:birth_year",)),
    ("cms.clients", "date_of_death", ("quasi_identifier:date",)),
    ("cms.clients", "age", ("quasi_identifier:age",)),
    ("cms.clients", "age_at_event", ("quasi_identifier:age",)),
    ("cms.clients", "country_of_birth", ("quasi_identifier:birthplace",)),
    ("cms.clients", "age_group", ()),
    ("cms.clients", "gender", ("sensitive:gender",)),
    ("cms.clients", "sex", ("sensitive:gender",)),
    ("cms.clients", "ethnicity", ("sensitive:ethnicity",)),
    ("cms.clients", "religion", ("sensitive:religion",)),
    ("cms.clients", "passport_number", ("unique_identifier:passport",)),
    ("cms.clients", "ssn", ("unique_identifier:ssn",)),
    ("cms.clients", "drivers_licence", ("unique_identifier:driver_licence",)),
    ("health.visits", "diagnosis_code", ("sensitive:health",)),
    ("tax.returns", "total_income", ("sensitive:income",)),
    ("cms.events", "client_id", ("person_key",)),
    ("cms.clients", "id", ("person_key",)),
    ("cms.clients", "opted_out", ("opt_out_flag",)),
    ("cms.clients", "email_hash", ("person_key",)),
    ("cms.clients", "hashed_phone", ("person_key",)),
    # Not a person's name, address or contact: an organisation's or a place's.
    ("moe.schools", "school_name", ()),
    ("moe.schools", "name", ()),
    ("moe.schools", "address", ()),
    ("moe.schools", "email", ()),
    ("cms.clients", "school_address", ()),
    ("cms.providers", "provider_phone", ()),
    ("cms.events", "product_name", ()),
    ("cms.events", "name", ()),
    # Not identifiers at all, or facts *about* an identifier rather than the identifier.
    ("cms.clients", "region", ()),
    ("cms.clients", "created_at", ()),
    ("cms.clients", "updated_at", ()),
    ("cms.clients", "email_verified", ()),
    ("cms.clients", "has_email", ()),
    ("cms.clients", "phone_type", ()),
    ("cms.clients", "address_type", ()),
    ("stats.cells", "cell_count", ()),
    ("cms.clients", "num_children", ()),
    ("cms.clients", "benefit_type", ()),
    ("cms.events", "event_date", ()),
]


# SQL folds unquoted DateOfBirth to dateofbirth: run-together names are split into known words.
RUN_TOGETHER = [
    ("cms.clients", "dateofbirth", ("quasi_identifier:dob",)),
    ("cms.clients", "firstname", ("direct_identifier",)),
    ("cms.clients", "homephone", ("direct_identifier",)),
    ("cms.clients", "emailaddress", ("direct_identifier",)),
    ("cms.clients", "clientid", ("person_key",)),
    ("cms.clients", "isoptedout", ("opt_out_flag",)),
    ("cms.clients", "hashedemail", ("person_key",)),
    ("cms.dimperson", "name", ("direct_identifier",)),
    ("cms.clients", "phonetype", ()),
    ("cms.clients", "emailverified", ()),
    ("moe.schools", "schoolname", ()),
    ("cms.clients", "regionname", ()),
    ("shop.orders", "postage", ()),
    ("shop.orders", "usage", ()),
    ("shop.orders", "message", ()),
    ("nz.birds", "kiwisaver", ()),
]
CASES += RUN_TOGETHER


@pytest.mark.parametrize(("table", "column", "expected"), CASES, ids=[f"{t}.{c}" for t, c, _ in CASES])
def test_generic_name_rules(table: str, column: str, expected: tuple[str, ...]) -> None:
    assert categories(table, column) == expected


def test_names_are_case_separator_and_diacritic_insensitive() -> None:
    assert (
        name_tokens("FirstName")
        == name_tokens("first_name")
        == name_tokens("First-Name")
        == ("first", "name")
    )
    assert name_tokens("HTTPServerName") == ("http", "server", "name")
    assert name_tokens("ingoa_whānau") == ("ingoa", "whanau")


def test_a_boolean_column_is_a_flag_about_the_value_not_the_value() -> None:
    assert categories("cms.clients", "email", "BOOLEAN") == ()
    assert categories("cms.clients", "opted_out", "boolean") == ("opt_out_flag",)


def test_core_rules_know_no_country_schemes() -> None:
    assert categories("health.patients", "nhi") == ()
    assert categories("cms.clients", "ird_number") == ()
