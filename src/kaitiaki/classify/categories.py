"""The category vocabulary (docs/governance.md): an open set with known families.

Plugins may add schemes (``unique_identifier:<scheme>``) and sensitive kinds; a bare unknown
family is an error so that a typo in the catalog cannot silently classify nothing.
"""

from __future__ import annotations

PLAIN_CATEGORIES = (
    "direct_identifier",
    "quasi_identifier",
    "child",
    "opt_out_flag",
    "consent_flag",
    "opt_out_list",
    "person_key",
)
# quasi_identifier may name its kind (quasi_identifier:dob, :postcode, :meshblock …), which the
# re-identification rule (SV-09) and its policy data read; a bare quasi_identifier is of any kind.
FAMILIES = ("unique_identifier", "sensitive", "quasi_identifier")
# Categories about people's choices, not about the person: never identifiable themselves.
CHOICE_CATEGORIES = ("opt_out_flag", "consent_flag", "opt_out_list")
SENSITIVE_KINDS = (
    "ethnicity",
    "health",
    "gender",
    "religion",
    "sexuality",
    "disability",
    "justice",
    "iwi",
    "income",
    "care",
)
IDENTIFIER_CATEGORIES = ("direct_identifier", "person_key")


def check_category(category: str) -> str | None:
    """None when ``category`` is valid, else what is wrong with it."""
    if category in PLAIN_CATEGORIES:
        return None
    family, _, kind = category.partition(":")
    if family in FAMILIES:
        if not kind or not kind.replace("_", "").isalnum() or kind != kind.lower():
            return f"category {category!r} needs a lower-case kind after '{family}:'."
        return None
    known = ", ".join((*PLAIN_CATEGORIES, *(f"{f}:<kind>" for f in FAMILIES)))
    return f"unknown category {category!r}; known categories: {known}."


def is_identifier(category: str) -> bool:
    """Identifier: direct, unique or pseudonymous key (the DPUP library's term, policies/lib)."""
    return category in IDENTIFIER_CATEGORIES or category.startswith("unique_identifier:")


def is_identifiable(category: str) -> bool:
    """Identifiable: anything that can single out a person, hashed or not."""
    return category not in CHOICE_CATEGORIES
