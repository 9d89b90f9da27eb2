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
"""

import json
import logging

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
        secret = self.config.webhook_secret
        signature = request.header(self.signature_header)
        if not secret or not signature or not request.body:
            return False
        return safe_equal(signature.lower(), hmac_hex(secret, request.body))

    def parse_delivery_report(self, request):
        try:
            data = json.loads(request.body or b"")
        except ValueError as exc:
            raise ValueError("Malformed sandbox delivery report (invalid JSON)") from exc
        items = data if isinstance(data, list) else [data]
        reports = []
        for item in items:
            if not isinstance(item, dict) or not item.get("id"):
                raise ValueError("Malformed sandbox delivery report (id missing)")
            status = STATUS_MAP.get(item.get("status"))
            if not status:
                raise ValueError("Malformed sandbox delivery report (unknown status)")
            code = str(item.get("error_code") or "")
            reports.append(
                DeliveryReport(
                    message_id=str(item["id"]),
                    status=status,
                    error_class=_dlr_error_class(code) if status == "failed" else "",
                    provider_code=code,
                    provider_text=item.get("error_message") or item.get("status"),
                )
            )
        return reports


def _dlr_error_class(code):
    if code in ("invalid_number", "unknown_subscriber"):
        return "invalid_number"
    if code in ("absent_subscriber", "network_error"):
        return "temporary"
    if code in ("blocked", "rejected", "spam"):
        return "rejected"
    return "unknown"
