"""Forged delivery reports: an attacker holding one genuinely signed report (captured, or
replayed from a log) changes the query string, the Content-Type or a field. Every adapter
reads only what the signature covers, so either the report is refused or it says exactly
what the genuine one said, never something about another SMS."""

import dataclasses
import json
import time
from urllib.parse import urlencode

import fake_gateway as fg
import pytest
from conftest import PROVIDER_CODES
from providers import OutgoingSms, WebhookRequest
from providers.base import hmac_hex
from providers.vonage import vonage_signature

# The fields an attacker puts in the query string to mark another SMS undelivered.
FORGED_QUERY = {
    "twilio": {"MessageSid": "{other}", "MessageStatus": "undelivered", "ErrorCode": "30003"},
    "vonage": {"messageId": "{other}", "status": "failed", "err-code": "3"},
    "lusosms": {"id": "{other}", "status": "UNDELIVERED", "code": "003"},
    "sandbox": {"id": "{other}", "status": "failed", "error_code": "blocked"},
}
# The Content-Types an attacker tries instead of the genuine one.
OTHER_CONTENT_TYPES = ("text/plain", "application/json", "application/x-www-form-urlencoded", "")


def genuine_reports(gateway, receiver, make_provider, code):
    """Send two SMS; the first gets a genuine "delivered" report. Returns the adapter, that
    report and the provider id of the second SMS (the attacker's target)."""
    provider = make_provider(code, callback_url=f"{receiver.url}/cgsms/dlr/{code}/1")
    first, second = provider.send(
        [OutgoingSms("r1", "+351912345678", "Hello"), OutgoingSms("r2", "+351912345679", "Hi")]
    )
    assert first.ok and second.ok
    assert gateway.deliver(first.message_id) == [200]
    [request] = receiver.requests
    assert provider.verify_signature(request)
    return provider, request, second.message_id


def forged_query(code, other):
    return {k: v.format(other=other) for k, v in FORGED_QUERY[code].items()}


def with_query(request, query):
    return dataclasses.replace(request, url=f"{request.url}?{urlencode(query)}", params=query)


def with_content_type(request, content_type):
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-type"}
    if content_type:
        headers["Content-Type"] = content_type
    return dataclasses.replace(request, headers=headers)


def outcome(provider, request):
    """None when the report is refused, else what the adapter reads from it."""
    if not provider.verify_signature(request):
        return None
    try:
        return provider.parse_delivery_report(request)
    except ValueError:
        return None


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_query_string_added_to_genuine_report_is_not_read(gateway, receiver, make_provider, code):
    provider, request, other = genuine_reports(gateway, receiver, make_provider, code)
    genuine = provider.parse_delivery_report(request)
    forged = outcome(provider, with_query(request, forged_query(code, other)))
    assert forged in (None, genuine)
    assert all(report.message_id != other for report in forged or [])


@pytest.mark.parametrize("code", PROVIDER_CODES)
@pytest.mark.parametrize("content_type", OTHER_CONTENT_TYPES)
def test_changed_content_type_never_reads_unsigned_data(
    gateway, receiver, make_provider, code, content_type
):
    """The LusoSMS attack: the genuine signed body re-posted as text/plain, with the real
    target in the query string. The parser must not fall back to the query string."""
    provider, request, other = genuine_reports(gateway, receiver, make_provider, code)
    genuine = provider.parse_delivery_report(request)
    attack = with_content_type(with_query(request, forged_query(code, other)), content_type)
    forged = outcome(provider, attack)
    assert forged in (None, genuine)
    assert all(report.message_id != other for report in forged or [])


@pytest.mark.parametrize("code", PROVIDER_CODES)
@pytest.mark.parametrize("field", ["id", "status"])
def test_changed_field_in_signed_body_refused(gateway, receiver, make_provider, code, field):
    provider, request, other = genuine_reports(gateway, receiver, make_provider, code)
    [genuine] = provider.parse_delivery_report(request)
    body = request.body.decode()
    if field == "id":
        body = body.replace(genuine.message_id, other)
    else:
        for delivered, failed in (("DELIVERED", "UNDELIVERED"), ("delivered", "failed")):
            body = body.replace(f"={delivered}", f"={failed}").replace(
                f'"{delivered}"', f'"{failed}"'
            )
    assert body != request.body.decode()
    assert not provider.verify_signature(dataclasses.replace(request, body=body.encode()))


def test_vonage_get_receipt_with_extra_field_refused(make_provider):
    params = {
        "messageId": "0A0000001234567B",
        "status": "delivered",
        "err-code": "0",
        "timestamp": str(int(time.time())),
        "nonce": "abc",
    }
    params["sig"] = vonage_signature(fg.VONAGE_SIGNATURE_SECRET, params)
    provider = make_provider("vonage")
    genuine = WebhookRequest("GET", f"http://localhost/dlr?{urlencode(params)}", {}, params)
    assert provider.verify_signature(genuine)
    forged = {**params, "client-ref": "someone-else"}
    assert not provider.verify_signature(
        WebhookRequest("GET", f"http://localhost/dlr?{urlencode(forged)}", {}, forged)
    )


def test_vonage_json_receipt_ignores_query_string(make_provider):
    """The signed JSON body says nothing about ``client-ref``: one in the query string must
    not be merged in (it would match the report to another SMS by reference)."""
    data = {
        "messageId": "0A0000001234567B",
        "status": "delivered",
        "err-code": "0",
        "timestamp": str(int(time.time())),
        "nonce": "abc",
    }
    data["sig"] = vonage_signature(fg.VONAGE_SIGNATURE_SECRET, data)
    request = WebhookRequest(
        "POST",
        "http://localhost/dlr?client-ref=other",
        {"Content-Type": "application/json"},
        {"client-ref": "other"},
        json.dumps(data).encode(),
    )
    provider = make_provider("vonage")
    assert provider.verify_signature(request)
    [report] = provider.parse_delivery_report(request)
    assert report.ref == ""


def _signed_sandbox(make_provider, payload):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = hmac_hex(fg.SANDBOX_WEBHOOK_SECRET, body)
    request = WebhookRequest(
        "POST",
        "http://localhost/dlr",
        {"Content-Type": "application/json", "X-Sandbox-Signature": signature},
        {},
        body,
    )
    provider = make_provider("sandbox")
    assert provider.verify_signature(request)
    return provider, request


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "sbx_1", "status": ["delivered"]},
        {"id": "sbx_1", "status": {"value": "delivered"}},
        {"id": ["sbx_1"], "status": "delivered"},
        {"id": {"$ne": ""}, "status": "delivered"},
        {"id": "sbx_1", "status": "delivered", "error_code": {"a": 1}},
        {"id": "sbx_1", "status": "delivered", "error_message": ["x"] * 3},
        {"id": "x" * 10000, "status": "delivered"},
        [{"id": f"sbx_{i}", "status": "delivered"} for i in range(1000)],
        "delivered",
        42,
        None,
    ],
)
def test_signed_sandbox_report_with_wrong_types_is_a_value_error(make_provider, payload):
    provider, request = _signed_sandbox(make_provider, payload)
    with pytest.raises(ValueError):
        provider.parse_delivery_report(request)


@pytest.mark.parametrize("depth", [100, 5000, 100000])
def test_deeply_nested_signed_sandbox_report_is_a_value_error(make_provider, depth):
    provider, request = _signed_sandbox(make_provider, b"[" * depth + b"]" * depth)
    with pytest.raises(ValueError):
        provider.parse_delivery_report(request)


def test_deeply_nested_vonage_json_refused(make_provider):
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    request = WebhookRequest("POST", "http://x/dlr", {"Content-Type": "application/json"}, {}, body)
    provider = make_provider("vonage")
    assert not provider.verify_signature(request)
    with pytest.raises(ValueError):
        provider.parse_delivery_report(request)


@pytest.mark.parametrize("code", ["twilio", "lusosms"])
def test_form_body_that_is_not_utf8_is_a_value_error(make_provider, code):
    request = WebhookRequest("POST", "http://x/dlr", {}, {}, b"id=\xff\xfe&status=DELIVERED")
    provider = make_provider(code)
    with pytest.raises(ValueError):
        provider.parse_delivery_report(request)
