"""Column-name rules: tokenise a name, then match phrases of tokens with their context.

Shared by the built-in rules (``name_rules``) and plugins such as kaitiaki-nz, so every rule set
is case, separator and diacritic insensitive in the same way: ``FirstName``, ``first_name``,
``"First Name"`` and ``FIRST-NAME`` are all ``("first", "name")``; ``ingoa_whānau`` is
``("ingoa", "whanau")``. A rule is data, not code, so governance leads can read the lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
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


def _negated(tokens: tuple[str, ...], start: int, width: int) -> bool:
    leading_negation = start > 0 and tokens[0] in NEGATING_PREFIXES
    return leading_negation or any(t in NEGATING_SUFFIXES for t in tokens[start + width :])


def _about_organisation(tokens: tuple[str, ...], start: int, width: int) -> bool:
    """``school_address``, ``ingoa_kura``: the other words name an organisation, not a person."""
    others = tokens[:start] + tokens[start + width :]
    return any(t in ORGANISATION_NOUNS for t in others) and not any(t in PERSON_NOUNS for t in others)


def _accepted(
    rule: NameRule, tokens: tuple[str, ...], start: int, width: int, table_words: tuple[str, ...]
) -> bool:
    """A phrase found in the name still counts: not negated, not about an organisation."""
    if rule.negatable and _negated(tokens, start, width):
        return False
    if _about_organisation(tokens, start, width):
        return False
    return not (rule.contact_detail and start == 0 and holds_organisations(table_words))


def vocabulary(rules: Iterable[NameRule]) -> frozenset[str]:
    """Every word the rules and the context checks know, for splitting run-together names."""
    phrases = (p for r in rules for p in (*r.phrases, *r.whole_names, *r.person_table_names))
    words = {w for p in phrases for w in p} | PERSON_NOUNS | ORGANISATION_NOUNS | NEGATING_SUFFIXES
    words |= NEGATING_PREFIXES | HASH_MARKERS | TABLE_PREFIXES
    return frozenset(w for w in words if len(w) >= MIN_WORD)


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


class RuleSet:
    """Name rules compiled once: their vocabulary, phrases indexed by first word, memoised answers.

    ``RuleSet(*rules).classify(table, column, data_type)`` is what a plugin's
    ``kaitiaki_classify_column`` returns; each answer's ``source`` is ``rule:<rule name>``.
    """

    MEMO_LIMIT = 100_000

    def __init__(self, *rules: NameRule) -> None:
        self.rules = rules
        self.words = vocabulary(rules)
        self._by_first_word: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for index, rule in enumerate(rules):
            for phrase in rule.phrases:
                self._by_first_word.setdefault(phrase[0], []).append((index, phrase))
        self._memo: dict[tuple[str, str, str | None], tuple[Classification, ...]] = {}

    def classify(self, table: str, column: str, data_type: str | None) -> list[Classification]:
        """The rules that match ``column`` of ``table``; empty when none does."""
        key = (table.rsplit(".", 1)[-1], column, data_type)
        if key not in self._memo:
            if len(self._memo) >= self.MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = self._classify(key[0], column, data_type)
        return list(self._memo[key])

    def match(
        self,
        rule_index: int,
        tokens: tuple[str, ...],
        table_words: tuple[str, ...],
        found: Mapping[int, list[tuple[int, tuple[str, ...]]]],
    ) -> str | None:
        """What in the name matched rule ``rule_index`` (for the explanation), or None.

        ``found`` is ``_phrases_in(tokens)``: every rule's phrases present in the name.
        """
        rule = self.rules[rule_index]
        if tokens in rule.whole_names:
            return "_".join(tokens)
        if tokens in rule.person_table_names and holds_people(table_words):
            return f"{'_'.join(tokens)} in a table of people"
        for start, phrase in found.get(rule_index, ()):
            if _accepted(rule, tokens, start, len(phrase), table_words):
                return "_".join(phrase)
        return None

    def _phrases_in(self, tokens: tuple[str, ...]) -> dict[int, list[tuple[int, tuple[str, ...]]]]:
        found: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        for start, token in enumerate(tokens):
            for index, phrase in self._by_first_word.get(token, ()):
                if tokens[start : start + len(phrase)] == phrase:
                    found.setdefault(index, []).append((start, phrase))
        return found

    def _classify(self, table_name: str, column: str, data_type: str | None) -> tuple[Classification, ...]:
        """A boolean column is a flag *about* a value, so only non-negatable rules (opt-out) apply."""
        boolean = (data_type or "").strip().lower() in BOOLEAN_TYPES
        tokens = rule_tokens(column, self.words)
        table_words = rule_tokens(table_name, self.words)
        hashed = is_hashed_name(tokens)
        phrases = self._phrases_in(tokens)
        found = []
        for index, rule in enumerate(self.rules):
            if boolean and rule.negatable:
                continue
            matched = self.match(index, tokens, table_words, phrases)
            if matched is None:
                continue
            pseudonym = hashed and rule.hashable
            found.append(
                Classification(
                    categories=("person_key",) if pseudonym else rule.categories,
                    source=f"rule:{rule.name}",
                    detail=f"name matches {matched!r}" + (" (hashed: a pseudonym)" if pseudonym else ""),
                )
            )
        return tuple(found)
