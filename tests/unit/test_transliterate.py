"""GSM-7 transliteration (addons/cgsms/tools/transliterate.py) against the shared cases."""

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


TRANSLIT_CASES = CASES["transliteration"]
REPORT_CASES = CASES["reports"]


@pytest.mark.parametrize("case", TRANSLIT_CASES, ids=[case["name"] for case in TRANSLIT_CASES])
def test_transliteration_matches_shared_case(case):
    assert tools.to_gsm7(case_text(case)) == case["expected"]


@pytest.mark.parametrize("case", REPORT_CASES, ids=[case["name"] for case in REPORT_CASES])
def test_report_matches_shared_case(case):
    report = tools.transliteration_report(case_text(case))
    expected = case["expected"]
    assert {
        "changed": report.changed,
        "before_encoding": report.before.encoding,
        "after_encoding": report.after.encoding,
        "before_segments": report.before.segments,
        "after_segments": report.after.segments,
        "saved_segments": report.saved_segments,
    } == expected


def test_portuguese_letters_become_gsm7():
    assert tools.is_gsm7(tools.to_gsm7("àáâãçéêíóôõúÀÁÂÃÇÉÊÍÓÔÕÚªº"))


def test_gsm7_text_is_returned_unchanged():
    text = tools.GSM7_BASIC.replace("\x1b", "") + tools.GSM7_EXTENSION
    assert tools.to_gsm7(text) == text


def test_transliteration_is_idempotent():
    once = tools.to_gsm7("\u201cPromoção\u201d \u2013 já\u2026 😀")
    assert tools.to_gsm7(once) == once


def test_emoji_text_stays_ucs2():
    report = tools.transliteration_report("Olá 😀")
    assert report.text == "Ola 😀"
    assert report.after.encoding == "UCS-2"


def test_report_carries_the_transliterated_text():
    assert tools.transliteration_report("situação").text == "situacao"


def test_report_of_unchanged_text_is_not_changed():
    report = tools.transliteration_report("Bom dia")
    assert not report.changed
    assert report.before == report.after


def test_none_is_treated_as_empty():
    assert tools.to_gsm7(None) == ""
    assert tools.transliteration_report(None).saved_segments == 0


def test_clean_formatting_makes_formatted_amount_plain_and_keeps_accents():
    # Babel's pt_PT amount ("49,90 €" with a no-break space), a narrow no-break space as
    # thousands separator, quotes and an en dash from date ranges.
    text = (
        "Fatura n.\u00ba 1 de 1\u202f249,90\u00a0\u20ac \u2013 \u201cpaga\u201d at\u00e9 1\u20092"
    )
    cleaned = tools.clean_formatting(text)
    assert cleaned == 'Fatura n.\u00ba 1 de 1 249,90 \u20ac - "paga" at\u00e9 1 2'
    assert tools.count_segments(tools.clean_formatting("Total: 49,90\u00a0\u20ac")).encoding == (
        "GSM-7"
    )
