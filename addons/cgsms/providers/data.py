"""The small vocabulary every adapter speaks: error classes, connection settings, one message
out, its result, a lookup, a delivery report, and the error of a whole call."""

import re
from dataclasses import dataclass, fields

from .redaction import redact

ERROR_CLASSES = (
    "auth",
    "insufficient_credit",
    "invalid_number",
    "rate_limited",
    "temporary",
    "rejected",
    "unknown",
)

# Errors worth retrying inside one call; everything else is final for that call.
RETRYABLE_CLASSES = ("temporary", "rate_limited")
# A failed send of one of these classes certainly did not leave: the provider refused it or
# was never reached. "unknown" is the only class where the SMS may have been taken.
NOT_TAKEN_CLASSES = ("auth", "insufficient_credit", "invalid_number", "rate_limited", "temporary")

E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
ALNUM_SENDER_RE = re.compile(r"^[A-Za-z0-9 ]+$")


@dataclass
class ProviderConfig:
    """Connection settings of one provider account."""

    base_url: str
    username: str = ""
    password: str = ""  # secret, token or API secret depending on the provider
    sender: str = ""
    callback_url: str = ""
    webhook_secret: str = ""  # signs delivery reports (Vonage signature secret, HMAC key)
    timeout: float = 15.0
    retries: int = 2
    backoff: float = 0.5

    _SECRET_FIELDS = ("password", "webhook_secret")

    def __repr__(self):
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._SECRET_FIELDS and value:
                value = "***"
            parts.append(f"{f.name}={value!r}")
        return f"ProviderConfig({', '.join(parts)})"

    __str__ = __repr__


@dataclass
class Balance:
    """The provider's own balance (money or credits, in ``currency``)."""

    amount: float
    currency: str = ""


@dataclass
class OutgoingSms:
    """One message to send: ``ref`` is the caller's reference, ``to`` an E.164 number."""

    ref: str
    to: str
    body: str
    sender: str = ""


@dataclass
class SendResult:
    """Outcome of one message: status is ``sent``, ``queued`` or ``failed``."""

    ref: str
    ok: bool
    status: str
    message_id: str = ""
    error_class: str = ""
    provider_code: str = ""
    provider_text: str = ""
    price: float | None = None
    retry_after: float | None = None  # seconds the provider asked to wait (429)

    @property
    def maybe_taken(self):
        """True when the SMS may have reached the provider although the call failed (no
        answer, dropped connection, 5xx...): it must not be sent again before a lookup."""
        return not self.ok and self.error_class not in (*NOT_TAKEN_CLASSES, "rejected")


@dataclass
class LookupResult:
    """What the provider knows of a message we may have sent: ``found`` with its id and our
    delivery status (``sent``, ``delivered``, ``failed``), or not found (safe to send again)."""

    found: bool
    message_id: str = ""
    status: str = ""


@dataclass
class DeliveryReport:
    """A delivery status received from the provider: ``sent``, ``delivered`` or ``failed``."""

    message_id: str
    status: str
    error_class: str = ""
    provider_code: str = ""
    provider_text: str = ""
    ref: str = ""  # our reference, when the provider echoes it (Vonage ``client-ref``)


class ProviderError(Exception):
    """A failure of a whole call (not of one message): bad credentials, provider down..."""

    def __init__(self, error_class, message, provider_code="", provider_text="", retry_after=None):
        if error_class not in ERROR_CLASSES:
            error_class = "unknown"
        self.error_class = error_class
        self.retry_after = retry_after
        self.provider_code = str(provider_code or "")
        self.provider_text = redact(provider_text or "")
        super().__init__(redact(message))


def to_float(value):
    """``float(value)`` or None for empty/invalid values."""
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
