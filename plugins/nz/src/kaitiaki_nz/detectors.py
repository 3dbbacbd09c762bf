"""Value detectors for New Zealand identifiers, with real check-digit validation.

Used only by ``kaitiaki scan`` to *propose* catalog entries. A detector sees a sample of a
column's values and reports the share that matched; the values themselves are never kept,
logged or returned.

- NHI (National Health Index), HISO 10046:2023 validation routine. Letters are A–Z without I and
  O, numbered 1–24; the first six characters are weighted 7, 6, 5, 4, 3, 2.
  Old format ``AAANNNC``: sum mod 11; a remainder of 0 can never be valid, otherwise the check
  digit is (11 − remainder) mod 10. New format ``AAANNAX``: the check letter is the one numbered
  23 − (sum mod 23). (An earlier 2022 draft used mod 24; its examples such as ZVU27KZ are invalid
  under the published standard.)
- IRD number, Inland Revenue RWT/NRWT specification: 8–9 digits, 10,000,000–150,000,000;
  the 8-digit base (zero-padded) is weighted 3, 2, 7, 6, 5, 4, 3, 2; check = 11 − (sum mod 11),
  0 when the remainder is 0; a result of 10 is recomputed with weights 7, 4, 3, 2, 5, 2, 7, 6,
  and a second 10 is invalid.
- e-mail addresses, and NZ phone numbers (+64/0064/0 prefix; mobiles 02x, landlines 03, 04, 06,
  07, 09). Zero-padded IRD numbers and compact landlines share a shape (``049091850``): the IRD
  detector counts a padded number only in the ``049-091-850`` form, and the scan reports every
  detector's share so the column name can decide.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kaitiaki.model import Classification

NHI_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"
NHI_WEIGHTS = (7, 6, 5, 4, 3, 2)
_NHI_OLD_STEM = re.compile(r"[A-HJ-NP-Z]{3}\d{3}")
_NHI_NEW_STEM = re.compile(r"[A-HJ-NP-Z]{3}\d{2}[A-HJ-NP-Z]")
_NHI_SHAPE = re.compile(r"[A-HJ-NP-Z]{3}\d{2}(?:\d{2}|[A-HJ-NP-Z]{2})")

IRD_PRIMARY_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
IRD_SECONDARY_WEIGHTS = (7, 4, 3, 2, 5, 2, 7, 6)
IRD_MIN, IRD_MAX = 10_000_000, 150_000_000
_IRD_FORM = re.compile(r"\d{8,9}|\d{2,3}([- ])\d{3}\1\d{3}")
_PADDED_IRD = re.compile(r"0\d{2}-\d{3}-\d{3}")

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_NZ_PHONE = re.compile(r"(?:\+640?|00640?|0)(?:2\d{7,9}|[34679][2-9]\d{6})")


def _nhi_value(character: str) -> int:
    return int(character) if character.isdigit() else NHI_ALPHABET.index(character) + 1


def nhi_check_character(stem: str) -> str | None:
    """The check character completing a six-character NHI stem; None when no character can.

    Raises ValueError when ``stem`` is not ``AAANNN`` (old format) or ``AAANNA`` (new format).
    """
    stem = stem.upper()
    total = sum(_nhi_value(c) * w for c, w in zip(stem, NHI_WEIGHTS, strict=False))
    if _NHI_OLD_STEM.fullmatch(stem):
        remainder = total % 11
        return None if remainder == 0 else str((11 - remainder) % 10)
    if _NHI_NEW_STEM.fullmatch(stem):
        return NHI_ALPHABET[23 - total % 23 - 1]
    raise ValueError(f"not an NHI stem: expected AAANNN or AAANNA, got {len(stem)} characters")


def is_valid_nhi(value: str) -> bool:
    """A well-formed NHI with the right check character (either format, any case)."""
    candidate = value.strip().upper()
    if not _NHI_SHAPE.fullmatch(candidate):
        return False
    return nhi_check_character(candidate[:6]) == candidate[6]


def _ird_check(base: str, weights: tuple[int, ...]) -> int:
    remainder = sum(int(d) * w for d, w in zip(base, weights, strict=True)) % 11
    return 0 if remainder == 0 else 11 - remainder


def ird_check_digit(base: str) -> int | None:
    """The check digit completing a 7- or 8-digit IRD base number; None when none can."""
    padded = base.zfill(8)
    check = _ird_check(padded, IRD_PRIMARY_WEIGHTS)
    if check == 10:
        check = _ird_check(padded, IRD_SECONDARY_WEIGHTS)
    return None if check == 10 else check


def is_valid_ird(value: str) -> bool:
    """An IRD number in the issued range with the right check digit.

    Written as plain digits or in IRD groups (``49-091-850``, ``136 410 132``): a date such as
    ``1996-08-27`` has eight digits too, but not in those groups. A zero-padded number counts only
    written ``049-091-850``: ``093771234`` is far more often a Wellington landline.
    """
    text = value.strip()
    if not _IRD_FORM.fullmatch(text):
        return False
    digits = re.sub(r"\D", "", text)
    if not IRD_MIN <= int(digits) <= IRD_MAX:
        return False
    if len(digits) == 9 and digits[0] == "0" and not _PADDED_IRD.fullmatch(text):
        return False
    return ird_check_digit(digits[:-1]) == int(digits[-1])


def is_email(value: str) -> bool:
    """An e-mail address (the whole value, not an address inside free text)."""
    return _EMAIL.fullmatch(value.strip()) is not None


def is_nz_phone(value: str) -> bool:
    """An NZ mobile or landline number in national or international form."""
    return _NZ_PHONE.fullmatch(_PHONE_SEPARATORS.sub("", value.strip())) is not None


@dataclass(frozen=True)
class Detector:
    name: str
    categories: tuple[str, ...]
    matches: Callable[[str], bool]


DETECTORS: tuple[Detector, ...] = (
    Detector("nhi", ("unique_identifier:nhi",), is_valid_nhi),
    Detector("ird", ("unique_identifier:ird",), is_valid_ird),
    Detector("email", ("direct_identifier",), is_email),
    Detector("phone", ("direct_identifier",), is_nz_phone),
)


def share_detail(matched: int, sampled: int) -> str:
    """``"0.98 of 500"``, rounded down so that 1.00 means every sampled value matched."""
    share = math.floor(matched * 100 / sampled) / 100 if sampled else 0.0
    return f"{share:.2f} of {sampled}"


def detect(values: Iterable[object], detectors: tuple[Detector, ...] = DETECTORS) -> list[Classification]:
    """One Classification per detector that matched any sampled value, with the share matched."""
    sample = [text for text in (str(v).strip() for v in values if v is not None) if text]
    found = []
    for detector in detectors:
        matched = sum(1 for text in sample if detector.matches(text))
        if matched:
            found.append(
                Classification(
                    categories=detector.categories,
                    source=f"detector:{detector.name}",
                    detail=share_detail(matched, len(sample)),
                )
            )
    return found
