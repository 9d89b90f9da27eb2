# Pure Python helpers, importable without Odoo: keep imports in this package relative.
from .credits import credit_digits
from .phone import (
    NormalizedNumber,
    dedupe_numbers,
    normalize_number,
    split_free_numbers,
)
from .sms_segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentInfo,
    count_segments,
    is_gsm7,
    split_segments,
)
from .transliterate import (
    TransliterationReport,
    clean_formatting,
    to_gsm7,
    transliteration_report,
)

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "NormalizedNumber",
    "SegmentInfo",
    "TransliterationReport",
    "clean_formatting",
    "count_segments",
    "credit_digits",
    "dedupe_numbers",
    "is_gsm7",
    "normalize_number",
    "split_free_numbers",
    "split_segments",
    "to_gsm7",
    "transliteration_report",
]
