"""The customer's side: an SMS sent back to one of the account's messages, posted to the
inbound (replies) URL in the provider's own protocol and signed as the provider signs it."""

import requests

from .reports import _post_report


def send_reply(gateway, data):
    """See ``FakeGateway.reply``; ``data`` is the control API's JSON."""
    provider = data["provider"]
    account = gateway._account(provider, data.get("account"))
    protocol = gateway.PROTOCOLS[provider]
    if not hasattr(protocol, "inbound"):
        raise ValueError(f"{provider} offers no replies")
    sender = str(data["from"])
    url = data.get("url") or account.inbound_url or _inbound_url_of(gateway, account, sender)
    if not url:
        raise ValueError("No inbound URL: give 'url' or set the account's inbound_url")
    reply = {
        "id": data.get("message_id") or protocol.new_reply_id(gateway),
        "from": sender,
        "to": data.get("to") or _last_sender_to(gateway, provider, account, sender),
        "text": str(data.get("text") or ""),
        "opt_out_type": data.get("opt_out_type") or "",
        "method": str(data.get("method") or "POST").upper(),
        "concat_ref": data.get("concat_ref"),
    }
    codes = []
    with requests.Session() as session:
        for kwargs in protocol.inbound(gateway, account, url, reply):
            method = kwargs.pop("method", "POST")
            prepared = requests.Request(method, url, **kwargs).prepare()
            codes.append(_post_report(gateway, session, prepared))
    with gateway.lock:
        gateway.replies.append({**reply, "provider": provider, "codes": codes})
    return {"codes": codes, "message_id": reply["id"]}


def _last_sent_to(gateway, account, number):
    sent = gateway.find_messages(
        lambda m: m["provider"] == account.provider
        and m["account"] == account.username
        and m["to"] == number
    )
    return sent[-1] if sent else None


def _last_sender_to(gateway, provider, account, number):
    """The sender of the last message to ``number``: the customer answers that number."""
    message = _last_sent_to(gateway, account, number)
    return message["from"] if message else ""


def _inbound_url_of(gateway, account, number):
    """Odoo's replies URL beside the delivery report URL of the last message to ``number``
    (``/cgsms/dlr/<provider>/<id>`` -> ``/cgsms/in/<provider>/<id>``): in the demo, the
    customer answers without the gateway being told where."""
    message = _last_sent_to(gateway, account, number)
    callback = message["callback_url"] if message else ""
    return callback.replace("/cgsms/dlr/", "/cgsms/in/", 1) if "/cgsms/dlr/" in callback else ""
