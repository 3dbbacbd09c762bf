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
from functools import lru_cache

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
TABLE_PREFIXES = frozenset({"stg", "int", "dim", "fct", "fact", "raw", "src", "base", "mart", "tbl", "vw"})
BOOLEAN_TYPES = ("bool", "boolean", "bit")
MIN_WORD, MAX_WORD = 2, 24


def name_tokens(name: str) -> tuple[str, ...]:
    """``"FirstName"``/``first-name``/``ingoa_whānau`` → lower-case ASCII tokens."""
    split = _CAMEL_BOUNDARY.sub("_", name)
    folded = unicodedata.normalize("NFKD", split).encode("ascii", "ignore").decode("ascii")
    return tuple(token for token in _NON_WORD.split(folded.lower()) if token)


def holds_people(table_words: tuple[str, ...]) -> bool:
    """A table whose name says it holds people (``clients``, ``dim_person``, ``tamariki``)."""
    return any(token in PERSON_NOUNS for token in table_words)


def holds_organisations(table_words: tuple[str, ...]) -> bool:
    """A table whose name says it holds organisations or places, and not people."""
    return any(t in ORGANISATION_NOUNS for t in table_words) and not holds_people(table_words)


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


def _phrase_hit(
    rule: NameRule, tokens: tuple[str, ...], table_words: tuple[str, ...]
) -> tuple[str, ...] | None:
    for phrase in rule.phrases:
        start = _find(tokens, phrase)
        if start < 0:
            continue
        if rule.negatable and _negated(tokens, start, len(phrase)):
            continue
        if _about_organisation(tokens, start, len(phrase)):
            continue
        if rule.contact_detail and start == 0 and holds_organisations(table_words):
            continue
        return phrase
    return None


def match_rule(rule: NameRule, tokens: tuple[str, ...], table_words: tuple[str, ...]) -> str | None:
    """What in the column's name ``tokens`` matched ``rule`` (for the explanation), or None.

    ``table_words`` are the tokens of the table's own name, which say whether it holds people.
    """
    if tokens in rule.whole_names:
        return "_".join(tokens)
    if tokens in rule.person_table_names and holds_people(table_words):
        return f"{'_'.join(tokens)} in a table of people"
    phrase = _phrase_hit(rule, tokens, table_words)
    return "_".join(phrase) if phrase is not None else None


@lru_cache(maxsize=64)
def vocabulary(rules: tuple[NameRule, ...]) -> frozenset[str]:
    """Every word the rules and the context checks know, for splitting run-together names."""
    phrases = (p for r in rules for p in (*r.phrases, *r.whole_names, *r.person_table_names))
    words = {w for p in phrases for w in p} | PERSON_NOUNS | ORGANISATION_NOUNS | NEGATING_SUFFIXES
    words |= NEGATING_PREFIXES | HASH_MARKERS | TABLE_PREFIXES
    return frozenset(w for w in words if len(w) >= MIN_WORD)


@lru_cache(maxsize=8192)
def _segment(token: str, words: frozenset[str]) -> tuple[str, ...]:
    """``dateofbirth`` → date, of, birth: the fewest known words that spell the token exactly."""
    if token in words or len(token) < 2 * MIN_WORD:
        return (token,)
    best: list[tuple[str, ...] | None] = [()] + [None] * len(token)
    for end in range(MIN_WORD, len(token) + 1):
        for begin in range(max(0, end - MAX_WORD), end - MIN_WORD + 1):
            head = best[begin]
            if head is None or token[begin:end] not in words:
                continue
            current = best[end]
            if current is None or len(head) + 1 < len(current):
                best[end] = (*head, token[begin:end])
    return best[-1] or (token,)


def rule_tokens(name: str, words: frozenset[str]) -> tuple[str, ...]:
    """Tokens of ``name``, with run-together words split: SQL often folds ``DateOfBirth`` to
    ``dateofbirth``, which must still read as date, of, birth."""
    return tuple(part for token in name_tokens(name) for part in _segment(token, words))


def is_hashed_name(tokens: tuple[str, ...]) -> bool:
    """``nhi_hash``, ``hashed_email``, ``client_token``: a pseudonym, not the raw value."""
    return any(token in HASH_MARKERS for token in tokens)


def classify_name(
    rules: tuple[NameRule, ...], table: str, column: str, data_type: str | None, *, prefix: str = ""
) -> list[Classification]:
    """Apply ``rules`` to one column; ``source`` is ``rule:<prefix><rule name>``.

    A boolean column is a flag *about* a value, never the value, so only non-negatable rules
    (such as opt-out flags) apply to it.
    """
    boolean = (data_type or "").strip().lower() in BOOLEAN_TYPES
    words = vocabulary(rules)
    tokens = rule_tokens(column, words)
    table_words = rule_tokens(table.rsplit(".", 1)[-1], words)
    hashed = is_hashed_name(tokens)
    found: list[Classification] = []
    for rule in rules:
        if boolean and rule.negatable:
            continue
        matched = match_rule(rule, tokens, table_words)
        if matched is None:
            continue
        categories = ("person_key",) if hashed and rule.hashable else rule.categories
        detail = f"name matches {matched!r}" + (" (hashed: a pseudonym)" if hashed and rule.hashable else "")
        found.append(Classification(categories=categories, source=f"rule:{prefix}{rule.name}", detail=detail))
    return found
