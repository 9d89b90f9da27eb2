"""Make a text "GSM-7 safe" so that it is sent in the cheaper 7-bit alphabet.

Ordinary Portuguese text (á, ã, õ, ç, ê...) is not GSM-7 and would be sent as UCS-2, which holds
less than half as many characters per SMS. Characters that the GSM 03.38 tables do have (é, à, Ç,
ü, €...) are kept as they are; the rest is replaced by its closest GSM-7 spelling. Characters
without one (emoji, CJK, Cyrillic...) are left untouched, so the result may still be UCS-2: the
report tells the caller what changed and how many parts it saves.
"""

import unicodedata
from dataclasses import dataclass

from .sms_segments import SegmentInfo, count_segments, is_gsm7

# Explicit replacements, looked up before the generic accent stripping.
_REPLACEMENTS = {
    # Portuguese letters that are not in the basic table (é, à, Ç are, and are kept).
    "á": "a",
    "â": "a",
    "ã": "a",
    "ç": "c",
    "ê": "e",
    "í": "i",
    "ó": "o",
    "ô": "o",
    "õ": "o",
    "ú": "u",
    "Á": "A",
    "À": "A",
    "Â": "A",
    "Ã": "A",
    "Ê": "E",
    "Í": "I",
    "Ó": "O",
    "Ô": "O",
    "Õ": "O",
    "Ú": "U",
    "ª": "a",
    "º": "o",
    # Typographic punctuation word processors put in.
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u00b4": "'",  # acute accent
    "`": "'",
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u2033": '"',  # double prime
    "\u00ab": '"',  # left guillemet
    "\u00bb": '"',  # right guillemet
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2022": "-",  # bullet
    "\u2026": "...",  # horizontal ellipsis
    "\t": " ",
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u202f": " ",  # narrow no-break space
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\ufeff": "",  # byte order mark
}


# What Odoo's formatting (formatLang, format_amount, format_date, babel) puts into a text: a
# no-break or thin space between an amount and its currency, typographic quotes and dashes.
# Replaced in every SMS built from a template, whatever the account's setting: the reader sees no
# difference, but one such character makes the whole SMS Unicode (70 characters per part).
_FORMATTING = {
    "\u00a0": " ",  # no-break space
    "\u2002": " ",  # en space
    "\u2003": " ",  # em space
    "\u2004": " ",  # three-per-em space
    "\u2005": " ",  # four-per-em space
    "\u2006": " ",  # six-per-em space
    "\u2007": " ",  # figure space
    "\u2008": " ",  # punctuation space
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u200b": "",  # zero-width space
    "\u200e": "",  # left-to-right mark
    "\u200f": "",  # right-to-left mark
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero-width no-break space
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",  # single low-9 quotation mark
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
}
_FORMATTING_TABLE = str.maketrans(_FORMATTING)


def clean_formatting(text):
    """Replace the typographic spaces, quotes and dashes that number, amount and date
    formatting inserts by their plain equivalents (letters and accents are left alone)."""
    if not text:
        return text or ""
    return text.translate(_FORMATTING_TABLE)


def _gsm7_spelling(char):
    """The GSM-7 replacement of one character, or the character itself if there is none."""
    if is_gsm7(char):
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    # Compatibility decomposition, then drop the combining marks: "ë" -> "e", "ﬁ" -> "fi",
    # "²" -> "2". Only used when everything left is GSM-7: "½" decomposes with a fraction slash
    # and stays as it is.
    decomposed = "".join(
        part
        for part in unicodedata.normalize("NFKD", char)
        if not unicodedata.category(part).startswith("M")
    )
    if decomposed and is_gsm7(decomposed):
        return decomposed
    return char


def to_gsm7(text):
    """Replace the characters of ``text`` that GSM-7 lacks by their closest GSM-7 spelling."""
    if not text:
        return text or ""
    # Compose first so that "a" + combining tilde is handled like "ã".
    text = unicodedata.normalize("NFC", text)
    return "".join(_gsm7_spelling(char) for char in text)


@dataclass
class TransliterationReport:
    """The transliterated text and the counts before and after.

    ``saved_segments`` is ``before.segments - after.segments``; it can be negative when the text
    stays UCS-2 (e.g. it keeps an emoji) and a replacement is longer than the original ("…" ->
    "..."), so callers should only offer the transliteration when it is positive.
    """

    text: str
    before: SegmentInfo
    after: SegmentInfo
    saved_segments: int
    changed: bool


def transliteration_report(text):
    """Transliterate ``text`` and say what it changes in encoding and number of parts."""
    text = text or ""
    converted = to_gsm7(text)
    before = count_segments(text)
    after = count_segments(converted)
    return TransliterationReport(
        text=converted,
        before=before,
        after=after,
        saved_segments=before.segments - after.segments,
        changed=converted != text,
    )
