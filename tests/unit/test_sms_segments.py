"""Segment counting (addons/cgsms/tools/sms_segments.py) against the shared cases."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = json.loads((ROOT / "tests/unit/segment_cases.json").read_text(encoding="utf-8"))


# conftest.py puts addons/cgsms on sys.path: ``tools`` imports without Odoo.
import tools  # noqa: E402


def case_text(case):
    if "text" in case:
        return case["text"]
    return "".join(piece * times for piece, times in case["repeat"])


SEGMENT_CASES = CASES["segments"]
SPLIT_CASES = [case for case in SEGMENT_CASES if "split" in case]


def test_shared_cases_cover_enough_ground():
    assert len(SEGMENT_CASES) >= 40
    assert len({case["name"] for case in SEGMENT_CASES}) == len(SEGMENT_CASES)


@pytest.mark.parametrize("case", SEGMENT_CASES, ids=[case["name"] for case in SEGMENT_CASES])
def test_count_matches_shared_case(case):
    assert tools.count_segments(case_text(case)).as_dict() == case["expected"]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=[case["name"] for case in SPLIT_CASES])
def test_split_matches_shared_case(case):
    parts = tools.split_segments(case_text(case))
    assert [len(part) for part in parts] == case["split"]


@pytest.mark.parametrize("case", SEGMENT_CASES, ids=[case["name"] for case in SEGMENT_CASES])
def test_split_gives_as_many_parts_as_counted_and_loses_nothing(case):
    text = case_text(case)
    parts = tools.split_segments(text)
    assert "".join(parts) == text
    assert len(parts) == case["expected"]["segments"]


def _units_in(part, encoding):
    # The encoding is chosen for the whole message: a part of a UCS-2 message may be all GSM.
    if encoding == "UCS-2":
        return len(part.encode("utf-16-le", "surrogatepass")) // 2
    return tools.count_segments(part).units


@pytest.mark.parametrize("case", SEGMENT_CASES, ids=[case["name"] for case in SEGMENT_CASES])
def test_every_part_fits_its_limit(case):
    expected = case["expected"]
    for part in tools.split_segments(case_text(case)):
        assert _units_in(part, expected["encoding"]) <= expected["per_segment"]


def test_basic_table_has_128_positions():
    assert len(tools.GSM7_BASIC) == 128
    assert len(set(tools.GSM7_BASIC)) == 128


def test_basic_table_positions_follow_the_standard():
    basic = tools.GSM7_BASIC
    assert basic[0x00] == "@"
    assert basic[0x09] == "Ç"
    assert basic[0x0A] == "\n"
    assert basic[0x0D] == "\r"
    assert basic[0x10] == "Δ"
    assert basic[0x1B] == "\x1b"
    assert basic[0x24] == "¤"
    assert basic[0x40] == "¡"
    assert basic[0x60] == "¿"
    assert basic[0x7F] == "à"


def test_extension_table_chars():
    assert sorted(tools.GSM7_EXTENSION) == sorted("\f^{}\\[~]|€")
    assert not set(tools.GSM7_EXTENSION) & set(tools.GSM7_BASIC)


def test_escape_char_is_not_gsm7():
    assert not tools.is_gsm7("\x1b")


def test_every_basic_and_extension_char_is_gsm7():
    usable = tools.GSM7_BASIC.replace("\x1b", "") + tools.GSM7_EXTENSION
    assert tools.is_gsm7(usable)


def test_empty_text_is_gsm7():
    assert tools.is_gsm7("")


def test_none_counts_as_empty():
    assert tools.count_segments(None).segments == 0
    assert tools.split_segments(None) == []


def test_segment_info_is_frozen():
    info = tools.count_segments("abc")
    with pytest.raises(AttributeError):
        info.units = 1


def test_single_part_split_returns_the_text():
    assert tools.split_segments("Olá") == ["Olá"]


def test_escape_pair_stays_in_one_part():
    parts = tools.split_segments("a" * 152 + "€" + "a" * 152)
    assert parts[0] == "a" * 152
    assert parts[1].startswith("€")


def test_surrogate_pair_stays_in_one_part():
    parts = tools.split_segments("a" * 66 + "😀" + "a" * 66)
    assert parts[0] == "a" * 66
    assert parts[1].startswith("😀")
