"""The JSON control API (``/_control/<action>``) through which other processes drive the
gateway: see the package's docstring for its actions."""

from dataclasses import asdict

from .common import DEFAULT_BALANCE, json_reply
from .replies import send_reply

SETTINGS = (
    "auto_deliver",
    "auto_deliver_delay",
    "callback_base",
    "timeout_delay",
    "slow_delay",
    "latency",
    "price_per_segment",
    "vonage_signature_method",
    "report_retries",
    "report_backoff",
    "report_retry_cap",
    "report_timeout",
    "rate_limit",
    "rate_burst",
)


def _listing(gateway, action):
    with gateway.lock:
        if action == "messages":
            return {"messages": list(gateway.messages)}
        if action == "requests":
            return {"requests": list(gateway.requests)}
        if action == "replies":
            return {"replies": list(gateway.replies)}
        secret = ("password", "webhook_secret")
        accounts = [
            {k: v for k, v in asdict(a).items() if k not in secret}
            for a in gateway.accounts.values()
        ]
        return {"accounts": accounts}


def _deliver(gateway, data):
    codes = gateway.deliver(
        data.get("message_id"),
        data.get("status", "delivered"),
        data.get("error_code", ""),
        int(data.get("concurrency") or 1),
    )
    with gateway.lock:
        return {"codes": codes, "retried": gateway.report_retried}


def _change(gateway, action, data):
    """Apply a POST action; returns its answer, or None for an unknown action."""
    if action == "fail":
        gateway.fail_next(data["provider"], data["mode"], data.get("count", 1), data.get("delay"))
    elif action == "deliver":
        return _deliver(gateway, data)
    elif action == "reply":
        return send_reply(gateway, data)
    elif action == "reset":
        gateway.reset()
    elif action == "balance":
        gateway.set_balance(data["provider"], data.get("account"), data["amount"])
    elif action == "account":
        gateway.add_account(
            data["provider"],
            data["username"],
            data["password"],
            data.get("balance", DEFAULT_BALANCE),
            data.get("webhook_secret", ""),
            data.get("callback_url", ""),
            data.get("inbound_url", ""),
        )
    elif action == "settings":
        for key in SETTINGS:
            if key in data:
                setattr(gateway, key, data[key])
    else:
        return None
    return {"ok": True}


def handle(gateway, method, action, request):
    """The reply to ``method /_control/<action>``."""
    data = request["json"] if isinstance(request["json"], dict) else {}
    try:
        if method == "GET" and action in ("messages", "requests", "replies", "accounts"):
            return json_reply(200, _listing(gateway, action))
        answer = _change(gateway, action, data) if method == "POST" else None
    except (KeyError, ValueError, TypeError) as exc:
        return json_reply(400, {"error": str(exc)})
    if answer is None:
        return json_reply(404, {"error": "unknown control action"})
    return json_reply(200, answer)
