"""Replies (inbound SMS): the fake gateway's customer posts them as each provider does, and
the adapters verify and read them. Twilio's signature is checked with Twilio's own library."""

import dataclasses
import json

import fake_gateway as fg
import pytest
from providers import WebhookRequest
from providers.inbound import DEFAULT_START_KEYWORDS, DEFAULT_STOP_KEYWORDS, keyword_of
from twilio.request_validator import RequestValidator

REPLYING = ("twilio", "vonage", "sandbox")
CUSTOMER = "+351912345678"


def reply(gateway, receiver, code, text, **options):
    url = f"{receiver.url}/cgsms/in/{code}/1"
    answer = gateway.reply(code, CUSTOMER, text, url=url, to="+351930000000", **options)
    assert answer["codes"] and all(c == 200 for c in answer["codes"])
    return answer, list(receiver.requests)


@pytest.mark.parametrize("code", REPLYING)
def test_reply_of_the_customer_verified_and_read(gateway, receiver, make_provider, code):
    provider = make_provider(code)
    answer, [request] = reply(gateway, receiver, code, "Obrigado, passo amanhã")
    assert provider.verify_signature(request)
    [item] = provider.parse_inbound(request)
    assert item.message_id == answer["message_id"]
    assert item.number == CUSTOMER
    assert item.body == "Obrigado, passo amanhã"


@pytest.mark.parametrize("code", REPLYING)
def test_tampered_reply_refused(gateway, receiver, make_provider, code):
    provider = make_provider(code)
    _answer, [request] = reply(gateway, receiver, code, "Obrigado")
    forged = dataclasses.replace(request, body=request.body.replace(b"Obrigado", b"STOP"))
    assert not provider.verify_signature(forged)


def test_twilio_reply_passes_twilio_own_validator(gateway, receiver):
    _answer, [request] = reply(gateway, receiver, "twilio", "Sim", opt_out_type="")
    params = request.body_params()
    validator = RequestValidator(fg.TWILIO_AUTH_TOKEN)
    assert validator.validate(request.url, params, request.header("X-Twilio-Signature"))
    assert params["SmsStatus"] == "received"


def test_twilio_opt_out_type_read(gateway, receiver, make_provider):
    provider = make_provider("twilio")
    _answer, [request] = reply(gateway, receiver, "twilio", "stop", opt_out_type="STOP")
    [item] = provider.parse_inbound(request)
    assert item.keyword == "stop"


def test_twilio_reply_for_another_account_refused(make_provider):
    provider = make_provider("twilio")
    body = f"MessageSid=SM1&AccountSid=ACother&From={CUSTOMER.replace('+', '%2B')}&Body=x"
    request = WebhookRequest("POST", "http://x/cgsms/in/twilio/1", body=body.encode())
    with pytest.raises(ValueError):
        provider.parse_inbound(request)


@pytest.mark.parametrize("method", ["GET", "POST", "POST-FORM"])
def test_vonage_long_reply_comes_in_signed_parts(gateway, receiver, make_provider, method):
    provider = make_provider("vonage")
    text = "A" * 200 + " fim"
    _answer, requests = reply(gateway, receiver, "vonage", text, method=method)
    assert len(requests) == 2
    items = []
    for request in requests:
        assert provider.verify_signature(request)
        items += provider.parse_inbound(request)
    assert {i.part for i in items} == {1, 2}
    assert {i.total for i in items} == {2}
    assert len({i.concat_ref for i in items}) == 1
    assert "".join(i.body for i in sorted(items, key=lambda i: i.part)) == text


def test_lusosms_offers_no_replies(gateway, receiver):
    with pytest.raises(ValueError):
        gateway.reply("lusosms", CUSTOMER, "STOP", url=f"{receiver.url}/x")


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", json.dumps({"id": "x", "from": "nope", "text": "a"}).encode()],
)
def test_malformed_sandbox_reply_raises_value_error(make_provider, body):
    request = WebhookRequest("POST", "http://x/cgsms/in/sandbox/1", body=body)
    with pytest.raises(ValueError):
        make_provider("sandbox").parse_inbound(request)


@pytest.mark.parametrize(
    "word", ["STOP", "PARAR", "CANCELAR", "SAIR", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
)
def test_stop_words_in_any_case(word):
    for text in (word, word.lower(), f"  {word.capitalize()}! "):
        assert keyword_of(text, DEFAULT_STOP_KEYWORDS, DEFAULT_START_KEYWORDS) == "stop"


@pytest.mark.parametrize("word", ["START", "INICIAR", "YES", "UNSTOP"])
def test_start_words_in_any_case(word):
    for text in (word, word.lower()):
        assert keyword_of(text, DEFAULT_STOP_KEYWORDS, DEFAULT_START_KEYWORDS) == "start"


def test_a_sentence_with_stop_is_no_keyword():
    assert keyword_of("Não parem a reparação, stop", DEFAULT_STOP_KEYWORDS, "") == ""


def test_customer_answers_beside_the_report_url_and_to_the_sender(gateway, receiver, make_provider):
    from providers import OutgoingSms

    provider = make_provider("sandbox", callback_url=f"{receiver.url}/cgsms/dlr/sandbox/7")
    [result] = provider.send([OutgoingSms("r1", CUSTOMER, "Está pronto")])
    assert result.ok
    answer = gateway.reply("sandbox", CUSTOMER, "Obrigado")
    assert answer["codes"] == [200]
    [request] = receiver.requests
    assert request.url.endswith("/cgsms/in/sandbox/7")
    [item] = provider.parse_inbound(request)
    assert item.to == "CgSMS"
