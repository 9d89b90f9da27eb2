"""Sandbox: the project's own demo provider, served by the fake gateway.

- Send: ``POST /sandbox/v1/messages`` with ``Authorization: Bearer <token>`` and JSON
  ``{"from", "to", "text", "callback_url", "ref"}`` -> 201 ``{"id", "status": "queued",
  "segments", "price"}``.
- Lookup: ``GET /sandbox/v1/messages?ref=<ref>`` -> 200 ``{"messages": [{"id", "ref", "to",
  "status"}]}`` (empty list: no message with that reference).
- Balance: ``GET /sandbox/v1/balance`` -> ``{"balance": 1000.0, "currency": "credits"}``.
- Errors: ``{"error": {"code", "message"}}`` with HTTP 401 (auth), 402 (insufficient credit),
  422 (invalid number or sender), 429 (rate limited, ``Retry-After``) or 5xx.
- Delivery reports: JSON POST ``{"id", "status": "delivered"|"failed", "error_code",
  "error_message"}`` with ``X-Sandbox-Signature`` = hex HMAC-SHA256 of the body (webhook secret).
- Replies: JSON POST ``{"id", "from", "to", "text"}`` to the account's inbound URL, signed the
  same way.
"""

import logging

from .base import (
    MAX_REPORTS_PER_REQUEST,
    Balance,
    BaseProvider,
    DeliveryReport,
    LookupResult,
    ProviderError,
    SendResult,
    hmac_hex,
    register,
    report_field,
    safe_equal,
    to_float,
)
from .inbound import InboundSms, inbound_number, inbound_text

_logger = logging.getLogger(__name__)

HTTP_CLASS = {
    401: "auth",
    403: "auth",
    402: "insufficient_credit",
    422: "invalid_number",
    429: "rate_limited",
}
STATUS_MAP = {"queued": "sent", "sent": "sent", "delivered": "delivered", "failed": "failed"}


def _error_details(response):
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or response.status_code)
    return code, error.get("message") or f"HTTP {response.status_code}"


def error_class_for(status_code, code=""):
    """Our error class for a sandbox error answer."""
    if status_code == 422 and code != "invalid_number":
        return "rejected"
    if status_code >= 500:
        return "temporary"
    return HTTP_CLASS.get(status_code, "rejected" if status_code >= 400 else "unknown")


@register
class SandboxProvider(BaseProvider):
    code = "sandbox"
    label = "Sandbox (demo)"
    sequence = 90
    signature_header = "X-Sandbox-Signature"
    receives_replies = True

    def _headers(self):
        return {"Authorization": f"Bearer {self.config.password}"}

    def get_balance(self):
        response = self._request("GET", self._url("/sandbox/v1/balance"), headers=self._headers())
        if response.status_code != 200:
            code, text = _error_details(response)
            raise ProviderError(
                error_class_for(response.status_code, code), f"Sandbox: {text}", code, text
            )
        data = response.json()
        return Balance(
            amount=to_float(data.get("balance")) or 0.0, currency=data.get("currency") or ""
        )

    def validate_sender(self, sender):
        if not sender:
            return None
        return super().validate_sender(sender)

    def _send_one(self, message):
        payload = {
            "from": self._sender_for(message),
            "to": message.to,
            "text": message.body,
            "ref": message.ref,
        }
        if self.config.callback_url:
            payload["callback_url"] = self.config.callback_url
        response = self._request(
            "POST", self._url("/sandbox/v1/messages"), json=payload, headers=self._headers()
        )
        if response.status_code not in (200, 201):
            code, text = _error_details(response)
            return self._failed(message, error_class_for(response.status_code, code), code, text)
        data = response.json()
        return SendResult(
            ref=message.ref,
            ok=True,
            status="queued" if data.get("status") == "queued" else "sent",
            message_id=str(data.get("id") or ""),
            provider_code=data.get("status") or "",
            price=to_float(data.get("price")),
        )

    def lookup(self, message, since, known_ids=()):
        response = self._request(
            "GET",
            self._url("/sandbox/v1/messages"),
            params={"ref": message.ref},
            headers=self._headers(),
        )
        if response.status_code != 200:
            code, text = _error_details(response)
            raise ProviderError(
                error_class_for(response.status_code, code), f"Sandbox: {text}", code, text
            )
        try:
            items = response.json().get("messages")
        except (ValueError, AttributeError):
            items = None
        if not isinstance(items, list):
            raise ProviderError("unknown", "Sandbox: unexpected answer to a lookup")
        for item in items:
            if isinstance(item, dict) and item.get("ref") == message.ref and item.get("id"):
                return LookupResult(
                    found=True,
                    message_id=str(item["id"]),
                    status=STATUS_MAP.get(item.get("status"), "sent"),
                )
        return LookupResult(found=False)

    def verify_signature(self, request):
        # The signature covers the raw body only; the report is read from that body alone.
        secret = self.config.webhook_secret
        signature = request.header(self.signature_header)
        if not secret or not signature or not request.body:
            return False
        return safe_equal(signature.lower(), hmac_hex(secret, request.body))

    def parse_delivery_report(self, request):
        data = request.json_body()
        items = data if isinstance(data, list) else [data]
        if len(items) > MAX_REPORTS_PER_REQUEST:
            raise ValueError("Too many reports in one sandbox delivery report")
        reports = []
        for item in items:
            if not isinstance(item, dict):
                raise ValueError("Malformed sandbox delivery report (not an object)")
            message_id = report_field(item, "id")
            if not message_id:
                raise ValueError("Malformed sandbox delivery report (id missing)")
            native = report_field(item, "status")
            status = STATUS_MAP.get(native)
            if not status:
                raise ValueError("Malformed sandbox delivery report (unknown status)")
            code = report_field(item, "error_code")
            reports.append(
                DeliveryReport(
                    message_id=message_id,
                    status=status,
                    error_class=_dlr_error_class(code) if status == "failed" else "",
                    provider_code=code,
                    provider_text=report_field(item, "error_message") or native,
                    ref=report_field(item, "ref"),
                )
            )
        return reports

    def parse_inbound(self, request):
        data = request.json_body()
        if not isinstance(data, dict):
            raise ValueError("Malformed sandbox reply (not an object)")
        message_id = report_field(data, "id")
        if not message_id:
            raise ValueError("Malformed sandbox reply (id missing)")
        return [
            InboundSms(
                message_id=message_id,
                number=inbound_number(report_field(data, "from")),
                body=inbound_text(data, "text"),
                to=report_field(data, "to"),
            )
        ]


def _dlr_error_class(code):
    if code in ("invalid_number", "unknown_subscriber"):
        return "invalid_number"
    if code in ("absent_subscriber", "network_error"):
        return "temporary"
    if code in ("blocked", "rejected", "spam"):
        return "rejected"
    return "unknown"
