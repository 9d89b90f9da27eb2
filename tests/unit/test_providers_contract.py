"""Contract tests: our Twilio/Vonage requests and the fake gateway's answers against the
providers' published OpenAPI documents (tests/contract/specs).

The documents do not forbid unknown properties; the schemas we exercise are made strict
(``additionalProperties: false``) and form bodies are checked for undocumented fields (the
form deserializer of openapi-core only looks at documented ones), so that a misspelt field name
fails validation instead of being silently ignored, as the real APIs would do.
"""

import copy
import json
import os
from urllib.parse import parse_qsl, urlsplit

import fake_gateway as fg
import pytest
import requests
import yaml
from conftest import SPECS_DIR
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.request.exceptions import RequestValidationError
from openapi_core.validation.response.exceptions import ResponseValidationError
from openapi_schema_validator import OAS30Validator
from providers import OutgoingSms

TWILIO_SERVER = "https://api.twilio.com"
VONAGE_SERVER = "https://rest.nexmo.com"
# The Vonage documents require an 8-character API key and a 6-32 character secret.
VONAGE_KEY, VONAGE_SECRET = "abcd1234", "abcdef0123456789"
TWILIO_MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
TWILIO_BALANCE = "/2010-04-01/Accounts/{AccountSid}/Balance.json"


def _strict(schema):
    schema["additionalProperties"] = False
    return schema


def _load_json(*parts):
    with open(os.path.join(SPECS_DIR, *parts), encoding="utf-8") as f:
        return json.load(f)


def _load_yaml(*parts):
    with open(os.path.join(SPECS_DIR, *parts), encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="session")
def twilio_api():
    spec = _load_json("twilio", "twilio_api_v2010.json")
    schemas = spec["components"]["schemas"]
    _strict(schemas["api.v2010.account.message"])
    _strict(schemas["api.v2010.account.balance"])
    listing = spec["paths"][TWILIO_MESSAGES]["get"]["responses"]["200"]["content"]
    _strict(listing["application/json"]["schema"])
    body = spec["paths"][TWILIO_MESSAGES]["post"]["requestBody"]
    _strict(body["content"]["application/x-www-form-urlencoded"]["schema"])
    # Only keep the paths we use: building the full document's validators is slow.
    spec["paths"] = {p: spec["paths"][p] for p in (TWILIO_MESSAGES, TWILIO_BALANCE)}
    api = OpenAPI.from_dict(spec)
    api.form_fields = set(
        body["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]
    )
    return api


@pytest.fixture(scope="session")
def vonage_sms_spec():
    spec = _load_yaml("vonage", "sms.yml")
    for name in ("NewMessage", "SMS", "Error", "Message", "ErrorMessage", "DeliveryReceipt"):
        _strict(spec["components"]["schemas"][name])
    return spec


@pytest.fixture(scope="session")
def vonage_sms_api(vonage_sms_spec):
    api = OpenAPI.from_dict(copy.deepcopy(vonage_sms_spec))
    api.form_fields = set(vonage_sms_spec["components"]["schemas"]["NewMessage"]["properties"])
    return api


@pytest.fixture(scope="session")
def vonage_account_api():
    spec = _load_yaml("vonage", "account.yml")
    _strict(spec["components"]["schemas"]["accountBalance"])
    api = OpenAPI.from_dict(spec)
    api.form_fields = set()
    return api


@pytest.fixture
def exchanges():
    """A session recording every (request, response) pair it performs."""
    session = requests.Session()
    recorded = []
    session.hooks["response"].append(lambda r, *a, **kw: recorded.append(r))
    session.recorded = recorded
    return session


def as_documented(prepared, server):
    """A copy of ``prepared`` addressed to the provider's documented server."""
    copy_ = prepared.copy()
    parts = urlsplit(prepared.url)
    copy_.url = server + parts.path + (f"?{parts.query}" if parts.query else "")
    return copy_


class UndocumentedFieldError(AssertionError):
    """A form body carries a field the document does not define."""


INVALID_REQUEST = (RequestValidationError, UndocumentedFieldError)


def validate_request(api, prepared):
    """openapi-core validation plus a check that form fields are all documented."""
    api.validate_request(RequestsOpenAPIRequest(prepared))
    content_type = prepared.headers.get("Content-Type", "")
    if prepared.body and "application/x-www-form-urlencoded" in content_type:
        body = prepared.body.decode() if isinstance(prepared.body, bytes) else prepared.body
        unknown = {key for key, _value in parse_qsl(body)} - api.form_fields
        if unknown:
            raise UndocumentedFieldError(f"Undocumented form fields: {sorted(unknown)}")


def validate(api, response, server):
    prepared = as_documented(response.request, server)
    validate_request(api, prepared)
    api.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))


# -- Twilio ----------------------------------------------------------------------------------


def test_twilio_send_matches_spec(gateway, make_provider, exchanges, twilio_api):
    provider = make_provider("twilio", session=exchanges, callback_url="https://odoo.example/dlr")
    [result] = provider.send([OutgoingSms("r1", "+351912345678", "Olá ✓")])
    assert result.ok
    [response] = exchanges.recorded
    assert response.status_code == 201
    validate(twilio_api, response, TWILIO_SERVER)


def test_twilio_send_with_messaging_service_matches_spec(
    gateway, make_provider, exchanges, twilio_api
):
    service = "MG" + "0" * 32
    provider = make_provider("twilio", session=exchanges, sender=service)
    assert provider.send([OutgoingSms("r1", "+351912345678", "Hi")])[0].ok
    validate(twilio_api, exchanges.recorded[0], TWILIO_SERVER)


def test_twilio_balance_matches_spec(gateway, make_provider, exchanges, twilio_api):
    make_provider("twilio", session=exchanges).get_balance()
    validate(twilio_api, exchanges.recorded[0], TWILIO_SERVER)


def test_twilio_lookup_matches_spec(gateway, make_provider, exchanges, twilio_api):
    """The lookup after an ambiguous send: the message list filtered by number."""
    from datetime import UTC, datetime, timedelta

    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    provider = make_provider("twilio", session=exchanges)
    message = OutgoingSms("r1", "+351912345678", "Olá ✓")
    [sent] = provider.send([message])
    found = provider.lookup(message, since)
    assert found.found and found.message_id == sent.message_id
    listing = exchanges.recorded[1]
    assert listing.request.method == "GET"
    validate(twilio_api, listing, TWILIO_SERVER)
    assert [m["sid"] for m in listing.json()["messages"]] == [sent.message_id]


def test_twilio_list_response_with_wrong_field_fails_validation(
    gateway, make_provider, exchanges, twilio_api
):
    from datetime import datetime

    provider = make_provider("twilio", session=exchanges)
    provider.lookup(OutgoingSms("r", "+351912345678", "Hi"), datetime(2020, 1, 1))
    response = exchanges.recorded[0]
    data = response.json()
    data["items"] = data.pop("messages")
    response._content = json.dumps(data).encode()
    request = RequestsOpenAPIRequest(as_documented(response.request, TWILIO_SERVER))
    with pytest.raises(ResponseValidationError):
        twilio_api.validate_response(request, RequestsOpenAPIResponse(response))


def test_twilio_wrong_field_name_fails_validation(twilio_api):
    sid = fg.TWILIO_ACCOUNT_SID
    url = f"{TWILIO_SERVER}/2010-04-01/Accounts/{sid}/Messages.json"
    good = {"To": "+351912345678", "From": "+15005550006", "Body": "Hi"}
    prepared = requests.Request("POST", url, data=good, auth=(sid, "t")).prepare()
    validate_request(twilio_api, prepared)
    for wrong in ({**good, "Statuscallback": "https://x"}, {"to": "+351912345678", "Body": "Hi"}):
        prepared = requests.Request("POST", url, data=wrong, auth=(sid, "t")).prepare()
        with pytest.raises(INVALID_REQUEST):
            validate_request(twilio_api, prepared)


def test_twilio_request_without_auth_fails_validation(twilio_api):
    url = f"{TWILIO_SERVER}/2010-04-01/Accounts/{fg.TWILIO_ACCOUNT_SID}/Messages.json"
    prepared = requests.Request("POST", url, data={"To": "+351912345678"}).prepare()
    with pytest.raises(RequestValidationError):
        twilio_api.validate_request(RequestsOpenAPIRequest(prepared))


def test_twilio_response_with_wrong_field_fails_validation(
    gateway, make_provider, exchanges, twilio_api
):
    make_provider("twilio", session=exchanges).send([OutgoingSms("r", "+351912345678", "Hi")])
    response = exchanges.recorded[0]
    data = response.json()
    data["message_sid"] = data.pop("sid")
    response._content = json.dumps(data).encode()
    request = RequestsOpenAPIRequest(as_documented(response.request, TWILIO_SERVER))
    with pytest.raises(ResponseValidationError):
        twilio_api.validate_response(request, RequestsOpenAPIResponse(response))


# -- Vonage ----------------------------------------------------------------------------------


@pytest.fixture
def vonage_account(gateway):
    gateway.add_account("vonage", VONAGE_KEY, VONAGE_SECRET, webhook_secret="sig-secret")


@pytest.mark.parametrize("text", ["Hello", "Olá, reparação concluída", "x" * 200])
def test_vonage_send_matches_spec(
    gateway, vonage_account, make_provider, exchanges, vonage_sms_api, text
):
    provider = make_provider(
        "vonage",
        session=exchanges,
        username=VONAGE_KEY,
        password=VONAGE_SECRET,
        callback_url="https://odoo.example/dlr",
    )
    assert provider.send([OutgoingSms("r1", "+351912345678", text)])[0].ok
    [response] = exchanges.recorded
    validate(vonage_sms_api, response, VONAGE_SERVER)


def test_vonage_error_answer_matches_spec(
    gateway, vonage_account, make_provider, exchanges, vonage_sms_api
):
    gateway.fail_next("vonage", "insufficient")
    provider = make_provider(
        "vonage", session=exchanges, username=VONAGE_KEY, password=VONAGE_SECRET
    )
    [result] = provider.send([OutgoingSms("r1", "+351912345678", "Hi")])
    assert result.error_class == "insufficient_credit"
    validate(vonage_sms_api, exchanges.recorded[0], VONAGE_SERVER)


def test_vonage_balance_matches_spec(
    gateway, vonage_account, make_provider, exchanges, vonage_account_api
):
    provider = make_provider(
        "vonage", session=exchanges, username=VONAGE_KEY, password=VONAGE_SECRET
    )
    assert provider.get_balance().amount == pytest.approx(100.0)
    validate(vonage_account_api, exchanges.recorded[0], VONAGE_SERVER)


def test_vonage_wrong_field_name_fails_validation(vonage_sms_api):
    url = f"{VONAGE_SERVER}/sms/json"
    good = {
        "api_key": VONAGE_KEY,
        "api_secret": VONAGE_SECRET,
        "from": "CgSMS",
        "to": "351912345678",
        "text": "Hi",
    }
    validate_request(vonage_sms_api, requests.Request("POST", url, data=good).prepare())
    wrong_cases = (
        {**{k: v for k, v in good.items() if k != "to"}, "msisdn": "351912345678"},
        {**good, "to": "351 912 345"},  # digits only
        {**good, "client_ref": "r1"},  # documented as client-ref
    )
    for wrong in wrong_cases:
        prepared = requests.Request("POST", url, data=wrong).prepare()
        with pytest.raises(INVALID_REQUEST):
            validate_request(vonage_sms_api, prepared)


def test_vonage_delivery_receipt_matches_spec(
    gateway, vonage_account, receiver, make_provider, vonage_sms_spec
):
    provider = make_provider(
        "vonage",
        username=VONAGE_KEY,
        password=VONAGE_SECRET,
        webhook_secret="sig-secret",
        callback_url=f"{receiver.url}/dlr",
    )
    [result] = provider.send([OutgoingSms("r1", "+351912345678", "Hi")])
    gateway.deliver(result.message_id, "failed")
    [request] = receiver.requests
    schema = vonage_sms_spec["components"]["schemas"]["DeliveryReceipt"]
    receipt = json.loads(request.body)
    OAS30Validator(schema).validate(receipt)
    assert provider.verify_signature(request)
    assert not OAS30Validator(schema).is_valid({**receipt, "message_id": "x"})


def test_vonage_receipt_carries_our_reference(
    gateway, make_provider, receiver, vonage_account, vonage_sms_spec
):
    """Vonage has no lookup call: a send whose answer was lost is resolved by the receipt,
    which echoes the client-ref we sent (documented in DeliveryReceipt)."""
    provider = make_provider(
        "vonage",
        username=VONAGE_KEY,
        password=VONAGE_SECRET,
        webhook_secret="sig-secret",
        callback_url=f"{receiver.url}/dlr",
    )
    gateway.fail_next("vonage", "drop_after")
    [result] = provider.send([OutgoingSms("our-ref-1", "+351912345678", "Hi")])
    assert result.maybe_taken
    gateway.deliver(gateway.messages[0]["id"], "delivered")
    [request] = receiver.requests
    schema = vonage_sms_spec["components"]["schemas"]["DeliveryReceipt"]
    OAS30Validator(schema).validate(json.loads(request.body))
    [report] = provider.parse_delivery_report(request)
    assert report.ref == "our-ref-1"
    assert report.message_id == gateway.messages[0]["id"]
    assert report.status == "delivered"
