"""Vonage (formerly Nexmo) SMS API.

- Send: ``POST /sms/json`` (form) with ``api_key``, ``api_secret``, ``from``, ``to`` (digits, no
  "+"), ``text``, ``type=unicode`` when the text is not GSM-7, ``callback``, ``client-ref``.
  Always HTTP 200: ``{"message-count": "N", "messages": [{"status": "0", "message-id", ...}]}``,
  one entry per part of a long message; a non-zero ``status`` is an error code.
- Balance: ``GET /account/get-balance?api_key=..&api_secret=..`` -> ``{"value", "autoReload"}``.
- Delivery receipts: GET query or POST (form or JSON) with ``messageId``, ``status``,
  ``err-code``, ``client-ref`` (our reference, which lets a receipt resolve a send whose answer
  was lost: the SMS API has no lookup call)...; when signed, ``sig`` + ``timestamp``: md5 of
  the sorted ``&key=value`` pairs followed by the signature secret (``md5hash``), or their
  HMAC-SHA256 keyed with the secret.
- Inbound SMS (the number's or account's "Inbound SMS" webhook): GET query or POST with
  ``msisdn`` (the sender, digits), ``to``, ``messageId``, ``text``, ``api-key``; a long message
  comes in parts, each with ``concat=true``, ``concat-ref``, ``concat-total``, ``concat-part``.
  Signed like the receipts when the account has a signature secret. Vonage posts again until
  it gets a 200.
"""

import hashlib
import logging

from .base import (
    Balance,
    BaseProvider,
    DeliveryReport,
    ProviderError,
    SendResult,
    hmac_hex,
    is_gsm7,
    register,
    report_field,
    safe_equal,
    to_float,
)
from .inbound import InboundSms, inbound_number, inbound_part, inbound_text

_logger = logging.getLogger(__name__)

# Send status codes (https://developer.vonage.com/messaging/sms/guides/troubleshooting-sms).
STATUS_CLASS = {
    "1": "rate_limited",  # throttled
    "2": "rejected",  # missing parameters
    "3": "rejected",  # invalid parameters
    "4": "auth",  # invalid credentials
    "5": "temporary",  # internal error
    "6": "rejected",  # invalid message
    "7": "rejected",  # number barred
    "8": "auth",  # partner account barred
    "9": "insufficient_credit",  # partner quota violation
    "10": "rate_limited",  # too many existing binds
    "11": "auth",  # account not enabled for HTTP
    "12": "rejected",  # message too long
    "14": "auth",  # invalid signature
    "15": "rejected",  # invalid sender address
    "22": "rejected",  # invalid network code
    "23": "rejected",  # invalid callback url
    "29": "rejected",  # non-whitelisted destination
    "32": "auth",  # signature and api secret disallowed
    "33": "invalid_number",  # number de-activated
}

# Delivery receipt ``err-code`` values.
DLR_ERROR_CLASS = {
    "1": "unknown",
    "2": "temporary",  # absent subscriber, temporary
    "3": "invalid_number",  # absent subscriber, permanent
    "4": "rejected",  # call barred by user
    "5": "invalid_number",  # portability error
    "6": "rejected",  # anti-spam rejection
    "7": "temporary",  # handset busy
    "8": "temporary",  # network error
    "9": "invalid_number",  # illegal number
    "10": "rejected",  # illegal message
    "11": "invalid_number",  # unroutable
    "12": "invalid_number",  # destination unreachable
    "13": "rejected",  # subscriber age restriction
    "14": "rejected",  # number blocked by carrier
    "15": "rejected",  # prepaid insufficient funds (recipient)
    "16": "insufficient_credit",  # gateway quota exceeded
    "99": "unknown",
}

STATUS_MAP = {
    "accepted": "sent",
    "buffered": "sent",
    "unknown": "sent",
    "delivered": "delivered",
    "expired": "failed",
    "failed": "failed",
    "rejected": "failed",
}


def send_error_class(status, error_text=""):
    """Our error class for a send ``status`` code."""
    status = str(status)
    if status == "3" and "to" in error_text.lower().replace("(", " ").split():
        return "invalid_number"
    return STATUS_CLASS.get(status, "unknown")


def vonage_signature(secret, params, method="md5hash"):
    """Vonage's signature of ``params`` (``sig`` excluded), ``md5hash`` or ``sha256`` method."""
    payload = "".join(
        "&{}={}".format(key, str(params[key]).replace("&", "_").replace("=", "_"))
        for key in sorted(params)
        if key != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((payload + secret).encode("utf-8")).hexdigest()
    if method == "sha256":
        return hmac_hex(secret, payload, hashlib.sha256)
    raise ValueError(f"Unsupported Vonage signature method {method!r}")


@register
class VonageProvider(BaseProvider):
    code = "vonage"
    label = "Vonage"
    sequence = 20
    signature_header = "sig"
    receives_replies = True

    def _credentials(self):
        return {"api_key": self.config.username, "api_secret": self.config.password}

    def get_balance(self):
        response = self._request(
            "GET", self._url("/account/get-balance"), params=self._credentials()
        )
        if response.status_code in (401, 403):
            raise ProviderError("auth", "Vonage refused the API key or secret.", "401")
        if response.status_code != 200:
            raise ProviderError(
                self._transient_error(response) or "unknown",
                f"Vonage balance request failed with HTTP {response.status_code}.",
                str(response.status_code),
            )
        amount = to_float(response.json().get("value"))
        return Balance(amount=amount or 0.0, currency="EUR")

    @staticmethod
    def _parts(response):
        try:
            parts = response.json().get("messages")
        except (ValueError, AttributeError):
            return []
        return parts if isinstance(parts, list) else []

    def _transient_error(self, response):
        transient = super()._transient_error(response)
        if transient or response.status_code != 200:
            return transient
        statuses = {str(part.get("status")) for part in self._parts(response)}
        # Only retry when no part was accepted, so that a retry never sends a part twice.
        if statuses and "0" not in statuses:
            classes = {STATUS_CLASS.get(s) for s in statuses}
            for candidate in ("rate_limited", "temporary"):
                if classes == {candidate}:
                    return candidate
        return ""

    def _send_one(self, message):
        data = {
            **self._credentials(),
            "from": self._sender_for(message),
            "to": message.to.lstrip("+"),
            "text": message.body,
            "client-ref": message.ref[:40],
        }
        if not is_gsm7(message.body):
            data["type"] = "unicode"
        if self.config.callback_url:
            data["callback"] = self.config.callback_url
        response = self._request("POST", self._url("/sms/json"), data=data)
        if response.status_code != 200:
            error_class = self._transient_error(response) or (
                "auth" if response.status_code == 401 else "unknown"
            )
            return self._failed(
                message, error_class, str(response.status_code), f"HTTP {response.status_code}"
            )
        parts = self._parts(response)
        if not parts:
            return self._failed(message, "unknown", "", "Unexpected answer from Vonage")
        for part in parts:
            status = str(part.get("status", ""))
            if status != "0":
                text = part.get("error-text") or ""
                result = self._failed(message, send_error_class(status, text), status, text)
                accepted = [p for p in parts if str(p.get("status")) == "0"]
                if accepted:
                    result.message_id = accepted[0].get("message-id") or ""
                return result
        prices = [to_float(part.get("message-price")) for part in parts]
        return SendResult(
            ref=message.ref,
            ok=True,
            status="sent",
            message_id=parts[0].get("message-id") or "",
            provider_code="0",
            price=sum(p for p in prices if p is not None)
            if any(p is not None for p in prices)
            else None,
        )

    @staticmethod
    def _signed_data(request):
        """The receipt's fields as received, all covered by its ``sig``: the query string of a
        GET, the body of a POST (JSON when the Content-Type says so, else form fields). The
        two are never merged, so nothing unsigned can slip in next to a genuine receipt."""
        if request.method.upper() != "POST":
            data = dict(request.params or {})
        elif "json" in request.header("Content-Type").lower():
            data = request.json_body()
        else:
            data = request.body_params()
        if not isinstance(data, dict):
            raise ValueError("Malformed Vonage webhook (not an object)")
        return data

    @classmethod
    def _receipt_params(cls, request):
        """The receipt's fields as they may be stored (``report_field``)."""
        data = cls._signed_data(request)
        return {key: report_field(data, key) for key in data}

    def verify_signature(self, request):
        secret = self.config.webhook_secret
        if not secret:
            return False  # unsigned receipts are refused
        # Over the values as Vonage sent them, before anything is cleaned for the database;
        # any bytes (a lone surrogate cannot be encoded to be signed) only fail the check.
        try:
            data = self._signed_data(request)
            params = {
                key: str(value)
                for key, value in data.items()
                if isinstance(value, str | int | float) and not isinstance(value, bool)
            }
            signature = str(params.get("sig") or "").lower()
            if not signature or not params.get("timestamp") or len(params) != len(data):
                return False
            method = "md5hash" if len(signature) == 32 else "sha256"
            return safe_equal(signature, vonage_signature(secret, params, method))
        except (ValueError, UnicodeError):
            return False

    def parse_delivery_report(self, request):
        params = self._receipt_params(request)
        message_id = params.get("messageId")
        status = (params.get("status") or "").lower()
        if not message_id or status not in STATUS_MAP:
            raise ValueError("Not a Vonage delivery receipt (messageId/status missing)")
        err_code = str(params.get("err-code") or "0")
        ours = STATUS_MAP[status]
        error_class = ""
        if ours == "failed":
            error_class = DLR_ERROR_CLASS.get(err_code, "unknown")
        return [
            DeliveryReport(
                message_id=message_id,
                status=ours,
                error_class=error_class,
                provider_code=err_code,
                provider_text=status,
                ref=str(params.get("client-ref") or ""),
            )
        ]

    def parse_inbound(self, request):
        params = self._receipt_params(request)
        message_id = params.get("messageId")
        if not message_id or not params.get("msisdn"):
            raise ValueError("Not a Vonage inbound SMS (messageId/msisdn missing)")
        api_key = params.get("api-key")
        if api_key and self.config.username and api_key != self.config.username:
            raise ValueError("The inbound SMS is for another Vonage account")
        ref, part, total = ("", 0, 0)
        if str(params.get("concat") or "").lower() == "true":
            ref, part, total = inbound_part(params, "concat-ref", "concat-part", "concat-total")
        return [
            InboundSms(
                message_id=message_id,
                number=inbound_number(params["msisdn"]),
                body=inbound_text(params, "text"),
                to=params.get("to") or "",
                concat_ref=ref,
                part=part,
                total=total,
            )
        ]
