"""Bytes no provider sends, posted by an attacker or a broken client: every adapter checks the
signature without raising, and reads a signed webhook into clean text (no NUL or other
control character, no lone surrogate) or refuses it with a ValueError."""

import json
from urllib.parse import urlencode

import fake_gateway as fg
import pytest
from providers import WebhookRequest
from providers.base import clean_text, hmac_hex, report_field
from providers.twilio import twilio_signature
from providers.vonage import vonage_signature

URL = "http://localhost/cgsms/in/x/1"
HOSTILE = ["a\x00b", "a\x01\x1b\x7f\x85b", "a\ud800b", "a\udc00\ud800b"]


def test_clean_text_removes_controls_and_replaces_lone_surrogates():
    assert clean_text("Olá\x00 mundo\x07") == "Olá mundo"
    assert clean_text("linha 1\nlinha 2\r\n\tfim") == "linha 1\nlinha 2\r\n\tfim"
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("😀 ç") == "😀 ç"
    assert clean_text(None) is None


def test_report_field_cleans_and_refuses_what_is_not_an_object():
    assert report_field({"id": "x\x00y"}, "id") == "xy"
    assert report_field({"id": "\x00"}, "id", "none") == "none"
    with pytest.raises(ValueError):
        report_field(["id"], "id")


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def _vonage_json(data):
    return WebhookRequest(
        "POST", URL, {"Content-Type": "application/json"}, {}, json.dumps(data).encode()
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_vonage_signature_never_raises_whatever_the_text(make_provider, text):
    provider = make_provider("vonage")
    data = {"msisdn": "351912000111", "messageId": "1", "text": text, "timestamp": "1"}
    for secret in ("wrong-secret", fg.VONAGE_SIGNATURE_SECRET):
        try:
            data["sig"] = vonage_signature(secret, data)
        except UnicodeError:
            data["sig"] = "0" * 32
        verified = provider.verify_signature(_vonage_json(data))
        # a lone surrogate cannot be signed: no genuine webhook carries one
        assert verified == (secret != "wrong-secret" and _encodable(text))
        if verified:
            [sms] = provider.parse_inbound(_vonage_json(data))
            assert sms.body == clean_text(text)
            sms.body.encode("utf-8")


@pytest.mark.parametrize("payload", [[1], 5, "x", None, {"text": {"a": 1}, "sig": "x"}])
def test_vonage_signature_of_wrong_types_is_false(make_provider, payload):
    request = _vonage_json(payload)
    assert make_provider("vonage").verify_signature(request) is False


@pytest.mark.parametrize("text", HOSTILE)
def test_signed_sandbox_reply_read_clean(make_provider, text):
    body = json.dumps({"id": "sb1", "from": "+351912000111", "text": text}).encode()
    request = WebhookRequest(
        "POST",
        URL,
        {"X-Sandbox-Signature": hmac_hex(fg.SANDBOX_WEBHOOK_SECRET, body)},
        {},
        body,
    )
    provider = make_provider("sandbox")
    assert provider.verify_signature(request)
    [sms] = provider.parse_inbound(request)
    assert sms.body == clean_text(text)
    sms.body.encode("utf-8")


def test_signed_twilio_reply_with_nul_read_without_it(make_provider):
    params = {
        "MessageSid": "SM1",
        "AccountSid": fg.TWILIO_ACCOUNT_SID,
        "From": "+351912000111",
        "Body": "Sim\x00!",
    }
    headers = {"X-Twilio-Signature": twilio_signature(fg.TWILIO_AUTH_TOKEN, URL, params)}
    request = WebhookRequest("POST", URL, headers, {}, urlencode(params).encode())
    provider = make_provider("twilio")
    assert provider.verify_signature(request)
    [sms] = provider.parse_inbound(request)
    assert sms.body == "Sim!"
