"""Column-name rules: tokenise a name, then match phrases of tokens with their context.

Shared by the built-in rules (``name_rules``) and plugins such as kaitiaki-nz, so every rule set
is case, separator and diacritic insensitive in the same way: ``FirstName``, ``first_name``,
``"First Name"`` and ``FIRST-NAME`` are all ``("first", "name")``; ``ingoa_whānau`` is
``("ingoa", "whanau")``. A rule is data, not code, so governance leads can read the lists.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kaitiaki.model import Classification

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9a-z]+")

PERSON_NOUNS = frozenset(
    {
        "person", "persons", "people", "client", "clients", "patient", "patients", "student",
        "students", "pupil", "pupils", "learner", "learners", "child", "children", "customer",
        "customers", "member", "members", "citizen", "citizens", "individual", "individuals",
        "applicant", "applicants", "beneficiary", "beneficiaries", "caregiver", "caregivers",
        "parent", "parents", "mother", "father", "guardian", "guardians", "contact", "contacts",
        "staff", "employee", "employees", "worker", "workers", "user", "users", "taxpayer",
        "taxpayers", "resident", "residents", "participant", "participants", "respondent",
        "respondents", "victim", "victims", "offender", "offenders", "recipient", "recipients",
        "partner", "spouse", "tamaiti", "tamariki", "tauira", "tangata", "kaimahi",
    }
)  # fmt: skip
ORGANISATION_NOUNS = frozenset(
    {
        "school", "schools", "kura", "wharekura", "kohanga", "provider", "providers", "agency",
        "agencies", "organisation", "organization", "org", "company", "business", "employer",
        "practice", "clinic", "hospital", "facility", "site", "branch", "office", "department",
        "dept", "team", "service", "vendor", "supplier", "institution", "council", "product",
        "item", "file", "table", "column", "field", "event", "programme", "program", "course",
        "subject", "project", "category", "plan", "brand", "host", "server", "domain",
        "database", "schema", "venue", "region", "district", "ward", "suburb", "city", "town",
        "country", "tari", "ropu",
    }
)  # fmt: skip
NEGATING_SUFFIXES = frozenset(
    {
        "flag", "flags", "count", "counts", "cnt", "type", "types", "status", "verified", "valid",
        "validated", "domain", "provided", "known", "missing", "consent", "opt", "opted", "optin",
        "optout", "preference", "pref", "format", "length", "len", "sent", "bounced", "changed",
        "updated", "created", "at", "ts", "timestamp", "time", "source", "quality", "confidence",
        "score", "indicator", "ind", "yn", "present", "exists", "ok",
    }
)  # fmt: skip
NEGATING_PREFIXES = frozenset({"is", "has", "n", "num", "count", "no"})
HASH_MARKERS = frozenset(
    {"hash", "hashed", "md5", "sha", "sha1", "sha2", "sha256", "pseudonym", "pseudo", "token", "tokenised"}
)
BOOLEAN_TYPES = ("bool", "boolean", "bit")


def name_tokens(name: str) -> tuple[str, ...]:
    """``"FirstName"``/``first-name``/``ingoa_whānau`` → lower-case ASCII tokens."""
    split = _CAMEL_BOUNDARY.sub("_", name)
    folded = unicodedata.normalize("NFKD", split).encode("ascii", "ignore").decode("ascii")
    return tuple(token for token in _NON_WORD.split(folded.lower()) if token)


def table_tokens(table: str) -> tuple[str, ...]:
    """Tokens of the table's own name (the last dotted part): ``cms.stg_clients`` → stg, clients."""
    return name_tokens(table.rsplit(".", 1)[-1])


def is_person_table(table: str) -> bool:
    """A table whose name says it holds people (``clients``, ``dim_person``, ``tamariki``)."""
    return any(token in PERSON_NOUNS for token in table_tokens(table))


def is_organisation_table(table: str) -> bool:
    """A table whose name says it holds organisations or places, and not people."""
    tokens = table_tokens(table)
    return any(t in ORGANISATION_NOUNS for t in tokens) and not any(t in PERSON_NOUNS for t in tokens)


@dataclass(frozen=True)
class NameRule:
    """Categories for a column whose name contains one of ``phrases``.

    ``phrases`` match anywhere in the name, unless an organisation noun qualifies them
    (``school_address``) or a negating word says the column is *about* the value rather than the
    value (``email_verified``, ``has_phone``). ``whole_names`` match only the entire name;
    ``person_table_names`` match the entire name only in a table of people (a bare ``name`` in
    ``clients`` is a person's name, in ``schools`` it is not). With ``hashable``, a hash or token
    marker (``nhi_hash``) turns the answer into ``person_key``: a pseudonym of the identifier.
    """

    name: str
    categories: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...] = ()
    whole_names: tuple[tuple[str, ...], ...] = ()
    person_table_names: tuple[tuple[str, ...], ...] = ()
    negatable: bool = True
    hashable: bool = True
    contact_detail: bool = False


def _find(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> int:
    """Index where ``phrase`` starts in ``tokens``, or -1."""
    width = len(phrase)
    for start in range(len(tokens) - width + 1):
        if tokens[start : start + width] == phrase:
            return start
    return -1


def _negated(tokens: tuple[str, ...], start: int, width: int) -> bool:
    leading_negation = start > 0 and tokens[0] in NEGATING_PREFIXES
    return leading_negation or any(t in NEGATING_SUFFIXES for t in tokens[start + width :])


def _about_organisation(tokens: tuple[str, ...], start: int, width: int) -> bool:
    """``school_address``, ``ingoa_kura``: the other words name an organisation, not a person."""
    others = tokens[:start] + tokens[start + width :]
    return any(t in ORGANISATION_NOUNS for t in others) and not any(t in PERSON_NOUNS for t in others)


def _phrase_hit(rule: NameRule, tokens: tuple[str, ...], table: str) -> tuple[str, ...] | None:
    for phrase in rule.phrases:
        start = _find(tokens, phrase)
        if start < 0:
            continue
        if rule.negatable and _negated(tokens, start, len(phrase)):
            continue
        if _about_organisation(tokens, start, len(phrase)):
            continue
        if rule.contact_detail and start == 0 and is_organisation_table(table):
            continue
        return phrase
    return None


def match_rule(rule: NameRule, table: str, column: str) -> str | None:
    """What in ``column``'s name matched ``rule`` (for the explanation), or None."""
    tokens = name_tokens(column)
    if tokens in rule.whole_names:
        return "_".join(tokens)
    if tokens in rule.person_table_names and is_person_table(table):
        return f"{'_'.join(tokens)} in a table of people"
    phrase = _phrase_hit(rule, tokens, table)
    return "_".join(phrase) if phrase is not None else None


def is_hashed_name(column: str) -> bool:
    """``nhi_hash``, ``hashed_email``, ``client_token``: a pseudonym, not the raw value."""
    return any(token in HASH_MARKERS for token in name_tokens(column))


def classify_name(
    rules: tuple[NameRule, ...], table: str, column: str, data_type: str | None, *, prefix: str = ""
) -> list[Classification]:
    """Apply ``rules`` to one column; ``source`` is ``rule:<prefix><rule name>``.

    A boolean column is a flag *about* a value, never the value, so only non-negatable rules
    (such as opt-out flags) apply to it.
    """
    boolean = (data_type or "").strip().lower() in BOOLEAN_TYPES
    hashed = is_hashed_name(column)
    found: list[Classification] = []
    for rule in rules:
        if boolean and rule.negatable:
            continue
        matched = match_rule(rule, table, column)
        if matched is None:
            continue
        categories = ("person_key",) if hashed and rule.hashable else rule.categories
        detail = f"name matches {matched!r}" + (" (hashed: a pseudonym)" if hashed and rule.hashable else "")
        found.append(Classification(categories=categories, source=f"rule:{prefix}{rule.name}", detail=detail))
    return found
