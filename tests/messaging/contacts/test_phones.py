"""Phone normalisation: every shape Azerbaijani, Turkish and Russian numbers arrive in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.phones import (
    PhoneError,
    Reason,
    normalize_phone,
    parse_phone,
    phone_country,
    phone_time_zone,
)

AZ_SHAPES = [
    "050 123 45 67",
    "0501234567",
    "(050) 123-45-67",
    "050-123-45-67",
    "050.123.45.67",
    "+994 50 123 45 67",
    "+994 (50) 123-45-67",
    "+994501234567",
    "994501234567",
    "00994501234567",
    "00 994 50 123 45 67",
    "501234567",  # Excel dropped the leading zero
    "994501234567.0",  # a float written out as text
    "9.94501234567E+11",  # scientific notation
    "9,94501234567E+11",  # with a decimal comma
    994501234567.0,  # a float cell from XLSX
    994501234567,  # an int cell
    "  +994\u00a050\u00a0123\u00a045\u00a067  ",  # non-breaking spaces
    "tel:+994501234567",
]


@pytest.mark.parametrize("raw", AZ_SHAPES)
def test_azerbaijani_number_in_every_common_shape(raw: object) -> None:
    result = parse_phone(raw, default_country="AZ")
    assert result.e164 == "+994501234567"
    assert result.country == "AZ"


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("0532 123 45 67", "TR", "+905321234567"),
        ("+90 532 123 45 67", "AZ", "+905321234567"),
        ("905321234567", "AZ", "+905321234567"),
        ("00905321234567", "AZ", "+905321234567"),
        ("5321234567", "TR", "+905321234567"),
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("+7 916 123-45-67", "AZ", "+79161234567"),
        ("79161234567", "AZ", "+79161234567"),
        ("9161234567", "RU", "+79161234567"),
        ("070 555 66 77", "AZ", "+994705556677"),
        ("077-555-66-77", "AZ", "+994775556677"),
        ("012 555 66 77", "AZ", "+994125556677"),  # Baku landline
    ],
)
def test_turkish_russian_and_other_azerbaijani_numbers(
    raw: str, country: str, expected: str
) -> None:
    assert normalize_phone(raw, default_country=country) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", Reason.EMPTY),
        ("   ", Reason.EMPTY),
        (None, Reason.EMPTY),
        ("abc", Reason.NOT_A_NUMBER),
        ("050 ABC 45 67", Reason.NOT_A_NUMBER),
        ("123", Reason.TOO_SHORT),
        ("+99450123", Reason.TOO_SHORT),
        ("+994501234567890", Reason.TOO_LONG),
        ("+999 1234567", Reason.UNKNOWN_COUNTRY),
        ("+1 200 000 0000", Reason.INVALID_FOR_COUNTRY),
        ("9.94501E+11", Reason.PRECISION_LOST),
    ],
)
def test_bad_values_give_a_precise_reason(raw: object, reason: str) -> None:
    result = parse_phone(raw, default_country="AZ")
    assert result.e164 is None
    assert result.reason == reason
    assert result.message


def test_invalid_for_country_names_the_country() -> None:
    with pytest.raises(PhoneError) as excinfo:
        normalize_phone("+1 200 000 0000", default_country="AZ")
    assert excinfo.value.code == Reason.INVALID_FOR_COUNTRY
    assert "US" in excinfo.value.message


def test_time_zone_and_country_from_the_number() -> None:
    assert phone_time_zone("+994501234567") == "Asia/Baku"
    assert phone_time_zone("+905321234567") == "Europe/Istanbul"
    assert phone_time_zone("+79161234567") in ("Europe/Moscow", "")
    assert phone_country("+79161234567") == "RU"


# An Azerbaijani mobile: operator code + 7 digits.
az_mobiles = st.builds(
    lambda op, rest: f"{op}{rest:07d}",
    st.sampled_from(["50", "51", "55", "70", "77", "99", "10"]),
    st.integers(min_value=2_000_000, max_value=9_999_999),
)


def _shapes(national: str) -> list[object]:
    spaced = f"0{national[:2]} {national[2:5]} {national[5:7]} {national[7:]}"
    return [
        spaced,
        f"+994 {national[:2]} {national[2:5]} {national[5:7]} {national[7:]}",
        f"994{national}",
        national,
        f"00994{national}",
        f"(0{national[:2]}) {national[2:5]}-{national[5:7]}-{national[7:]}",
        float(f"994{national}"),
        f"994{national}.0",
    ]


@settings(max_examples=200, deadline=None)
@given(az_mobiles)
def test_every_shape_of_a_valid_az_mobile_gives_the_same_e164(national: str) -> None:
    results = {parse_phone(shape, default_country="AZ").e164 for shape in _shapes(national)}
    assert results == {f"+994{national}"}


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.floats(), st.integers(), st.none()))
def test_parse_never_raises_and_answers_exactly_one_way(raw: object) -> None:
    result = parse_phone(raw, default_country="AZ")
    assert (result.e164 is None) == bool(result.reason)
    if result.e164 is not None:
        assert result.e164.startswith("+")
        assert result.e164[1:].isdigit()
        assert 8 <= len(result.e164) <= 16


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 +-().", min_size=1, max_size=20))
def test_normalising_is_idempotent(raw: str) -> None:
    first = parse_phone(raw, default_country="AZ")
    if first.e164 is not None:
        assert parse_phone(first.e164, default_country="TR").e164 == first.e164
