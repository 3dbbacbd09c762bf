"""Seeded synthetic New Zealand social-sector records: no real person is in them.

- NHIs use the ``Z`` prefix the Ministry of Health reserves for testing, in both formats, with
  correct check characters; a chosen share is deliberately wrong (same stem, another check
  character), as typos are in real data.
- IRD numbers have correct check digits (a chosen share is wrong); they are random numbers in the
  issued range and identify no one on their own.
- E-mail addresses use the reserved ``example.*`` domains (RFC 2606).
- NSNs (10 digits) and MSD client numbers (9 digits from 200,000,000) follow the shape of the
  real schemes only; they never fall in the IRD range, so the detectors' measured precision is
  about check digits, not about number lengths that collide.

The same ``seed`` always gives the same records, so the examples' dbt seeds and the tests agree.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaitiaki_nz.detectors import NHI_ALPHABET, ird_check_digit, nhi_check_character

Record = dict[str, Any]

REFERENCE_DATE = dt.date(2026, 1, 1)
GIVEN_NAMES = (
    "Aroha", "Mere", "Hēmi", "Tama", "Wiremu", "Ngaio", "Anahera", "Manaia", "Nīkau", "Kahu",
    "Rangi", "Hinemoa", "Tāmati", "Rāwiri", "Ataahua", "Kiri", "Mikaere", "Whetū", "Pania", "Tāne",
    "Olivia", "Jack", "Charlotte", "Oliver", "Amelia", "Noah", "Isla", "Leo", "Sione", "Losa",
    "Mele", "Tevita", "Priya", "Arjun", "Wei", "Mei", "Minh", "Fatima", "Aisha", "Ruby",
)  # fmt: skip
FAMILY_NAMES = (
    "Parata", "Tipene", "Horomona", "Te Whare", "Ngata", "Pōmare", "Kereama", "Henare", "Wihongi",
    "Te Huia", "Walker", "Smith", "Williams", "Brown", "Wilson", "Taylor", "Thompson", "Campbell",
    "Tuilagi", "Fonoti", "Faleolo", "Singh", "Patel", "Wang", "Li", "Nguyen", "Kim",
)  # fmt: skip
ETHNICITIES = (
    "European", "Māori", "Pacific Peoples", "Asian", "Middle Eastern/Latin American/African",
    "Other ethnicity",
)  # fmt: skip
IWI = (
    "Ngāpuhi", "Ngāti Porou", "Ngāi Tahu", "Waikato-Tainui", "Ngāti Kahungunu", "Te Arawa",
    "Ngāti Tūwharetoa", "Ngāti Maniapoto", "Ngāi Tūhoe", "Ngāti Whātua", "Te Ātiawa", "Te Rarawa",
)  # fmt: skip
HAPU = (
    "Ngāti Hine",
    "Te Aitanga a Hauiti",
    "Ngāti Awa",
    "Ngāti Tamaterā",
    "Ngāti Kuri",
    "Te Whānau-a-Apanui",
)
GENDERS = ("Female", "Male", "Another gender")
STREETS = (
    "Queen Street", "Te Awa Road", "Kāinga Road", "Victoria Street", "Rata Street", "Kōwhai Avenue",
    "Pōhutukawa Drive", "Nīkau Crescent", "Tūī Street", "Karaka Road", "Moana Terrace", "Miro Place",
)  # fmt: skip
BENEFITS = (
    "Jobseeker Support",
    "Sole Parent Support",
    "Supported Living Payment",
    "Accommodation Supplement",
)
DIAGNOSES = ("E11.9", "I10", "J45.9", "F32.1", "M54.5", "N18.3", "C50.9", "O80", "S72.0", "K35.8")
PLACEMENTS = ("Whānau care", "Non-kin foster care", "Family home", "Supported independence")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    postcodes: tuple[int, int]
    area_code: str


PLACES = (
    Place("Whangārei", "Northland", (110, 182), "9"),
    Place("Auckland", "Auckland", (600, 2699), "9"),
    Place("Hamilton", "Waikato", (3200, 3288), "7"),
    Place("Tauranga", "Bay of Plenty", (3110, 3176), "7"),
    Place("Rotorua", "Bay of Plenty", (3010, 3097), "7"),
    Place("Gisborne", "Gisborne", (4010, 4032), "6"),
    Place("Napier", "Hawke's Bay", (4104, 4186), "6"),
    Place("New Plymouth", "Taranaki", (4310, 4381), "6"),
    Place("Palmerston North", "Manawatū-Whanganui", (4410, 4481), "6"),
    Place("Wellington", "Wellington", (6011, 6972), "4"),
    Place("Nelson", "Nelson", (7010, 7077), "3"),
    Place("Christchurch", "Canterbury", (8011, 8972), "3"),
    Place("Dunedin", "Otago", (9010, 9092), "3"),
    Place("Invercargill", "Southland", (9810, 9879), "3"),
)


# --- identifiers -----------------------------------------------------------------------------


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(NHI_ALPHABET) for _ in range(count))


def _nhi_stem(rng: random.Random) -> str:
    digits = f"{rng.randrange(100):02d}"
    tail = str(rng.randrange(10)) if rng.random() < 0.5 else _letters(rng, 1)
    return "Z" + _letters(rng, 2) + digits + tail


def valid_nhi(rng: random.Random) -> str:
    """A valid test-range NHI (``Z`` prefix), old or new format."""
    while True:
        stem = _nhi_stem(rng)
        check = nhi_check_character(stem)
        if check is not None:
            return stem + check


def invalid_nhi(rng: random.Random) -> str:
    """A well-formed test-range NHI with a wrong check character."""
    stem = _nhi_stem(rng)
    right = nhi_check_character(stem)
    pool = "0123456789" if stem[5].isdigit() else NHI_ALPHABET
    return stem + rng.choice([c for c in pool if c != right])


def _ird_base(rng: random.Random) -> str:
    return str(rng.randrange(1_000_000, 15_000_000))


def _format_ird(number: str, rng: random.Random) -> str:
    separator = rng.choice(("", "-", "-", " "))
    head = len(number) - 6
    return separator.join((number[:head], number[head:-3], number[-3:]))


def valid_ird(rng: random.Random) -> str:
    """A valid IRD number (8 or 9 digits), plain or dashed."""
    while True:
        base = _ird_base(rng)
        check = ird_check_digit(base)
        if check is not None:
            return _format_ird(base + str(check), rng)


def invalid_ird(rng: random.Random) -> str:
    """An IRD-shaped number in range whose check digit is wrong."""
    base = _ird_base(rng)
    right = ird_check_digit(base)
    return _format_ird(base + rng.choice([d for d in "0123456789" if d != str(right)]), rng)


def nsn(rng: random.Random) -> str:
    return str(rng.randrange(1_000_000_000, 3_000_000_000))


def msd_client_number(rng: random.Random) -> str:
    return str(rng.randrange(200_000_000, 1_000_000_000))


def meshblock(rng: random.Random) -> str:
    return f"{rng.randrange(1, 4_800_000):07d}"


def nz_phone(rng: random.Random, place: Place | None = None) -> str:
    """A mobile or landline number in one of the common written forms."""
    if place is None or rng.random() < 0.6:
        prefix, rest = "2" + rng.choice("01789"), f"{rng.randrange(1_000_000, 10_000_000)}"
    else:
        prefix, rest = place.area_code, f"{rng.randrange(2_000_000, 10_000_000)}"
    style = rng.randrange(4)
    if style == 0:
        return f"0{prefix} {rest[:3]} {rest[3:]}"
    if style == 1:
        return f"0{prefix}{rest}"
    if style == 2:
        return f"+64 {prefix} {rest[:3]} {rest[3:]}"
    return f"(0{prefix}) {rest[:3]}-{rest[3:]}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def email_for(given: str, family: str, rng: random.Random) -> str:
    local = f"{_ascii(given)}.{_ascii(family)}".lower().replace(" ", "")
    return f"{local}{rng.randrange(100)}@{rng.choice(EMAIL_DOMAINS)}"


# --- people ----------------------------------------------------------------------------------


def _birth_date(rng: random.Random, youngest: int, oldest: int) -> dt.date:
    days = rng.randrange(youngest * 365, (oldest + 1) * 365)
    return REFERENCE_DATE - dt.timedelta(days=days)


def _person(rng: random.Random, youngest: int, oldest: int) -> Record:
    given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
    ethnicity = rng.choice(ETHNICITIES)
    place = rng.choice(PLACES)
    return {
        "given_name": given,
        "family_name": family,
        "full_name": f"{given} {family}",
        "date_of_birth": _birth_date(rng, youngest, oldest),
        "gender": rng.choice(GENDERS),
        "ethnicity": ethnicity,
        "iwi": rng.choice(IWI) if ethnicity == "Māori" else None,
        "address": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
        "city": place.city,
        "region": place.region,
        "postcode": f"{rng.randrange(*place.postcodes):04d}",
        "meshblock": meshblock(rng),
        "_place": place,
    }


def _public(record: Record, keys: Sequence[str]) -> Record:
    return {key: record[key] for key in keys}


def _maybe(
    rng: random.Random,
    share: float,
    good: Callable[[random.Random], str],
    bad: Callable[[random.Random], str],
) -> str:
    return bad(rng) if rng.random() < share else good(rng)


CLIENT_COLUMNS = (
    "client_number", "full_name", "given_name", "family_name", "date_of_birth", "gender",
    "ethnicity", "iwi", "address", "city", "region", "postcode", "meshblock", "phone", "email",
    "ird_number", "benefit_type", "opted_out",
)  # fmt: skip
PATIENT_COLUMNS = (
    "nhi", "full_name", "date_of_birth", "gender", "ethnicity", "address", "city", "region",
    "meshblock", "diagnosis_code", "admitted_on",
)  # fmt: skip
STUDENT_COLUMNS = (
    "nsn", "given_name", "family_name", "date_of_birth", "gender", "ethnicity", "iwi", "school_id",
    "school_name", "year_level", "region",
)  # fmt: skip
CHILD_COLUMNS = (
    "child_id", "nhi", "nsn", "ingoa", "ingoa_whanau", "ra_whanau", "wahi_noho", "iwi", "hapu",
    "placement_type", "caregiver_name", "entered_care_on", "region",
)  # fmt: skip


def generate_clients(n: int, seed: int, *, invalid_share: float = 0.02) -> list[Record]:
    """MSD-style client records; ``invalid_share`` of IRD numbers have a wrong check digit."""
    rng = random.Random(f"clients:{seed}")
    records = []
    for _ in range(n):
        person = _person(rng, 18, 80)
        person.update(
            client_number=msd_client_number(rng),
            phone=nz_phone(rng, person["_place"]),
            email=email_for(person["given_name"], person["family_name"], rng),
            ird_number=_maybe(rng, invalid_share, valid_ird, invalid_ird),
            benefit_type=rng.choice(BENEFITS),
            opted_out=rng.random() < 0.05,
        )
        records.append(_public(person, CLIENT_COLUMNS))
    return records


def generate_patients(n: int, seed: int, *, invalid_share: float = 0.02) -> list[Record]:
    """Health-style patient records; ``invalid_share`` of NHIs have a wrong check character."""
    rng = random.Random(f"patients:{seed}")
    records = []
    for _ in range(n):
        person = _person(rng, 0, 95)
        person.update(
            nhi=_maybe(rng, invalid_share, valid_nhi, invalid_nhi),
            diagnosis_code=rng.choice(DIAGNOSES),
            admitted_on=REFERENCE_DATE - dt.timedelta(days=rng.randrange(1, 730)),
        )
        records.append(_public(person, PATIENT_COLUMNS))
    return records


def generate_students(n: int, seed: int) -> list[Record]:
    """Education-style student records with NSNs and the student's school."""
    rng = random.Random(f"students:{seed}")
    records = []
    for _ in range(n):
        person = _person(rng, 5, 18)
        place: Place = person["_place"]
        school_id = rng.randrange(1, 9_999)
        person.update(
            nsn=nsn(rng),
            school_id=school_id,
            school_name=rng.choice(
                (f"{place.city} College", f"Te Kura o {place.city}", f"{place.city} Primary")
            ),
            year_level=min(13, max(1, (REFERENCE_DATE - person["date_of_birth"]).days // 365 - 4)),
        )
        records.append(_public(person, STUDENT_COLUMNS))
    return records


def generate_children_in_care(n: int, seed: int, *, invalid_share: float = 0.02) -> list[Record]:
    """Children in care, with te reo field names (ingoa, ingoa_whanau, ra_whanau, wahi_noho)."""
    rng = random.Random(f"children:{seed}")
    records = []
    for _ in range(n):
        person = _person(rng, 0, 17)
        maori = person["iwi"] is not None
        person.update(
            child_id=f"C{rng.randrange(1_000_000, 10_000_000)}",
            nhi=_maybe(rng, invalid_share, valid_nhi, invalid_nhi),
            nsn=nsn(rng) if (REFERENCE_DATE - person["date_of_birth"]).days > 5 * 365 else None,
            ingoa=person["given_name"],
            ingoa_whanau=person["family_name"],
            ra_whanau=person["date_of_birth"],
            wahi_noho=f"{person['address']}, {person['city']}",
            hapu=rng.choice(HAPU) if maori else None,
            placement_type=rng.choice(PLACEMENTS),
            caregiver_name=f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}",
            entered_care_on=REFERENCE_DATE - dt.timedelta(days=rng.randrange(1, 2_000)),
        )
        records.append(_public(person, CHILD_COLUMNS))
    return records


# --- labelled values for measuring detectors --------------------------------------------------


def _as_typed(value: str, rng: random.Random) -> str:
    """As people key it in: sometimes lower case, sometimes with stray spaces."""
    if rng.random() < 0.2:
        value = value.lower()
    return f" {value} " if rng.random() < 0.1 else value


def nhi_with_excluded_letters(rng: random.Random) -> str:
    """NHI-shaped, but with I or O, which NHIs never contain."""
    stem = _nhi_stem(rng)
    return stem[0] + rng.choice("IO") + stem[2:] + str(rng.randrange(10))


def australian_phone(rng: random.Random) -> str:
    return f"+61 {rng.choice('2378')} {rng.randrange(1000, 10000)} {rng.randrange(1000, 10000)}"


def malformed_email(rng: random.Random) -> str:
    local = _ascii(rng.choice(GIVEN_NAMES)).lower()
    return rng.choice((f"{local}@", f"{local} at example.com", f"{local}@example", f"@{local}.example.org"))


def bank_account(rng: random.Random) -> str:
    bank, branch, account = rng.randrange(1, 39), rng.randrange(1000, 10000), rng.randrange(10**6, 10**7)
    return f"{bank:02d}-{branch}-{account:07d}-0{rng.randrange(10)}"


CORPUS_KINDS: Mapping[str, Callable[[random.Random], str]] = {
    "nhi": lambda rng: _as_typed(valid_nhi(rng), rng),
    "invalid_nhi": invalid_nhi,
    "nhi_excluded_letters": nhi_with_excluded_letters,
    "ird": valid_ird,
    "invalid_ird": invalid_ird,
    "email": lambda rng: email_for(rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES), rng),
    "phone": lambda rng: nz_phone(rng, rng.choice(PLACES)),
    "nsn": nsn,
    "msd_client": msd_client_number,
    "meshblock": meshblock,
    "postcode": lambda rng: f"{rng.randrange(*rng.choice(PLACES).postcodes):04d}",
    "name": lambda rng: f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}",
    "date": lambda rng: _birth_date(rng, 0, 95).isoformat(),
    "free_phone": lambda rng: f"0800 {rng.randrange(100, 1000)} {rng.randrange(100, 1000)}",
    "australian_phone": australian_phone,
    "malformed_email": malformed_email,
    "bank_account": bank_account,
    "nz_date": lambda rng: _birth_date(rng, 0, 95).strftime("%d/%m/%Y"),
}


def identifier_corpus(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` labelled values ``(value, kind)``, kinds drawn evenly from CORPUS_KINDS."""
    rng = random.Random(f"corpus:{seed}")
    kinds = sorted(CORPUS_KINDS)
    labelled = []
    for index in range(n):
        kind = kinds[index % len(kinds)]
        labelled.append((CORPUS_KINDS[kind](rng), kind))
    rng.shuffle(labelled)
    return labelled


# --- files -------------------------------------------------------------------------------------

TABLES: Mapping[str, tuple[tuple[str, ...], Mapping[str, str]]] = {
    "msd.clients": (CLIENT_COLUMNS, {"date_of_birth": "DATE", "opted_out": "BOOLEAN"}),
    "health.patients": (PATIENT_COLUMNS, {"date_of_birth": "DATE", "admitted_on": "DATE"}),
    "education.students": (
        STUDENT_COLUMNS,
        {"date_of_birth": "DATE", "school_id": "INTEGER", "year_level": "INTEGER"},
    ),
    "oranga_tamariki.children_in_care": (CHILD_COLUMNS, {"ra_whanau": "DATE", "entered_care_on": "DATE"}),
}


def generate_estate(seed: int, *, size: int = 500, invalid_share: float = 0.02) -> dict[str, list[Record]]:
    """Every table of the synthetic estate, keyed ``schema.table``."""
    return {
        "msd.clients": generate_clients(size, seed, invalid_share=invalid_share),
        "health.patients": generate_patients(size, seed, invalid_share=invalid_share),
        "education.students": generate_students(size, seed),
        "oranga_tamariki.children_in_care": generate_children_in_care(
            size, seed, invalid_share=invalid_share
        ),
    }


def write_duckdb(path: str | Path, seed: int, *, size: int = 500, invalid_share: float = 0.02) -> Path:
    """Write the synthetic estate into a new DuckDB file (replacing one that exists)."""
    import duckdb

    target = Path(path)
    target.unlink(missing_ok=True)
    estate = generate_estate(seed, size=size, invalid_share=invalid_share)
    connection = duckdb.connect(str(target))
    try:
        for table, (columns, types) in TABLES.items():
            schema = table.split(".", 1)[0]
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            ddl = ", ".join(f"{c} {types.get(c, 'VARCHAR')}" for c in columns)
            connection.execute(f"CREATE TABLE {table} ({ddl})")
            placeholders = ", ".join("?" for _ in columns)
            rows = [[record[c] for c in columns] for record in estate[table]]
            connection.executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)
    finally:
        connection.close()
    return target


def write_seed_csv(path: str | Path, records: Sequence[Mapping[str, Any]]) -> Path:
    """Write records as a dbt seed CSV (ISO dates, ``true``/``false``, empty for null)."""
    target = Path(path)
    columns = list(records[0]) if records else []
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            writer.writerow([_csv_value(record[c]) for c in columns])
    return target


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
