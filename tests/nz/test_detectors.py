"""NZ value detectors: published test vectors, then precision and recall on 10,000 generated values.

The generated values come from kaitiaki_nz.synthetic, which builds valid identifiers with the same
check-digit functions the detectors use; the published vectors below are what anchors those
functions to the Ministry of Health and Inland Revenue specifications.
"""

from __future__ import annotations

import pytest
from kaitiaki_nz.detectors import (
    DETECTORS,
    detect,
    ird_check_digit,
    is_email,
    is_nz_phone,
    is_valid_ird,
    is_valid_nhi,
    nhi_check_character,
    share_detail,
)
from kaitiaki_nz.synthetic import identifier_corpus

# HISO 10046:2023 validation routine; test-range NHIs published with open-source validators.
VALID_NHIS = [
    "JBX3656", "WLD9413", "ZZZ0016", "ZZZ0024", "ZAA0067", "ZAA0075", "ZAA0083", "ZAA0091", "ZAA0105",
    "ZAA0113", "ZAA0121", "ZAA0130", "ZAA0148", "ZAA0156", "ZAC5361",
    "ZBN77VL", "ZZZ00AC", "ZDR69YX", "ZSC21TN", "ZZB30NH", "ZYZ81ZV", "ZVB97XQ", "ZRA29VA", "ZYX61YS",
    "ZHW58CV", "zsc21tn", "zAc5361",
]  # fmt: skip
INVALID_NHIS = [
    "ZZZ0044", "ZZZ0017", "DAB8233", "JBX3650", "JBX3659", "ZZZ00AA", "ZZZ00AY", "ZVU27KY", "ZVU27KA",
    "ZHW58CZ", "ZIO1234", "ZZZ001", "ZZZ00166", "not an NHI", "",
    # valid only under the superseded 2022 draft (mod 24), not under HISO 10046:2023 (mod 23)
    "ZVU27KZ", "ZZZ00AX", "ZHW58CN",
]  # fmt: skip
# Inland Revenue RWT/NRWT specification examples.
VALID_IRDS = ["49091850", "35901981", "49098576", "136410132", "49-098-576", "136 410 132", "049-091-850"]
INVALID_IRDS = [
    "136410133",
    "9125568",
    "150000001",
    "1234567A",
    "12345",
    "123456789012",
    "1996-08-27",
    "049091850",
]


@pytest.mark.parametrize("value", VALID_NHIS)
def test_published_valid_nhis(value: str) -> None:
    assert is_valid_nhi(value)


@pytest.mark.parametrize("value", INVALID_NHIS)
def test_published_invalid_nhis(value: str) -> None:
    assert not is_valid_nhi(value)


def test_no_check_digit_completes_an_old_stem_whose_remainder_is_zero() -> None:
    assert nhi_check_character("ZZZ004") is None
    assert not any(is_valid_nhi(f"ZZZ004{d}") for d in "0123456789")


def test_exactly_one_check_letter_completes_a_new_format_stem() -> None:
    letters = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if is_valid_nhi(f"ZHW58C{c}")]
    assert letters == ["V"]


def test_a_malformed_stem_is_refused() -> None:
    with pytest.raises(ValueError, match="not an NHI stem"):
        nhi_check_character("ZZ0016")


@pytest.mark.parametrize("value", VALID_IRDS)
def test_published_valid_ird_numbers(value: str) -> None:
    assert is_valid_ird(value)


@pytest.mark.parametrize("value", INVALID_IRDS)
def test_invalid_ird_numbers(value: str) -> None:
    assert not is_valid_ird(value)


@pytest.mark.parametrize(("number", "check"), [("4909857", 6), ("13641013", 2)])
def test_the_secondary_weights_are_used_when_the_primary_check_is_ten(number: str, check: int) -> None:
    # 49098576 and 136410132 are the specification's examples whose primary check digit is 10.
    primary = sum(int(d) * w for d, w in zip(number.zfill(8), (3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    assert 11 - primary == 10
    assert ird_check_digit(number) == check


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+64 21 123 4567", True),
        ("021 123 456", True),
        ("0274567890", True),
        ("(09) 377-1234", True),
        ("+64 (0)4 472 1234", True),
        ("0064 3 366 0000", True),
        ("0800 123 456", False),
        ("+61 2 9374 4000", False),
        ("09 123 4567", False),  # landline subscriber numbers do not start with 1
        ("49091850", False),
    ],
)
def test_nz_phone_numbers(value: str, expected: bool) -> None:
    assert is_nz_phone(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("aroha.parata@example.org", True),
        ("a@b.co.nz", True),
        ("aroha@", False),
        ("aroha at example.com", False),
    ],
)
def test_email_addresses(value: str, expected: bool) -> None:
    assert is_email(value) is expected


def test_detect_reports_shares_never_values() -> None:
    found = detect(["ZZZ0016", "ZZZ0017", "", None, "aroha@example.org"])
    assert [(c.source, c.detail) for c in found] == [
        ("detector:nhi", "0.33 of 3"),
        ("detector:email", "0.33 of 3"),
    ]
    assert all("ZZZ" not in (c.detail or "") for c in found)


def test_share_is_rounded_down_so_one_means_all() -> None:
    assert share_detail(499, 500) == "0.99 of 500"
    assert share_detail(500, 500) == "1.00 of 500"


def precision_recall(values: list[tuple[str, str]], name: str) -> tuple[float, float, int]:
    detector = next(d for d in DETECTORS if d.name == name)
    hits = [(detector.matches(value), kind == name) for value, kind in values]
    true_pos = sum(1 for hit, truth in hits if hit and truth)
    predicted = sum(1 for hit, _ in hits if hit)
    actual = sum(1 for _, truth in hits if truth)
    return true_pos / predicted, true_pos / actual, actual


@pytest.mark.parametrize("name", ["nhi", "ird", "email", "phone"])
def test_precision_and_recall_on_ten_thousand_generated_values(name: str) -> None:
    corpus = identifier_corpus(10_000, seed=2026)
    assert len(corpus) == 10_000
    precision, recall, positives = precision_recall(corpus, name)
    print(f"{name}: precision {precision:.4f} recall {recall:.4f} over {positives} positives of 10,000")
    assert positives > 500
    assert precision >= 0.99
    assert recall >= 0.99
