"""The provider interface: registry, data classes, helpers, sender rules, redaction."""

import logging

import providers
import pytest
import requests
from providers import ProviderConfig, ProviderError, get_provider_class, provider_selection
from providers.base import count_segments, is_gsm7, redact


def test_registry_has_the_four_providers_in_order():
    assert [code for code, _label in provider_selection()] == [
        "twilio",
        "vonage",
        "lusosms",
        "sandbox",
    ]
    assert set(providers.PROVIDERS) == {"twilio", "vonage", "lusosms", "sandbox"}
    assert get_provider_class("twilio").code == "twilio"
    with pytest.raises(KeyError):
        get_provider_class("nope")


def test_providers_do_not_import_odoo():
    import sys

    assert "odoo" not in sys.modules


def test_config_repr_hides_secrets():
    config = ProviderConfig("http://x", "user", "p4ssw0rd-value", webhook_secret="hook-secret")
    for text in (repr(config), str(config), repr(get_provider_class("sandbox")(config))):
        assert "p4ssw0rd-value" not in text
        assert "hook-secret" not in text
        assert "user" in text


def test_provider_error_redacts_credentials():
    error = ProviderError(
        "auth",
        "GET /api/send?username=a&password=s3cret&to=1 failed",
        "001",
        "token=abc&api_secret=zzz",
    )
    assert "s3cret" not in str(error)
    assert "abc" not in error.provider_text and "zzz" not in error.provider_text
    assert error.error_class == "auth"
    assert error.provider_code == "001"
    assert ProviderError("weird", "x").error_class == "unknown"


def test_redact_masks_query_secrets():
    text = "GET /api/balance?username=demo&password=demo&pass=x&api_secret=y&token=z HTTP/1.1"
    assert redact(text) == (
        "GET /api/balance?username=demo&password=***&pass=***&api_secret=***&token=*** HTTP/1.1"
    )


def test_urllib3_request_lines_are_redacted(caplog):
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logger = logging.getLogger("urllib3.connectionpool")
    logger.debug(
        '%s://%s:%s "%s %s %s" %s',
        "http",
        "h",
        80,
        "GET",
        "/account/get-balance?api_key=k&api_secret=TOPSECRET",
        "HTTP/1.1",
        200,
    )
    assert "TOPSECRET" not in caplog.text
    assert "api_key=k" in caplog.text


def test_providers_count_segments_with_the_one_counter_of_tools():
    # One segment counter in the addon: what the adapters and the fake gateway charge is what
    # the send form shows (its cases are in test_sms_segments.py).
    import tools.sms_segments

    assert count_segments is tools.sms_segments.count_segments
    assert is_gsm7 is tools.sms_segments.is_gsm7
    assert count_segments("x" * 161).segments == 2


@pytest.mark.parametrize(
    "code, sender, ok",
    [
        ("twilio", "+351912345678", True),
        ("twilio", "CgSMS", True),
        ("twilio", "Loja 24", True),
        ("twilio", "12345", False),  # alphanumeric senders need a letter
        ("twilio", "TooLongSenderName", False),
        ("twilio", "+0123", False),
        ("twilio", "", False),
        ("twilio", "MG" + "a" * 32, True),
        ("twilio", "MGbad", False),
        ("vonage", "CgSMS", True),
        ("vonage", "Ação", False),
        ("vonage", "", False),
        ("lusosms", "CgSMS", True),
        ("lusosms", "Cg SMS", False),
        ("lusosms", "ABCDEFGHIJKL", False),
        ("lusosms", "", True),
        ("sandbox", "", True),
        ("sandbox", "CgSMS", True),
    ],
)
def test_validate_sender(code, sender, ok):
    provider = get_provider_class(code)(ProviderConfig("http://x"))
    error = provider.validate_sender(sender)
    assert (error is None) is ok, error
    if error:
        assert error.endswith(".")


def test_request_uses_explicit_timeout():
    seen = {}

    class Session(requests.Session):
        def request(self, method, url, **kwargs):
            seen.update(kwargs)
            raise requests.ConnectionError("boom")

    provider = get_provider_class("sandbox")(
        ProviderConfig("http://x", timeout=3.5, retries=0), session=Session()
    )
    with pytest.raises(ProviderError) as info:
        provider.get_balance()
    assert seen["timeout"] == 3.5
    assert info.value.error_class == "temporary"
    # Nothing says the request was never sent: for a send this would be ambiguous.
    assert info.value.provider_code == "dropped"


def test_retry_after_is_honoured_and_capped(gateway, make_provider):
    from providers.base import RETRY_AFTER_CAP

    class Response:
        status_code = 429
        headers = {"Retry-After": "3600"}

    provider = make_provider("sandbox")
    from providers.base import retry_after_seconds

    assert retry_after_seconds(Response(), 1.0) == RETRY_AFTER_CAP
    Response.headers = {"Retry-After": "2"}
    assert retry_after_seconds(Response(), 1.0) == 2.0
    Response.headers = {}
    assert retry_after_seconds(Response(), 1.0) == 1.0
    gateway.fail_next("sandbox", "rate_limited")
    assert provider.get_balance()
    assert provider.sleeps == [0.0]  # the gateway says Retry-After: 0
