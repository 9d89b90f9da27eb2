"""The sandbox provider's JSON API: bearer token, send, balance, lookup by ``ref``, and JSON
delivery reports signed with HMAC-SHA256."""

import json
import secrets

from .addon import E164_RE, hmac_hex
from .common import json_reply

PROVIDER = "sandbox"
# (method, path prefix, path suffix, kind): the handler of a kind is this module's function
ROUTES = (
    ("POST", "/sandbox/v1/messages", "", "send"),
    ("GET", "/sandbox/v1/messages", "", "lookup"),
    ("GET", "/sandbox/v1/balance", "", "balance"),
)


def _reply(status, code, message, headers=None):
    return json_reply(status, {"error": {"code": code, "message": message}}, headers)


def _unauthorized():
    return _reply(401, "unauthorized", "Invalid token")


def error(mode, kind):
    """The sandbox's own answer to a failure of ``mode``."""
    return {
        "auth": _unauthorized,
        "insufficient": lambda: _reply(402, "insufficient_credit", "Not enough credit"),
        "invalid_number": lambda: _reply(422, "invalid_number", "Invalid destination number"),
        "rate_limited": lambda: _reply(
            429, "rate_limited", "Too many requests", {"Retry-After": "0"}
        ),
        "server_error": lambda: _reply(503, "unavailable", "Try again later"),
    }[mode]()


def _auth(gateway, request):
    """The sandbox account whose password is the request's bearer token."""
    header = request["headers"].get("authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    for account in gateway.accounts_of(PROVIDER):
        if secrets.compare_digest(account.password, token or ""):
            return account
    return None


def balance(gateway, request):
    account = _auth(gateway, request)
    if not account:
        return _unauthorized()
    return json_reply(200, {"balance": round(account.balance, 6), "currency": "credits"})


def lookup(gateway, request):
    """The messages sent with ``ref``."""
    account = _auth(gateway, request)
    if not account:
        return _unauthorized()
    ref = request["query"].get("ref", "")
    if not ref:
        return _reply(400, "bad_request", "The ref parameter is required")
    found = gateway.find_messages(
        lambda m: m["provider"] == PROVIDER and m["account"] == account.username and m["ref"] == ref
    )
    messages = [
        {"id": m["id"], "ref": m["ref"], "to": m["to"], "status": m["status"]} for m in found
    ]
    return json_reply(200, {"messages": messages})


def send(gateway, request):
    account = _auth(gateway, request)
    if not account:
        return _unauthorized()
    data = request["json"]
    if not isinstance(data, dict):
        return _reply(400, "bad_request", "A JSON object is required")
    to, text = str(data.get("to") or ""), str(data.get("text") or "")
    if not E164_RE.match(to):
        return _reply(422, "invalid_number", "Invalid destination number")
    if not text:
        return _reply(422, "empty_message", "The text is empty")
    charged = gateway.charge(account, text)
    if charged is None:
        return _reply(402, "insufficient_credit", "Not enough credit")
    segments, price = charged
    message_id = gateway.new_id("sbx_", 24)
    gateway.record(
        PROVIDER,
        account,
        to,
        str(data.get("from") or ""),
        text,
        str(data.get("callback_url") or ""),
        segments,
        price,
        message_id,
        str(data.get("ref") or ""),
    )
    return json_reply(
        201, {"id": message_id, "status": "queued", "segments": segments, "price": price}
    )


def reports(gateway, message, account, url, status, error_code):
    """The delivery report of ``message``, signed when the account has a secret."""
    native = status if status in ("delivered", "sent") else "failed"
    failed = native == "failed"
    body = json.dumps(
        {
            "id": message["id"],
            "status": native,
            "error_code": (error_code or "absent_subscriber") if failed else "",
            "error_message": "The recipient could not be reached" if failed else "",
        }
    )
    headers = {"Content-Type": "application/json"}
    if account.webhook_secret:
        headers["X-Sandbox-Signature"] = hmac_hex(account.webhook_secret, body)
    yield {"data": body.encode("utf-8"), "headers": headers}


def new_reply_id(gateway):
    return gateway.new_id("sbi_", 24)


def inbound(gateway, account, url, reply):
    """A reply as the sandbox posts it: JSON, signed like its delivery reports."""
    body = json.dumps(
        {"id": reply["id"], "from": reply["from"], "to": reply["to"], "text": reply["text"]}
    )
    headers = {"Content-Type": "application/json"}
    if account.webhook_secret:
        headers["X-Sandbox-Signature"] = hmac_hex(account.webhook_secret, body)
    yield {"data": body.encode("utf-8"), "headers": headers}
