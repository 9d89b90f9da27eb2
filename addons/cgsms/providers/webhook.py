"""What a webhook brings in: the request as received, its bounds, the cleaning of its text
fields, and the signature helpers the adapters check it with."""

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

# Delivery reports bigger than this, or carrying more reports than this, are refused: no
# provider sends anything close, and parsing must stay cheap under a burst.
MAX_REPORT_BYTES = 64 * 1024
MAX_REPORTS_PER_REQUEST = 100
# Longest value kept from a report field (ids, codes, texts).
MAX_FIELD_LENGTH = 256


@dataclass
class WebhookRequest:
    """An incoming HTTP request, independent of the web framework that received it.

    ``url`` is the full URL as received (with query string); ``params`` holds the query-string
    parameters only; ``body`` is the raw body, exactly as received. Adapters read a report only
    from what its signature covers: the raw body (``body_params``/``json_body``), or the query
    string of a signed URL. They never merge the two, and never let the Content-Type header
    decide which of them is read.
    """

    method: str
    url: str
    headers: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    body: bytes = b""

    def header(self, name):
        """Case-insensitive header lookup."""
        name = name.lower()
        for key, value in (self.headers or {}).items():
            if key.lower() == name:
                return value
        return ""

    def body_params(self):
        """The raw body read as ``application/x-www-form-urlencoded``, whatever the
        Content-Type says; ValueError when it is not text."""
        try:
            text = (self.body or b"").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("The report body is not UTF-8 text") from exc
        return dict(parse_qsl(text, keep_blank_values=True))

    def form_params(self):
        """Alias of ``body_params``: the form fields are the ones in the raw body only."""
        return self.body_params()

    def json_body(self):
        """The raw body decoded as JSON; ValueError when it is not JSON or nested too deep."""
        if not self.body:
            raise ValueError("The report body is empty")
        if len(self.body) > MAX_REPORT_BYTES:
            raise ValueError("The report body is too large")
        try:
            return json.loads(self.body)
        except RecursionError as exc:
            raise ValueError("The report body is nested too deeply") from exc
        except ValueError as exc:
            raise ValueError("The report body is not valid JSON") from exc


# What a webhook's text may not carry into the database: NUL and the other control characters
# (PostgreSQL refuses NUL; the others are invisible), lone UTF-16 surrogates (not encodable as
# UTF-8: JSON's "\ud800" decodes to one). Tabs and line breaks stay.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


def clean_text(value):
    """``value`` as it may be stored: control characters removed, each lone surrogate
    replaced by U+FFFD (the replacement character, as an undecodable byte is)."""
    if not isinstance(value, str):
        return value
    return _SURROGATE_RE.sub("\ufffd", _CONTROL_RE.sub("", value))


def report_field(data, key, default=""):
    """``data[key]`` as a short string, cleaned (``clean_text``): ``default`` when missing or
    empty; ValueError when ``data`` is not an object, or the value a list, an object or
    anything but text or a number."""
    if not isinstance(data, dict):
        raise ValueError("The report is not an object")
    value = data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"The field {key!r} of the report must be text")
    value = clean_text(str(value))
    if len(value) > MAX_FIELD_LENGTH:
        raise ValueError(f"The field {key!r} of the report is too long")
    return value or default


def hmac_hex(secret, payload, digestmod=hashlib.sha256):
    """Hex HMAC of ``payload`` (bytes or str) keyed with ``secret``."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), payload, digestmod).hexdigest()


def hmac_b64(secret, payload, digestmod=hashlib.sha1):
    """Base64 HMAC of ``payload`` keyed with ``secret`` (Twilio's signature format)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), payload, digestmod).digest()
    return base64.b64encode(digest).decode("ascii")


def safe_equal(a, b):
    """Constant-time comparison of two strings."""
    return hmac.compare_digest((a or "").encode("utf-8"), (b or "").encode("utf-8"))
