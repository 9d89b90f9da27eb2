"""Twilio's Programmable Messaging API: send, balance, the message list, status callbacks."""

import contextlib
from base64 import b64decode
from datetime import UTC, datetime

from .addon import E164_RE, twilio_signature
from .common import json_reply

PROVIDER = "twilio"
# (method, path prefix, path suffix, kind): the handler of a kind is this module's function
ROUTES = (
    ("POST", "/2010-04-01/Accounts/", "/Messages.json", "send"),
    ("GET", "/2010-04-01/Accounts/", "/Messages.json", "lookup"),
    ("GET", "/2010-04-01/Accounts/", "/Balance.json", "balance"),
)


def _reply(status, code, message):
    return json_reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def error(mode, kind):
    """Twilio's own answer to a failure of ``mode``."""
    if mode == "rate_limited":
        body = {
            "code": 20429,
            "message": "Too Many Requests",
            "status": 429,
            "more_info": "https://www.twilio.com/docs/errors/20429",
        }
        return json_reply(429, body, {"Retry-After": "0"})
    return {
        "auth": lambda: _reply(401, 20003, "Authenticate"),
        "insufficient": lambda: _reply(401, 20005, "Account not active"),
        "invalid_number": lambda: _reply(400, 21211, "Invalid 'To' Phone Number"),
        "server_error": lambda: _reply(500, 20500, "Internal Server Error"),
    }[mode]()


def _auth(gateway, request):
    """The account of the request's Basic credentials (which must match the path's SID)."""
    sid = request["path"].split("/")[3]
    header = request["headers"].get("authorization", "")
    username = password = ""
    if header.startswith("Basic "):
        with contextlib.suppress(ValueError):
            username, _, password = b64decode(header[6:]).decode("utf-8").partition(":")
    account = gateway.find_account(PROVIDER, username, password)
    return account if account and username == sid else None


def balance(gateway, request):
    account = _auth(gateway, request)
    if not account:
        return _reply(401, 20003, "Authenticate")
    return json_reply(
        200,
        {"account_sid": account.username, "balance": f"{account.balance:.4f}", "currency": "USD"},
    )


def send(gateway, request):
    account = _auth(gateway, request)
    if not account:
        return _reply(401, 20003, "Authenticate")
    form = request["form"]
    to, body = form.get("To", ""), form.get("Body", "")
    sender = form.get("From", "")
    service = form.get("MessagingServiceSid") or None
    if not to:
        return _reply(400, 21604, "A 'To' phone number is required.")
    if not E164_RE.match(to):
        return _reply(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender and not service:
        return _reply(400, 21603, "A 'From' phone number is required.")
    if not body:
        return _reply(400, 21602, "Message body is required.")
    charged = gateway.charge(account, body)
    if charged is None:
        return _reply(401, 20005, "Account not active")
    segments, price = charged
    message = gateway.record(
        PROVIDER,
        account,
        to,
        sender or service,
        body,
        form.get("StatusCallback", ""),
        segments,
        price,
        gateway.new_id("SM"),
        extra={"service": service},
    )
    return json_reply(201, _resource(message, "accepted" if service else "queued"))


def _resource(message, status=None):
    created = datetime.fromtimestamp(message["created"], UTC)
    created = created.strftime("%a, %d %b %Y %H:%M:%S +0000")
    base = f"/2010-04-01/Accounts/{message['account']}/Messages/{message['id']}"
    service = message.get("service")
    return {
        "account_sid": message["account"],
        "api_version": "2010-04-01",
        "body": message["body"],
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": None if service else message["from"],
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": str(message["segments"]),
        "price": None,
        "price_unit": "USD",
        "sid": message["id"],
        "status": status or message["status"],
        "subresource_uris": {"media": f"{base}/Media.json"},
        "to": message["to"],
        "uri": f"{base}.json",
    }


def lookup(gateway, request):
    """The message list, newest first, filtered by ``To``."""
    account = _auth(gateway, request)
    if not account:
        return _reply(401, 20003, "Authenticate")
    query = request["query"]
    to = query.get("To")
    found = gateway.find_messages(
        lambda m: m["provider"] == PROVIDER
        and m["account"] == account.username
        and (not to or m["to"] == to)
    )
    found.sort(key=lambda m: m["created"], reverse=True)
    size = min(1000, max(1, int(query.get("PageSize") or 50)))
    uri = f"/2010-04-01/Accounts/{account.username}/Messages.json"
    return json_reply(
        200,
        {
            "first_page_uri": f"{uri}?PageSize={size}&Page=0",
            "end": min(size, len(found)) - 1,
            "previous_page_uri": None,
            "messages": [_resource(m) for m in found[:size]],
            "uri": f"{uri}?PageSize={size}&Page=0",
            "page_size": size,
            "start": 0,
            "next_page_uri": None,
            "page": 0,
        },
    )


def reports(gateway, message, account, url, status, error_code):
    """The status callback of ``message``: form-encoded, signed with the auth token."""
    native = {"delivered": "delivered", "failed": "undelivered"}.get(status, status)
    params = {
        "AccountSid": account.username,
        "ApiVersion": "2010-04-01",
        "From": message["from"],
        "MessageSid": message["id"],
        "MessageStatus": native,
        "SmsSid": message["id"],
        "SmsStatus": native,
        "To": message["to"],
    }
    if native in ("undelivered", "failed"):
        params["ErrorCode"] = error_code or "30003"
    signature = twilio_signature(account.password, url, params)
    yield {"data": params, "headers": {"X-Twilio-Signature": signature}}


def new_reply_id(gateway):
    return gateway.new_id("SM")


def inbound(gateway, account, url, reply):
    """An incoming message as Twilio posts it to the number's webhook, signed with the auth
    token over the URL and the sorted form fields."""
    params = {
        "ToCountry": "PT",
        "ToState": "",
        "SmsMessageSid": reply["id"],
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": reply["id"],
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": reply["text"],
        "FromCountry": "PT",
        "To": reply["to"],
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": reply["id"],
        "AccountSid": account.username,
        "From": reply["from"],
        "ApiVersion": "2010-04-01",
    }
    if reply["opt_out_type"]:
        params["OptOutType"] = reply["opt_out_type"]
    signature = twilio_signature(account.password, url, params)
    yield {"data": params, "headers": {"X-Twilio-Signature": signature}}
