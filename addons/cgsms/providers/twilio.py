"""Twilio Programmable Messaging (REST API 2010-04-01).

- Send: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth
  (AccountSid, AuthToken) and form fields ``To``, ``From`` (or ``MessagingServiceSid`` for a
  sender starting with "MG"), ``Body``, ``StatusCallback``. Answers 201 with the Message
  resource (``sid``, ``status``...) or an error ``{"code", "message", "more_info", "status"}``.
- Balance: ``GET /2010-04-01/Accounts/{AccountSid}/Balance.json``.
- Lookup: ``GET /2010-04-01/Accounts/{AccountSid}/Messages.json?To=..&PageSize=..`` lists the
  messages to a number, newest first. Twilio keeps no reference of ours: a message is
  recognised by its number, text and creation time. ``DateSent`` is not used as a filter: it
  stays empty while Twilio holds the message in its queue, and such a message must be found.
- Status callbacks: form POST with ``MessageSid``, ``MessageStatus``, ``ErrorCode``, signed in
  ``X-Twilio-Signature`` = base64(HMAC-SHA1(AuthToken, URL + sorted key+value pairs)).
- Incoming messages (the number's "A message comes in" webhook): form POST, signed the same
  way, with ``MessageSid``, ``AccountSid``, ``From``, ``To``, ``Body``, ``NumMedia``... and
  ``OptOutType`` (``STOP``, ``START``, ``HELP``) when Twilio's Advanced Opt-Out recognised a
  keyword. Answered with empty TwiML (``<Response/>``) so that Twilio sends no reply itself.
"""

import logging
import re
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .base import (
    MAX_REPORT_BYTES,
    Balance,
    BaseProvider,
    DeliveryReport,
    LookupResult,
    ProviderError,
    SendResult,
    hmac_b64,
    register,
    report_field,
    safe_equal,
    to_float,
)
from .inbound import OPT_OUT_TYPES, InboundSms, inbound_number, inbound_text

_logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
MESSAGING_SERVICE_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")
# Messages listed by a lookup: the newest to one number are enough.
LOOKUP_PAGE_SIZE = 50

# Documented error codes (https://www.twilio.com/docs/api/errors) grouped by error class.
ERROR_CODES = {
    "auth": (20003,),
    # "Account not active": Twilio suspends accounts whose balance reached zero.
    "insufficient_credit": (10001, 20005, 30002),
    "invalid_number": (21211, 21214, 21217, 21401, 21407, 21612, 21614, 30005, 30006),
    "rate_limited": (20429, 21611, 30022, 30023),
    "temporary": (20500, 20503, 30001, 30003, 30009),
    "rejected": (
        21212,
        21408,
        21602,
        21604,
        21606,
        21610,
        21617,
        21660,
        30004,
        30007,
        30010,
        30034,
    ),
}
_CODE_CLASS = {code: cls for cls, codes in ERROR_CODES.items() for code in codes}

# MessageStatus values -> our delivery statuses.
STATUS_MAP = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def error_class_for(code, http_status=0):
    """Our error class for a Twilio error ``code`` (falling back on the HTTP status)."""
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = 0
    if code in _CODE_CLASS:
        return _CODE_CLASS[code]
    if http_status in (401, 403):
        return "auth"
    if http_status == 429:
        return "rate_limited"
    if http_status >= 500:
        return "temporary"
    if http_status >= 400:
        return "rejected"
    return "unknown"


def twilio_signature(auth_token, url, params):
    """Twilio's request signature of a form POST to ``url``."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return hmac_b64(auth_token, payload)


@register
class TwilioProvider(BaseProvider):
    code = "twilio"
    label = "Twilio"
    sequence = 10
    signature_header = "X-Twilio-Signature"
    receives_replies = True

    def _account_url(self, resource):
        return self._url(f"/{API_VERSION}/Accounts/{self.config.username}/{resource}")

    def _auth(self):
        return (self.config.username, self.config.password)

    @staticmethod
    def _error(response):
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        code = data.get("code") or ""
        text = data.get("message") or response.reason or ""
        return error_class_for(code, response.status_code), str(code), text

    def get_balance(self):
        response = self._request("GET", self._account_url("Balance.json"), auth=self._auth())
        if response.status_code != 200:
            error_class, code, text = self._error(response)
            raise ProviderError(
                error_class, f"Twilio refused the balance request: {text}", code, text
            )
        data = response.json()
        amount = to_float(data.get("balance"))
        if amount is None:
            return None  # subaccounts have no balance of their own
        return Balance(amount=amount, currency=data.get("currency") or "")

    def validate_sender(self, sender):
        if sender and sender.startswith("MG"):
            if MESSAGING_SERVICE_RE.match(sender):
                return None
            return "A Messaging Service SID is 'MG' followed by 32 hexadecimal characters."
        return super().validate_sender(sender)

    def _send_one(self, message):
        sender = self._sender_for(message)
        data = {"To": message.to, "Body": message.body}
        if sender.startswith("MG"):
            data["MessagingServiceSid"] = sender
        else:
            data["From"] = sender
        if self.config.callback_url:
            data["StatusCallback"] = self.config.callback_url
        response = self._request(
            "POST", self._account_url("Messages.json"), data=data, auth=self._auth()
        )
        if response.status_code not in (200, 201):
            error_class, code, text = self._error(response)
            return self._failed(message, error_class, code, text)
        payload = response.json()
        status = payload.get("status") or ""
        if status in ("failed", "undelivered", "canceled"):
            code = payload.get("error_code")
            return self._failed(
                message, error_class_for(code), code, payload.get("error_message") or status
            )
        price = to_float(payload.get("price"))
        return SendResult(
            ref=message.ref,
            ok=True,
            status="queued" if status in ("queued", "accepted", "scheduled") else "sent",
            message_id=payload.get("sid") or "",
            provider_code=status,
            price=abs(price) if price is not None else None,
        )

    @staticmethod
    def _signed_params(request):
        """What Twilio's signature covers besides the URL: the form fields of a POST body
        (read from the raw body, whatever the Content-Type says). A GET carries its fields
        in the query string, which is part of the signed URL."""
        if request.method.upper() == "POST":
            return request.body_params()
        return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))

    def lookup(self, message, since, known_ids=()):
        """Twilio has no reference of ours: the newest message to the same number with the
        same text, created at or after ``since`` (less a minute of clock skew), and not one of
        ``known_ids`` (ids already recorded for other SMS)."""
        response = self._request(
            "GET",
            self._account_url("Messages.json"),
            params={"To": message.to, "PageSize": LOOKUP_PAGE_SIZE},
            auth=self._auth(),
        )
        if response.status_code != 200:
            error_class, code, text = self._error(response)
            raise ProviderError(error_class, f"Twilio refused the lookup: {text}", code, text)
        try:
            items = response.json().get("messages")
        except (ValueError, AttributeError):
            items = None
        if not isinstance(items, list):
            raise ProviderError("unknown", "Twilio: unexpected answer to a lookup")
        oldest = since - timedelta(minutes=1)
        for item in items:
            if not isinstance(item, dict) or item.get("sid") in known_ids:
                continue
            if item.get("to") != message.to or item.get("body") != message.body:
                continue
            try:
                created = parsedate_to_datetime(item.get("date_created") or "")
            except (TypeError, ValueError):
                continue
            if created.tzinfo:
                created = created.astimezone(UTC).replace(tzinfo=None)
            if created < oldest:
                continue
            return LookupResult(
                found=True,
                message_id=item.get("sid") or "",
                status=STATUS_MAP.get(item.get("status"), "sent"),
            )
        return LookupResult(found=False)

    def verify_signature(self, request):
        signature = request.header(self.signature_header)
        if not signature or not self.config.password:
            return False
        try:
            params = request.body_params() if request.method.upper() == "POST" else {}
        except ValueError:
            return False
        return any(
            safe_equal(signature, twilio_signature(self.config.password, url, params))
            for url in _url_variants(request.url)
        )

    def parse_delivery_report(self, request):
        params = self._signed_params(request)
        message_id = report_field(params, "MessageSid") or report_field(params, "SmsSid")
        status = report_field(params, "MessageStatus") or report_field(params, "SmsStatus")
        if not message_id or status not in STATUS_MAP:
            raise ValueError("Not a Twilio status callback (MessageSid/MessageStatus missing)")
        error_code = report_field(params, "ErrorCode")
        ours = STATUS_MAP[status]
        return [
            DeliveryReport(
                message_id=message_id,
                status=ours,
                error_class=error_class_for(error_code) if ours == "failed" else "",
                provider_code=error_code or status,
                provider_text=status,
            )
        ]

    def parse_inbound(self, request):
        if len(request.body or b"") > MAX_REPORT_BYTES:
            raise ValueError("The incoming message is too large")
        params = self._signed_params(request)
        message_id = report_field(params, "MessageSid") or report_field(params, "SmsSid")
        if not message_id:
            raise ValueError("Not a Twilio incoming message (MessageSid missing)")
        if self.config.username and report_field(params, "AccountSid") != self.config.username:
            raise ValueError("The incoming message is for another Twilio account")
        opt_out = report_field(params, "OptOutType").upper()
        return [
            InboundSms(
                message_id=message_id,
                number=inbound_number(report_field(params, "From")),
                body=inbound_text(params, "Body"),
                to=report_field(params, "To"),
                keyword=OPT_OUT_TYPES.get(opt_out, ""),
            )
        ]


def _url_variants(url):
    """``url`` as received, plus with/without the default port (as Twilio's own SDKs do)."""
    parts = urlsplit(url)
    variants = [url]
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.port is None and default_port:
        netloc = f"{parts.netloc}:{default_port}"
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    elif parts.port == default_port and parts.hostname:
        netloc = parts.netloc.rsplit(":", 1)[0]
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants
