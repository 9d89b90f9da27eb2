"""Phone number helpers around the ``phonenumbers`` package.

Every recipient number is normalised to E.164 before sending, so that the same number typed
in different ways ("912 345 678", "+351912345678", "00351 912-345-678") is recognised as one.
"""

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import phonenumberutil as _util

REASON_MISSING = "missing"
REASON_INVALID = "invalid"
REASON_NOT_MOBILE = "not_mobile"

# Valid numbers of these types cannot receive an SMS. Mobile, fixed-line-or-mobile (regions
# where the two share a numbering range, e.g. the US), pager, personal and VoIP numbers can.
_NOT_MOBILE_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
    }
)

# Distinct number strings whose parsing is kept per process (about 200 bytes each).
_CACHE_SIZE = 50000
# phonenumbers' type check of a national number against its region's metadata.
_TYPE_HELPER = getattr(_util, "_number_type_helper", None)
# Separators people type inside a number; a leading "+" is kept.
_NUMBER_NOISE = re.compile(r"[\s.\-()/\[\]]+")
# Separators between numbers in a free-text list. Spaces are not one: "912 345 678" is a number.
_LIST_SEPARATORS = re.compile(r"[;,\r\n]+")


@dataclass
class NormalizedNumber:
    """A number as typed (``raw``) and its E.164 form.

    ``e164`` is set whenever the number could be parsed as a valid number, also when it is
    rejected as ``not_mobile``; ``valid`` says whether it can be sent to. ``reason`` is "" for a
    valid number, else "missing", "invalid" or "not_mobile". ``country_code`` is the ISO code of
    the region the number belongs to ("PT"), "" when unknown.
    """

    raw: str
    e164: str = ""
    valid: bool = False
    reason: str = ""
    country_code: str = ""
    # phonenumbers' PhoneNumberType and the international calling code, for a parsed number.
    number_type: int = -1
    calling_code: int = 0


def _clean(raw):
    cleaned = _NUMBER_NOISE.sub("", raw)
    if cleaned.startswith("00"):
        # International call prefix used across Europe; phonenumbers only understands it when
        # the default region uses it, so spell it the universal way.
        cleaned = "+" + cleaned[2:]
    return cleaned


def normalize_number(raw, country_code=None, mobile_only=False):
    """Parse ``raw`` into a :class:`NormalizedNumber`.

    ``country_code`` (ISO 3166 alpha-2, e.g. "PT") is the region national numbers are read in;
    without it only international numbers ("+351...", "00351...") can be parsed. With
    ``mobile_only`` a valid number that cannot receive SMS (a fixed line...) is rejected with
    the reason "not_mobile".
    """
    raw = raw or ""
    cleaned = _clean(raw)
    if not cleaned:
        return NormalizedNumber(raw=raw, reason=REASON_MISSING)
    region = (country_code or "").strip().upper() or None
    parsed = _parse(cleaned, region)
    if parsed is None:
        return NormalizedNumber(raw=raw, reason=REASON_INVALID)
    e164, number_region, number_type, calling_code = parsed
    result = NormalizedNumber(
        raw=raw,
        e164=e164,
        valid=True,
        country_code=number_region,
        number_type=number_type,
        calling_code=calling_code,
    )
    if mobile_only and number_type in _NOT_MOBILE_TYPES:
        result.valid = False
        result.reason = REASON_NOT_MOBILE
    return result


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse(cleaned, region):
    """(E.164, region, number type, calling code) of a valid number, else None; once per
    distinct number string: the delivery engine checks every SMS again as it leaves, and
    reminders and re-sends go to the same numbers. Each step of phonenumbers' validity check
    is made once (``is_valid_number``, ``number_type`` and ``region_code_for_number`` would
    each find the number's region and type again)."""
    try:
        parsed = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    number_region = phonenumbers.region_code_for_number(parsed)
    if not number_region:
        return None
    metadata = _util.PhoneMetadata.metadata_for_region_or_calling_code(
        parsed.country_code, number_region
    )
    if metadata is None:
        return None
    if (
        number_region != _util.REGION_CODE_FOR_NON_GEO_ENTITY
        and parsed.country_code != _util.country_code_for_valid_region(number_region)
    ):
        return None
    national = _util.national_significant_number(parsed)
    if _TYPE_HELPER is not None:
        number_type = _TYPE_HELPER(national, metadata)
    else:  # a phonenumbers without its helper: the public call (finds the region again)
        number_type = phonenumbers.number_type(parsed)
    if number_type == PhoneNumberType.UNKNOWN:
        return None
    # E.164 is the calling code and the national significant number (format_number's way).
    return f"+{parsed.country_code}{national}", number_region, number_type, parsed.country_code


def split_free_numbers(text):
    """Split a typed list of numbers on ";", "," and line breaks; blanks are dropped."""
    if not text:
        return []
    return [item.strip() for item in _LIST_SEPARATORS.split(text) if item.strip()]


def dedupe_numbers(items):
    """Drop repeated numbers, keeping the first occurrence and the original order.

    ``items`` are :class:`NormalizedNumber` objects or strings (already normalised, e.g. E.164).
    Valid numbers are compared by their E.164 form, so "912 345 678" and "+351912345678" count
    once; numbers without one (invalid, missing) are compared by their stripped raw text, so
    that each distinct bad entry is reported once. Returns a new list of the kept items.
    """
    seen = set()
    unique = []
    for item in items:
        if isinstance(item, NormalizedNumber):
            key = item.e164 or item.raw.strip()
        else:
            key = (item or "").strip()
        if key in seen:
            continue
        seen.add(key)
        unique.append(item)
    return unique


def regions_under_prefix(prefix):
    """The regions (ISO codes) of the numbers that start with the E.164 ``prefix``, as
    phonenumbers places them: "+44" is Great Britain, Guernsey, Jersey and the Isle of Man;
    "+1" every country of the North American plan. A prefix longer than its calling code
    keeps the regions whose example numbers start with it, when any does."""
    digits = (prefix or "").lstrip("+")
    for length in (1, 2, 3):
        code = int(digits[:length]) if digits[:length].isdigit() else 0
        regions = [r for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()) if r != "001"]
        if regions:
            break
    else:
        return []
    if len(digits) > length:
        under = [
            region
            for region in regions
            if any(
                example
                and phonenumbers.format_number(
                    example, phonenumbers.PhoneNumberFormat.E164
                ).startswith("+" + digits)
                for example in (
                    phonenumbers.example_number_for_type(region, kind)
                    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
                )
            )
        ]
        regions = under or regions
    return sorted(regions)
