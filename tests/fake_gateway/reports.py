"""Delivery reports: posted to the callback URLs, signed as each provider signs them, and
posted again like the providers do when they are answered 429/5xx or not at all."""

import logging
from concurrent.futures import ThreadPoolExecutor

import requests

from .addon import retry_after_seconds
from .common import CALLBACK_PATHS, FINAL_STATUSES, INTERIM_STATUSES

_logger = logging.getLogger(__name__)


def deliver(gateway, message_id=None, status="delivered", error_code="", concurrency=1):
    """See ``FakeGateway.deliver``."""
    with gateway.lock:
        if message_id:
            targets = [
                m for m in gateway.messages if m["id"] == message_id or message_id in m["part_ids"]
            ]
            if not targets:
                raise KeyError(f"Unknown message {message_id!r}")
        else:
            targets = [m for m in gateway.messages if m["status"] not in FINAL_STATUSES]
        failed = status not in ("delivered", "DELIVERED", "read")
        for message in targets:
            if status.lower() not in INTERIM_STATUSES:
                message["status"] = "failed" if failed else "delivered"

    def post(message):
        return _post_reports(gateway, message, status, error_code)

    if concurrency > 1 and len(targets) > 1:
        with ThreadPoolExecutor(max_workers=min(int(concurrency), len(targets))) as pool:
            results = list(pool.map(post, targets))
    else:
        results = [post(message) for message in targets]
    return [code for codes in results for code in codes]


def _callback_for(gateway, message, account):
    if message["callback_url"]:
        return message["callback_url"]
    if account and account.callback_url:
        return account.callback_url
    if gateway.callback_base:
        return gateway.callback_base.rstrip("/") + CALLBACK_PATHS[message["provider"]]
    return ""


def _post_reports(gateway, message, status, error_code):
    account = gateway.accounts.get((message["provider"], message["account"]))
    url = _callback_for(gateway, message, account)
    if not url or not account:
        return [0]
    protocol = gateway.PROTOCOLS[message["provider"]]
    codes = []
    with requests.Session() as session:
        for kwargs in protocol.reports(gateway, message, account, url, status, error_code):
            prepared = requests.Request("POST", url, **kwargs).prepare()
            code = _post_report(gateway, session, prepared)
            body = prepared.body
            with gateway.lock:
                gateway.reports.append(
                    {
                        "provider": message["provider"],
                        "message_id": message["id"],
                        "url": prepared.url,
                        "method": prepared.method,
                        "headers": dict(prepared.headers),
                        "body": body if isinstance(body, bytes) else (body or "").encode("utf-8"),
                        "code": code,
                    }
                )
            codes.append(code)
    return codes


def _post_report(gateway, session, prepared):
    """Post one report, retrying like a provider; returns the last HTTP code (0: none)."""
    code = 0
    for attempt in range(1 + max(0, int(gateway.report_retries))):
        if attempt:
            with gateway.lock:
                gateway.report_retried += 1
        try:
            response = session.send(prepared, timeout=gateway.report_timeout)
        except requests.RequestException as exc:
            _logger.warning("fake gateway: delivery report not posted (%s)", type(exc).__name__)
            code, delay = 0, gateway.report_backoff * (2**attempt)
        else:
            code = response.status_code
            if code != 429 and code < 500:
                return code
            delay = retry_after_seconds(response, gateway.report_backoff * (2**attempt))
        if gateway.stopping.wait(min(delay, gateway.report_retry_cap)):
            break
    return code
