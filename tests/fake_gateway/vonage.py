"""Vonage's SMS API: send (one answer per part), get-balance, signed delivery receipts."""

import secrets
import time
from datetime import UTC, datetime

from .addon import vonage_signature
from .common import json_reply

PROVIDER = "vonage"
# (method, path prefix, path suffix, kind): the handler of a kind is this module's function
ROUTES = (
    ("POST", "/sms/json", "", "send"),
    ("GET", "/account/get-balance", "", "balance"),
)


def _reply(status, text):
    """A refused send: Vonage answers 200 with the status of the (only) message."""
    return json_reply(
        200, {"message-count": "1", "messages": [{"status": str(status), "error-text": text}]}
    )


def _auth_failed():
    return json_reply(401, {"error-code": "401", "error-code-label": "authentication failed"})


def error(mode, kind):
    """Vonage's own answer to a failure of ``mode``."""
    if kind == "balance":
        if mode == "auth":
            return _auth_failed()
        if mode == "rate_limited":
            return json_reply(429, {"error-code": "429"}, {"Retry-After": "0"})
        return json_reply(500, {"error-code": "500"})
    return {
        "auth": lambda: _reply(4, "Bad Credentials"),
        "insufficient": lambda: _reply(9, "Quota Exceeded - rejected"),
        "invalid_number": lambda: _reply(3, "Invalid to param"),
        "rate_limited": lambda: _reply(1, "Throughput Rate Exceeded"),
        "server_error": lambda: _reply(5, "Internal Error"),
    }[mode]()


def balance(gateway, request):
    query = request["query"]
    account = gateway.find_account(PROVIDER, query.get("api_key"), query.get("api_secret"))
    if not account:
        return _auth_failed()
    return json_reply(200, {"value": round(account.balance, 8), "autoReload": False})


def _check(gateway, params):
    """The account of a send, or the reply that refuses it."""
    if not params.get("api_key") or not params.get("api_secret"):
        return None, _reply(2, "Missing api_key or api_secret")
    account = gateway.find_account(PROVIDER, params["api_key"], params["api_secret"])
    if not account:
        return None, _reply(4, "Bad Credentials")
    to, sender, text = params.get("to", ""), params.get("from", ""), params.get("text", "")
    if not to:
        return None, _reply(2, "Missing to param")
    if not sender:
        return None, _reply(2, "Missing from param")
    if not to.isdigit() or not 7 <= len(to) <= 15:
        return None, _reply(3, "Invalid to param")
    if not text:
        return None, _reply(2, "Missing text param")
    return account, None


def send(gateway, request):
    params = {**request["query"], **request["form"], **(request["json"] or {})}
    account, refusal = _check(gateway, params)
    if refusal:
        return refusal
    to, text = params["to"], params["text"]
    charged = gateway.charge(account, text)
    if charged is None:
        return _reply(9, "Quota Exceeded - rejected")
    segments, price = charged
    part_ids = [gateway.new_id("", 16).upper() for _ in range(segments)]
    gateway.record(
        PROVIDER,
        account,
        "+" + to,
        params["from"],
        text,
        params.get("callback", ""),
        segments,
        price,
        part_ids[0],
        params.get("client-ref", ""),
        part_ids,
        status="sent",
    )
    part_price = round(price / segments, 8)
    messages = []
    for part_id in part_ids:
        part = {
            "to": to,
            "message-id": part_id,
            "status": "0",
            "remaining-balance": f"{account.balance:.8f}",
            "message-price": f"{part_price:.8f}",
            "network": "26801",
        }
        if params.get("client-ref"):
            part["client-ref"] = params["client-ref"]
        messages.append(part)
    return json_reply(200, {"message-count": str(len(messages)), "messages": messages})


def reports(gateway, message, account, url, status, error_code):
    """One delivery receipt per part, as JSON, signed when the account has a secret."""
    failed = status != "delivered"
    for part_id in message["part_ids"]:
        now = datetime.now(UTC)
        params = {
            "msisdn": message["to"].lstrip("+"),
            "to": message["from"],
            "network-code": "26801",
            "messageId": part_id,
            "price": f"{message['price'] / len(message['part_ids']):.8f}",
            "status": status,
            "scts": now.strftime("%y%m%d%H%M"),
            "err-code": (error_code or "2") if failed else "0",
            "api-key": account.username,
            "message-timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
        }
        if message["ref"]:
            params["client-ref"] = message["ref"]
        if account.webhook_secret:
            params["timestamp"] = str(int(time.time()))
            params["nonce"] = secrets.token_hex(8)
            params["sig"] = vonage_signature(
                account.webhook_secret, params, gateway.vonage_signature_method
            )
        yield {"json": params}


def new_reply_id(gateway):
    return gateway.new_id("", 16).upper()


def inbound(gateway, account, url, reply):
    """An inbound SMS as Vonage posts it: one request per part of a long text (153 GSM or 67
    Unicode characters each, with concat-ref/-part/-total), signed when the account has a
    signature secret. ``method``: GET (query string), POST (JSON) or POST-FORM."""
    text = reply["text"]
    unicode = not text.isascii()
    single, size = (70, 67) if unicode else (160, 153)
    parts = (
        [text] if len(text) <= single else [text[i : i + size] for i in range(0, len(text), size)]
    )
    ref = str(reply["concat_ref"] or secrets.randbelow(256))
    for number, part in enumerate(parts, start=1):
        now = datetime.now(UTC)
        params = {
            "msisdn": reply["from"].lstrip("+"),
            "to": reply["to"].lstrip("+"),
            "messageId": reply["id"] if number == 1 else f"{reply['id']}-{number}",
            "text": part,
            "type": "unicode" if unicode else "text",
            "keyword": (part.split() or [""])[0].upper(),
            "api-key": account.username,
            "message-timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
        }
        if len(parts) > 1:
            params.update(
                {
                    "concat": "true",
                    "concat-ref": ref,
                    "concat-total": str(len(parts)),
                    "concat-part": str(number),
                }
            )
        if account.webhook_secret:
            params["timestamp"] = str(int(time.time()))
            params["nonce"] = secrets.token_hex(8)
            params["sig"] = vonage_signature(
                account.webhook_secret, params, gateway.vonage_signature_method
            )
        if reply["method"] == "GET":
            yield {"method": "GET", "params": params}
        elif reply["method"] == "POST-FORM":
            yield {"data": params}
        else:
            yield {"json": params}
