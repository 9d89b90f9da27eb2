"""SMS length and segment counting (3GPP TS 23.038 / GSM 03.38).

A text is sent in the GSM 7-bit default alphabet when every character is in the basic table or in
the extension table (extension characters take two septets: ESC + the character). Any other
character switches the whole message to UCS-2, counted in UTF-16 code units.

A single SMS holds 160 septets (GSM-7) or 70 units (UCS-2). Longer texts are concatenated and
every part loses room to the user data header: 153 septets or 67 units per part. Phones and
gateways never split an escape pair or a UTF-16 surrogate pair across two parts, so a part may
carry one unit less than its limit; this is why multi-part counts walk the text instead of
dividing the total.

The JavaScript counter (static/src/counter/sms_segments.js) implements the same rules and is
checked against the same cases (tests/unit/segment_cases.json).
"""

from dataclasses import asdict, dataclass

# The 128 positions of the basic table, in code order (0x00-0x7F). Position 0x1B is the escape
# to the extension table and is not a character a text can contain.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67

_BASIC_CHARS = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION_CHARS = frozenset(GSM7_EXTENSION)
_GSM7_CHARS = _BASIC_CHARS | _EXTENSION_CHARS


@dataclass(frozen=True)
class SegmentInfo:
    """How a text is encoded and how many SMS parts it takes.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2. ``chars`` is the number of
    code points. ``per_segment`` is the limit that applies to the current length (single or
    multi-part) and ``remaining`` the units still free in the last part.
    """

    encoding: str
    units: int
    segments: int
    chars: int
    per_segment: int
    remaining: int

    def as_dict(self):
        return asdict(self)


def is_gsm7(text):
    """Whether ``text`` can be sent with the GSM 7-bit default alphabet."""
    return all(char in _GSM7_CHARS for char in text)


def _unit_costs(text):
    """The encoding of ``text`` and the units each of its characters takes."""
    if is_gsm7(text):
        return GSM7, [2 if char in _EXTENSION_CHARS else 1 for char in text]
    return UCS2, [2 if ord(char) > 0xFFFF else 1 for char in text]


def _limits(encoding):
    if encoding == GSM7:
        return GSM7_SINGLE, GSM7_MULTI
    return UCS2_SINGLE, UCS2_MULTI


def _part_lengths(costs, single, multi):
    """Number of characters in each part; a character never straddles two parts."""
    if not costs:
        return []
    if sum(costs) <= single:
        return [len(costs)]
    lengths = []
    used = count = 0
    for cost in costs:
        if used + cost > multi:
            lengths.append(count)
            used = count = 0
        used += cost
        count += 1
    lengths.append(count)
    return lengths


def count_segments(text):
    """Count the SMS parts needed to send ``text``; returns a :class:`SegmentInfo`."""
    text = text or ""
    encoding, costs = _unit_costs(text)
    single, multi = _limits(encoding)
    units = sum(costs)
    if units <= single:
        return SegmentInfo(
            encoding=encoding,
            units=units,
            segments=1 if text else 0,
            chars=len(text),
            per_segment=single,
            remaining=single - units,
        )
    lengths = _part_lengths(costs, single, multi)
    last_units = sum(costs[len(costs) - lengths[-1] :])
    return SegmentInfo(
        encoding=encoding,
        units=units,
        segments=len(lengths),
        chars=len(text),
        per_segment=multi,
        remaining=multi - last_units,
    )


def split_segments(text):
    """Split ``text`` into the parts it is sent as (an empty text gives no part)."""
    text = text or ""
    encoding, costs = _unit_costs(text)
    parts = []
    start = 0
    for length in _part_lengths(costs, *_limits(encoding)):
        parts.append(text[start : start + length])
        start += length
    return parts
