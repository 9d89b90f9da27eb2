"""Phone number helpers (addons/cgsms/tools/phone.py)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# conftest.py puts addons/cgsms on sys.path: ``tools`` imports without Odoo.
import tools  # noqa: E402

normalize_number = tools.normalize_number


@pytest.mark.parametrize(
    "raw",
    [
        "912345678",
        "912 345 678",
        "912.345.678",
        "912-345-678",
        "(912) 345 678",
        "+351912345678",
        "+351 912 345 678",
        "00351912345678",
        "00351 912 345 678",
        " 912345678 ",
    ],
)
def test_portuguese_mobile_written_any_way_normalises_to_e164(raw):
    number = normalize_number(raw, "PT")
    assert number.valid
    assert number.e164 == "+351912345678"
    assert number.reason == ""


def test_raw_is_kept_as_typed():
    assert normalize_number(" 912 345 678", "PT").raw == " 912 345 678"


def test_country_of_the_number_is_reported():
    assert normalize_number("912345678", "PT").country_code == "PT"


def test_international_number_ignores_the_default_region():
    number = normalize_number("+44 7400 123456", "PT")
    assert number.e164 == "+447400123456"
    assert number.country_code == "GB"


def test_international_number_without_region():
    assert normalize_number("+351912345678").e164 == "+351912345678"


def test_double_zero_prefix_without_region():
    assert normalize_number("00351912345678").e164 == "+351912345678"


def test_lowercase_region_is_accepted():
    assert normalize_number("912345678", "pt").e164 == "+351912345678"


def test_national_number_without_region_is_invalid():
    number = normalize_number("912345678")
    assert not number.valid
    assert number.reason == "invalid"
    assert number.e164 == ""


@pytest.mark.parametrize("raw", ["", "   ", None, " - . "])
def test_empty_number_is_missing(raw):
    number = normalize_number(raw, "PT")
    assert not number.valid
    assert number.reason == "missing"


@pytest.mark.parametrize("raw", ["abc", "12", "91234567", "9123456789012", "+999 123456"])
def test_garbage_is_invalid(raw):
    number = normalize_number(raw, "PT")
    assert not number.valid
    assert number.reason == "invalid"


def test_fixed_line_is_valid_when_mobiles_are_not_required():
    number = normalize_number("213 456 789", "PT")
    assert number.valid
    assert number.e164 == "+351213456789"


def test_fixed_line_is_rejected_when_mobile_only():
    number = normalize_number("213 456 789", "PT", mobile_only=True)
    assert not number.valid
    assert number.reason == "not_mobile"
    assert number.e164 == "+351213456789"


def test_toll_free_is_rejected_when_mobile_only():
    assert normalize_number("800 200 200", "PT", mobile_only=True).reason == "not_mobile"


def test_mobile_is_accepted_when_mobile_only():
    assert normalize_number("912345678", "PT", mobile_only=True).valid


def test_fixed_line_or_mobile_counts_as_mobile():
    # US numbers do not tell fixed lines from mobiles.
    number = normalize_number("+1 650 253 0000", mobile_only=True)
    assert number.valid
    assert number.e164 == "+16502530000"


def test_split_free_numbers_on_semicolons():
    assert tools.split_free_numbers("912345678;913456789") == ["912345678", "913456789"]


def test_split_free_numbers_on_commas_and_newlines():
    text = "912345678, 913456789\n914567890\r\n+351915678901"
    assert tools.split_free_numbers(text) == [
        "912345678",
        "913456789",
        "914567890",
        "+351915678901",
    ]


def test_split_free_numbers_keeps_spaces_inside_a_number():
    assert tools.split_free_numbers("912 345 678; 913 456 789") == ["912 345 678", "913 456 789"]


def test_split_free_numbers_drops_blanks():
    assert tools.split_free_numbers(" ;912345678;; ,\n ;") == ["912345678"]


@pytest.mark.parametrize("text", ["", None, " ; ,\n"])
def test_split_free_numbers_of_nothing_is_empty(text):
    assert tools.split_free_numbers(text) == []


def test_dedupe_same_number_typed_differently_is_kept_once():
    numbers = [
        normalize_number(raw, "PT") for raw in ("912 345 678", "+351912345678", "00351912345678")
    ]
    unique = tools.dedupe_numbers(numbers)
    assert [number.raw for number in unique] == ["912 345 678"]


def test_dedupe_keeps_the_first_occurrence_order():
    unique = tools.dedupe_numbers(["+351913456789", "+351912345678", "+351913456789"])
    assert unique == ["+351913456789", "+351912345678"]


def test_dedupe_keeps_distinct_invalid_entries():
    numbers = [normalize_number(raw, "PT") for raw in ("abc", "xyz", "abc")]
    assert [number.raw for number in tools.dedupe_numbers(numbers)] == ["abc", "xyz"]


def test_dedupe_of_nothing_is_empty():
    assert tools.dedupe_numbers([]) == []


def test_regions_under_a_prefix_are_those_phonenumbers_places_there():
    from tools.phone import regions_under_prefix

    assert regions_under_prefix("+44") == ["GB", "GG", "IM", "JE"]
    assert regions_under_prefix("+351") == ["PT"]
    assert "CA" in regions_under_prefix("+1") and "US" in regions_under_prefix("+1")
    assert regions_under_prefix("+1876") == ["JM"]  # narrowed by the prefix's own digits
    assert regions_under_prefix("+447781") == ["GG"]
    assert regions_under_prefix("+999") == []
