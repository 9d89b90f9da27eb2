"""Odoo IAP's SMS endpoint, for the benchmark only.

Odoo's stock SMS path talks JSON-RPC to IAP (``sms.endpoint`` + /api/sms/3/send). The benchmark
points ``sms.endpoint`` here to compare both paths against the same gateway. Every number is
accepted and recorded with provider "iap"; no credentials, no reports.
"""

from .common import IAP_SEND_PATH, json_reply


def send(gateway, request):
    payload = request["json"] if isinstance(request["json"], dict) else {}
    params = payload.get("params") or {}
    results = []
    with gateway.lock:
        gateway.requests.append(
            {"provider": "iap", "kind": "send", "method": "POST", "path": IAP_SEND_PATH}
        )
    for message in params.get("messages") or []:
        body = message.get("content") or ""
        for item in message.get("numbers") or []:
            with gateway.lock:
                gateway.messages.append(
                    {
                        "provider": "iap",
                        "to": item.get("number"),
                        "body": body,
                        "id": item.get("uuid"),
                        "status": "sent",
                    }
                )
            results.append({"uuid": item.get("uuid"), "state": "success", "credit": 1})
    return json_reply(200, {"jsonrpc": "2.0", "id": payload.get("id"), "result": results})
