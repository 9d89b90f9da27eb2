"""LusoSMS: a username/password HTTP API in the style of the Portuguese SMS providers.

Protocol (all text is UTF-8; every call carries the credentials in the query string, so only the
path of these URLs is ever logged):

- Send: ``GET /api/send?username=..&password=..&from=..&to=..&message=..[&callback=URL]
  [&ref=..]`` (``to`` in international format, with or without "+"; ``ref``: the sender's own
  reference, up to 64 characters). Answers ``text/plain``: ``OK <message_id>`` or
  ``ERRO <code> <text>``.
- Lookup: ``GET /api/status?username=..&password=..&ref=..`` -> ``OK <message_id> <STATUS>``
  (``SENT``, ``DELIVERED`` or ``UNDELIVERED``) or ``ERRO 010 <text>`` when no message carries
  that reference.
- Balance: ``GET /api/balance?username=..&password=..`` -> ``OK 123.45`` (credits) or ``ERRO ...``.
- Result codes: ``001`` invalid authentication, ``002`` insufficient credit, ``003`` invalid
  number, ``004`` invalid sender, ``005`` empty or too long message, ``010`` message not found
  (lookup), ``009`` too many requests (HTTP 429, may carry ``Retry-After``), ``099`` internal
  error (HTTP 5xx). Other results come with HTTP 200.
- Delivery reports: form POST to the callback URL (``callback`` parameter, else the URL set in
  the account) with ``id``, ``status`` (``SENT``, ``DELIVERED`` or ``UNDELIVERED``) and ``code``
  (``000`` or the reason, same codes as above); header ``X-LusoSMS-Signature`` = hex
  HMAC-SHA256 of the raw body (``id=..&status=..&code=..``, form-urlencoded in that order)
  keyed with the account's webhook secret.
"""

import logging
import re
from urllib.parse import urlencode

from .base import (
    Balance,
    BaseProvider,
    DeliveryReport,
    LookupResult,
    ProviderError,
    SendResult,
    hmac_hex,
    register,
    safe_equal,
    to_float,
)

_logger = logging.getLogger(__name__)

CODE_CLASS = {
    "001": "auth",
    "002": "insufficient_credit",
    "003": "invalid_number",
    "004": "rejected",
    "005": "rejected",
    "009": "rate_limited",
    "099": "temporary",
}
STATUS_MAP = {"SENT": "sent", "DELIVERED": "delivered", "UNDELIVERED": "failed"}
ANSWER_RE = re.compile(r"^(OK|ERRO)\s+(\S+)\s*(.*)$", re.DOTALL)
SENDER_RE = re.compile(r"^[A-Za-z0-9]{1,11}$")


def parse_answer(text):
    """Split an answer into ``(ok, value_or_code, error_text)``; ValueError if not one."""
    match = ANSWER_RE.match((text or "").strip())
    if not match:
        raise ValueError("Unexpected LusoSMS answer")
    return match.group(1) == "OK", match.group(2), match.group(3).strip()


@register
class LusoSmsProvider(BaseProvider):
    code = "lusosms"
    label = "LusoSMS"
    sequence = 30
    signature_header = "X-LusoSMS-Signature"

    def _credentials(self):
        return {"username": self.config.username, "password": self.config.password}

    def _transient_error(self, response):
        transient = super()._transient_error(response)
        if transient:
            return transient
        try:
            ok, code, _text = parse_answer(response.text)
        except ValueError:
            return ""
        return "" if ok else {"009": "rate_limited", "099": "temporary"}.get(code, "")

    def get_balance(self):
        response = self._request("GET", self._url("/api/balance"), params=self._credentials())
        try:
            ok, value, text = parse_answer(response.text)
        except ValueError:
            raise ProviderError(
                self._transient_error(response) or "unknown",
                f"LusoSMS balance request failed (HTTP {response.status_code}).",
                str(response.status_code),
            ) from None
        if not ok:
            raise ProviderError(
                CODE_CLASS.get(value, "unknown"), f"LusoSMS: {value} {text}", value, text
            )
        amount = to_float(value)
        if amount is None:
            raise ProviderError("unknown", "LusoSMS returned an unreadable balance.")
        return Balance(amount=amount, currency="credits")

    def validate_sender(self, sender):
        if not sender:
            return None  # the account's default sender is used
        if not SENDER_RE.match(sender):
            return "The sender name may only contain letters and digits, 11 characters at most."
        return None

    def _send_one(self, message):
        params = {
            **self._credentials(),
            "from": self._sender_for(message),
            "to": message.to,
            "message": message.body,
            "ref": message.ref,
        }
        if self.config.callback_url:
            params["callback"] = self.config.callback_url
        response = self._request("GET", self._url("/api/send"), params=params, idempotent=False)
        try:
            ok, value, text = parse_answer(response.text)
        except ValueError:
            error_class = self._transient_error(response) or "unknown"
            return self._failed(
                message,
                error_class,
                str(response.status_code),
                f"Unexpected answer (HTTP {response.status_code})",
            )
        if not ok:
            return self._failed(message, CODE_CLASS.get(value, "unknown"), value, text)
        return SendResult(ref=message.ref, ok=True, status="sent", message_id=value)

    def lookup(self, message, since, known_ids=()):
        response = self._request(
            "GET", self._url("/api/status"), params={**self._credentials(), "ref": message.ref}
        )
        try:
            ok, value, text = parse_answer(response.text)
        except ValueError:
            raise ProviderError(
                self._transient_error(response) or "unknown",
                f"LusoSMS lookup failed (HTTP {response.status_code}).",
                str(response.status_code),
            ) from None
        if not ok:
            if value == "010":
                return LookupResult(found=False)
            raise ProviderError(
                CODE_CLASS.get(value, "unknown"), f"LusoSMS: {value} {text}", value, text
            )
        return LookupResult(
            found=True,
            message_id=value,
            status=STATUS_MAP.get(text.split()[0] if text else "", "sent"),
        )

    def verify_signature(self, request):
        secret = self.config.webhook_secret
        signature = request.header(self.signature_header)
        # Frameworks that parse the form first may no longer have the raw body: rebuild it
        # from the form values, which keep the order and encoding they were sent with.
        body = request.body or urlencode(request.form_params()).encode("utf-8")
        if not secret or not signature or not body:
            return False
        return safe_equal(signature.lower(), hmac_hex(secret, body))

    def parse_delivery_report(self, request):
        params = request.form_params() or request.params
        message_id = params.get("id")
        status = (params.get("status") or "").upper()
        if not message_id or status not in STATUS_MAP:
            raise ValueError("Not a LusoSMS delivery report (id/status missing)")
        code = params.get("code") or "000"
        ours = STATUS_MAP[status]
        return [
            DeliveryReport(
                message_id=message_id,
                status=ours,
                error_class=CODE_CLASS.get(code, "unknown") if ours == "failed" else "",
                provider_code=code,
                provider_text=status,
            )
        ]
