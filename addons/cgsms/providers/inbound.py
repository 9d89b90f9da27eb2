"""Replies: the SMS a customer sends back, as each provider's inbound webhook carries it.

Pure Python (no Odoo import). An adapter that receives replies implements
``parse_inbound(request) -> [InboundSms]`` beside ``parse_delivery_report``; the signature of
an inbound webhook is checked by the same ``verify_signature`` as the delivery reports (each
provider signs both the same way). ``keyword_of`` tells an opt-out (STOP) or opt-in (START)
from an ordinary answer.
"""

import re
from dataclasses import dataclass

from .base import E164_RE, clean_text, report_field

# A reply longer than this is refused (Twilio joins up to 10 parts: 1600 characters).
MAX_TEXT_LENGTH = 4096
# Parts of one long Vonage reply (the SMS standard allows 255).
MAX_PARTS = 255

# Words that stop or restart the SMS to a number: ours (Portuguese and English), then Twilio's
# own opt-out and opt-in words, which Twilio applies on its side too.
DEFAULT_STOP_KEYWORDS = "STOP, PARAR, CANCELAR, SAIR, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT"
DEFAULT_START_KEYWORDS = "START, INICIAR, YES, UNSTOP"
# Twilio's OptOutType parameter (Advanced Opt-Out) -> our keyword.
OPT_OUT_TYPES = {"STOP": "stop", "START": "start", "HELP": "help"}

_EDGE_PUNCTUATION_RE = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


@dataclass
class InboundSms:
    """One SMS received from ``number`` (E.164) on our number ``to``.

    ``message_id`` is the provider's id, unique per account (a replay carries the same one).
    ``keyword`` is set when the provider itself classified the text (Twilio's OptOutType).
    A part of a long message carries ``concat_ref``, ``part`` (from 1) and ``total``."""

    message_id: str
    number: str
    body: str = ""
    to: str = ""
    keyword: str = ""
    concat_ref: str = ""
    part: int = 0
    total: int = 0


def inbound_text(data, key):
    """``data[key]`` as text of at most ``MAX_TEXT_LENGTH`` characters, cleaned as the send
    side keeps it (``clean_text``: no control character, no lone surrogate); ValueError
    when it is not text or too long."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"The field {key!r} of the reply must be text")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"The field {key!r} of the reply is too long")
    return clean_text(value)


def inbound_number(value):
    """``value`` (with or without "+") as an E.164 number; ValueError when it is not one."""
    number = (value or "").strip().replace(" ", "")
    if number and not number.startswith("+"):
        number = "+" + number
    if not E164_RE.match(number):
        raise ValueError("The sender of the reply is not a phone number")
    return number


def inbound_part(data, ref_key, part_key, total_key):
    """``(concat_ref, part, total)`` of a part of a long message, ``("", 0, 0)`` for a
    whole message; ValueError when the numbers make no sense."""
    ref = report_field(data, ref_key)
    if not ref:
        return "", 0, 0
    try:
        part = int(report_field(data, part_key))
        total = int(report_field(data, total_key))
    except ValueError as exc:
        raise ValueError("The part numbers of the reply are not numbers") from exc
    if not 1 <= part <= total <= MAX_PARTS:
        raise ValueError("The part numbers of the reply are out of range")
    return ref, part, total


def split_keywords(text):
    """The keywords of a comma- (or space-) separated list, folded for comparison."""
    return {word.casefold() for word in re.split(r"[,;\s]+", text or "") if word}


def keyword_of(body, stop_keywords, start_keywords):
    """``"stop"``, ``"start"`` or ``""``: a reply is a keyword when its whole text (any case,
    surrounding spaces and punctuation ignored) is one of the words, as Twilio reads them."""
    word = _EDGE_PUNCTUATION_RE.sub("", (body or "").strip()).casefold()
    if not word:
        return ""
    if word in split_keywords(stop_keywords):
        return "stop"
    if word in split_keywords(start_keywords):
        return "start"
    return ""
