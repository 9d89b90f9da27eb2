"""Delivery reports: the gateway signs them like each provider, the adapters verify and parse."""

import dataclasses
import json
import time
from urllib.parse import urlencode

import fake_gateway as fg
import pytest
from conftest import PROVIDER_CODES
from providers import OutgoingSms, WebhookRequest
from providers.vonage import vonage_signature
from twilio.request_validator import RequestValidator

SIGNATURE_HEADERS = {
    "twilio": "X-Twilio-Signature",
    "lusosms": "X-LusoSMS-Signature",
    "sandbox": "X-Sandbox-Signature",
}


def send_and_report(gateway, receiver, make_provider, code, status="delivered", error_code=""):
    provider = make_provider(code, callback_url=f"{receiver.url}/cgsms/dlr/{code}/1")
    [result] = provider.send([OutgoingSms("r1", "+351912345678", "Hello")])
    assert result.ok
    assert gateway.deliver(result.message_id, status, error_code) == [200]
    [request] = receiver.requests
    return provider, result, request


def without_signature(code, request):
    if code == "vonage":
        data = json.loads(request.body)
        del data["sig"]
        return dataclasses.replace(request, body=json.dumps(data).encode())
    name = SIGNATURE_HEADERS[code].lower()
    headers = {k: v for k, v in request.headers.items() if k.lower() != name}
    return dataclasses.replace(request, headers=headers)


def tampered(request, message_id):
    other = message_id[:-1] + ("1" if message_id[-1] != "1" else "2")
    body = request.body.replace(message_id.encode(), other.encode())
    return dataclasses.replace(request, body=body)


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_delivered_report_verified_and_parsed(gateway, receiver, make_provider, code):
    provider, result, request = send_and_report(gateway, receiver, make_provider, code)
    assert provider.verify_signature(request)
    [report] = provider.parse_delivery_report(request)
    assert report.message_id == result.message_id
    assert report.status == "delivered"
    assert report.error_class == ""
    assert gateway.messages[0]["status"] == "delivered"


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_failed_report_carries_error_class(gateway, receiver, make_provider, code):
    provider, result, request = send_and_report(
        gateway, receiver, make_provider, code, status="failed"
    )
    assert provider.verify_signature(request)
    [report] = provider.parse_delivery_report(request)
    assert report.message_id == result.message_id
    assert report.status == "failed"
    assert report.error_class in ("temporary", "invalid_number")
    assert report.provider_code


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_forged_signature_refused(gateway, receiver, make_provider, code):
    _provider, _result, request = send_and_report(gateway, receiver, make_provider, code)
    forger = make_provider(code, password="not-the-token", webhook_secret="not-the-secret")
    assert not forger.verify_signature(request)


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_tampered_report_refused(gateway, receiver, make_provider, code):
    provider, result, request = send_and_report(gateway, receiver, make_provider, code)
    assert not provider.verify_signature(tampered(request, result.message_id))


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_missing_signature_refused(gateway, receiver, make_provider, code):
    provider, _result, request = send_and_report(gateway, receiver, make_provider, code)
    assert not provider.verify_signature(without_signature(code, request))


@pytest.mark.parametrize("code", ["vonage", "lusosms", "sandbox"])
def test_unsigned_reports_refused_without_secret(gateway, receiver, make_provider, code):
    username, password, _secret = fg.DEFAULT_ACCOUNTS[code]
    gateway.add_account(code, username, password, webhook_secret="")
    provider, _result, request = send_and_report(gateway, receiver, make_provider, code)
    assert not provider.verify_signature(request)
    assert not make_provider(code, webhook_secret="").verify_signature(request)


@pytest.mark.parametrize("code", PROVIDER_CODES)
@pytest.mark.parametrize(
    "body, params",
    [(b"", {}), (b"not json", {"status": "delivered"}), (b'{"id": ""}', {"id": ""})],
)
def test_malformed_report_raises_value_error(make_provider, code, body, params):
    request = WebhookRequest("POST", "http://localhost/dlr", {}, params, body)
    with pytest.raises(ValueError):
        make_provider(code).parse_delivery_report(request)


def test_lusosms_fields_outside_the_raw_body_not_read(gateway, receiver, make_provider):
    """A framework may hand over parsed form fields without the raw body: nothing signed is
    left to read, so the report is refused rather than rebuilt from unsigned values."""
    provider, _result, request = send_and_report(gateway, receiver, make_provider, "lusosms")
    consumed = dataclasses.replace(request, body=b"", params={"id": "1", "status": "DELIVERED"})
    assert not provider.verify_signature(consumed)
    with pytest.raises(ValueError):
        provider.parse_delivery_report(consumed)


def test_vonage_sha256_signature(gateway, receiver, make_provider):
    gateway.vonage_signature_method = "sha256"
    try:
        provider, _result, request = send_and_report(gateway, receiver, make_provider, "vonage")
    finally:
        gateway.vonage_signature_method = "md5hash"
    assert len(json.loads(request.body)["sig"]) == 64
    assert provider.verify_signature(request)
    assert not provider.verify_signature(tampered(request, json.loads(request.body)["messageId"]))


def test_vonage_get_receipt(make_provider):
    params = {
        "msisdn": "351912345678",
        "to": "CgSMS",
        "messageId": "0A0000001234567B",
        "status": "expired",
        "err-code": "3",
        "timestamp": str(int(time.time())),
        "nonce": "abc",
    }
    params["sig"] = vonage_signature(fg.VONAGE_SIGNATURE_SECRET, params)
    request = WebhookRequest("GET", "http://localhost/dlr?x", {}, params)
    provider = make_provider("vonage")
    assert provider.verify_signature(request)
    [report] = provider.parse_delivery_report(request)
    assert (report.status, report.error_class) == ("failed", "invalid_number")


def test_vonage_long_message_reports_every_part(gateway, receiver, make_provider):
    provider = make_provider("vonage", callback_url=f"{receiver.url}/dlr")
    [result] = provider.send([OutgoingSms("r1", "+351912345678", "x" * 300)])
    part_ids = gateway.messages[0]["part_ids"]
    assert len(part_ids) == 2 and result.message_id == part_ids[0]
    assert gateway.deliver(result.message_id) == [200, 200]
    ids = [provider.parse_delivery_report(r)[0].message_id for r in receiver.requests]
    assert ids == part_ids
    assert all(provider.verify_signature(r) for r in receiver.requests)


def test_twilio_signature_covers_the_url(gateway, receiver, make_provider):
    provider, _result, request = send_and_report(gateway, receiver, make_provider, "twilio")
    moved = dataclasses.replace(request, url=request.url.replace("/dlr/", "/other/"))
    assert not provider.verify_signature(moved)


def test_twilio_report_of_the_gateway_passes_twilio_own_validator(gateway, receiver, make_provider):
    """The fake gateway signs the way Twilio does: the twilio package agrees."""
    _provider, _result, request = send_and_report(gateway, receiver, make_provider, "twilio")
    validator = RequestValidator(fg.TWILIO_AUTH_TOKEN)
    params = request.body_params()
    assert validator.validate(request.url, params, request.header("X-Twilio-Signature"))


@pytest.mark.parametrize(
    ("signed_url", "received_url"),
    [
        (
            "https://sms.example.com/cgsms/dlr/twilio/1",
            "https://sms.example.com/cgsms/dlr/twilio/1",
        ),
        (
            "https://sms.example.com/cgsms/dlr/twilio/1?x=1",
            "https://sms.example.com/cgsms/dlr/twilio/1?x=1",
        ),
        (
            "https://sms.example.com:443/cgsms/dlr/twilio/1",
            "https://sms.example.com/cgsms/dlr/twilio/1",
        ),
        (
            "https://sms.example.com/cgsms/dlr/twilio/1",
            "https://sms.example.com:443/cgsms/dlr/twilio/1",
        ),
    ],
)
def test_twilio_callback_signed_by_twilio_own_validator_accepted(
    make_provider, signed_url, received_url
):
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "To": "+351912345678"}
    signature = RequestValidator(fg.TWILIO_AUTH_TOKEN).compute_signature(signed_url, params)
    request = WebhookRequest(
        "POST",
        received_url,
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
        {},
        urlencode(params).encode(),
    )
    provider = make_provider("twilio")
    assert provider.verify_signature(request)
    [report] = provider.parse_delivery_report(request)
    assert (report.message_id, report.status) == (params["MessageSid"], "delivered")


def test_deliver_all_pending(gateway, receiver, make_provider):
    provider = make_provider("sandbox", callback_url=f"{receiver.url}/dlr")
    provider.send([OutgoingSms(f"r{i}", "+351912345678", "Hi") for i in range(3)])
    assert gateway.deliver() == [200, 200, 200]
    assert gateway.deliver() == []  # already final
    assert {m["status"] for m in gateway.messages} == {"delivered"}


def test_deliver_without_callback_returns_zero(gateway, make_provider):
    [result] = make_provider("sandbox").send([OutgoingSms("r", "+351912345678", "Hi")])
    assert gateway.deliver(result.message_id) == [0]


def test_callback_base_used_when_message_has_no_callback(gateway, receiver, make_provider):
    gateway.callback_base = receiver.url
    [result] = make_provider("sandbox").send([OutgoingSms("r", "+351912345678", "Hi")])
    assert gateway.deliver(result.message_id) == [200]
    assert receiver.requests[0].url.endswith(fg.CALLBACK_PATHS["sandbox"])


def test_auto_deliver(gateway, receiver, make_provider):
    gateway.auto_deliver = True
    provider = make_provider("sandbox", callback_url=f"{receiver.url}/dlr")
    provider.send([OutgoingSms("r", "+351912345678", "Hi")])
    deadline = time.monotonic() + 3
    # until the gateway has recorded the answer too, so that it does not land in the next test
    while not (receiver.requests and gateway.reports) and time.monotonic() < deadline:
        time.sleep(0.05)
    [request] = receiver.requests
    assert [r["code"] for r in gateway.reports] == [200]
    assert provider.verify_signature(request)
    assert provider.parse_delivery_report(request)[0].status == "delivered"


def test_report_answered_503_is_posted_again_like_a_provider(gateway, receiver, make_provider):
    provider = make_provider("sandbox", callback_url=f"{receiver.url}/dlr")
    [result] = provider.send([OutgoingSms("r", "+351912345678", "Hi")])
    receiver.status = 503
    gateway.report_retries, gateway.report_backoff = 2, 0.01
    try:
        assert gateway.deliver(result.message_id) == [503]
    finally:
        gateway.report_retries = 0
    assert len(receiver.requests) == 3  # the first post and two retries
    assert len({r.body for r in receiver.requests}) == 1  # the same signed report
    assert [r["code"] for r in gateway.reports] == [503]


def test_reports_posted_concurrently(gateway, receiver, make_provider):
    provider = make_provider("sandbox", callback_url=f"{receiver.url}/dlr")
    provider.send([OutgoingSms(f"r{i}", "+351912345678", "Hi") for i in range(20)])
    assert gateway.deliver(concurrency=10) == [200] * 20
    ids = {provider.parse_delivery_report(r)[0].message_id for r in receiver.requests}
    assert ids == {m["id"] for m in gateway.messages}
