"""Every adapter against the fake gateway: sends, balances, failures, retries, timeouts."""

import logging
import time

import pytest
from conftest import PROVIDER_CODES, default_credentials
from providers import Balance, OutgoingSms, ProviderError

NUMBER = "+351912345678"

pytestmark = pytest.mark.parametrize("code", PROVIDER_CODES)


def sms(ref="r1", to=NUMBER, body="Hello from CgSMS"):
    return OutgoingSms(ref=ref, to=to, body=body)


def test_send_ok(gateway, make_provider, code):
    provider = make_provider(code)
    [result] = provider.send([sms()])
    assert result.ok, result
    assert result.ref == "r1"
    assert result.status in ("sent", "queued")
    assert result.message_id
    assert not result.error_class
    [message] = gateway.messages
    assert message["provider"] == code
    assert message["to"] == NUMBER
    assert message["body"] == "Hello from CgSMS"
    assert message["id"] == result.message_id


def test_send_batch_keeps_order_and_charges_balance(gateway, make_provider, code):
    provider = make_provider(code)
    results = provider.send([sms(f"r{i}", body=f"Message {i}") for i in range(3)])
    assert [r.ref for r in results] == ["r0", "r1", "r2"]
    assert all(r.ok for r in results)
    assert len({r.message_id for r in results}) == 3
    assert gateway.get_balance(code) == pytest.approx(100.0 - 3 * gateway.price_per_segment)


def test_send_unicode_text(gateway, make_provider, code):
    body = "Olá, a sua reparação está concluída ✓"
    [result] = make_provider(code).send([sms(body=body)])
    assert result.ok
    assert gateway.messages[0]["body"] == body


def test_long_message_counts_segments(gateway, make_provider, code):
    [result] = make_provider(code).send([sms(body="x" * 200)])
    assert result.ok
    assert gateway.messages[0]["segments"] == 2
    assert result.message_id == gateway.messages[0]["id"]


def test_balance(gateway, make_provider, code):
    gateway.set_balance(code, None, 42.5)
    balance = make_provider(code).get_balance()
    assert isinstance(balance, Balance)
    assert balance.amount == pytest.approx(42.5)
    assert balance.currency


def test_check_credentials_ok(gateway, make_provider, code):
    assert make_provider(code).check_credentials().amount == pytest.approx(100.0)


def test_check_credentials_bad(gateway, make_provider, code):
    provider = make_provider(code, password="wrong-secret-value")
    with pytest.raises(ProviderError) as info:
        provider.check_credentials()
    assert info.value.error_class == "auth"
    assert "wrong-secret-value" not in str(info.value)
    assert len(gateway.requests_for(code, "balance")) == 1


def test_send_bad_credentials_marks_every_message_auth(gateway, make_provider, code):
    provider = make_provider(code, password="wrong-secret-value")
    results = provider.send([sms("a"), sms("b"), sms("c")])
    assert [r.error_class for r in results] == ["auth"] * 3
    assert not any(r.ok for r in results)
    assert all(r.status == "failed" for r in results)
    # The first refusal stops the batch: the provider is not hammered with bad credentials.
    assert len(gateway.requests_for(code, "send")) == 1
    assert results[1].provider_code == "not_attempted"
    assert gateway.messages == []


@pytest.mark.parametrize(
    "mode, error_class",
    [
        ("auth", "auth"),
        ("insufficient", "insufficient_credit"),
        ("invalid_number", "invalid_number"),
    ],
)
def test_final_failures_are_not_retried(gateway, make_provider, code, mode, error_class):
    gateway.fail_next(code, mode)
    provider = make_provider(code)
    [result] = provider.send([sms()])
    assert not result.ok
    assert result.status == "failed"
    assert result.error_class == error_class
    assert result.provider_code
    assert len(gateway.requests_for(code, "send")) == 1
    assert provider.sleeps == []


def test_insufficient_balance_refused(gateway, make_provider, code):
    gateway.set_balance(code, None, 0.01)
    [result] = make_provider(code).send([sms()])
    assert result.error_class == "insufficient_credit"
    assert gateway.messages == []
    assert gateway.get_balance(code) == pytest.approx(0.01)


def test_invalid_number_refused(gateway, make_provider, code):
    [bad, good] = make_provider(code).send([sms("bad", to="+12"), sms("good")])
    assert bad.error_class == "invalid_number"
    assert good.ok
    assert len(gateway.messages) == 1


def test_rate_limited_retried_then_ok(gateway, make_provider, code):
    gateway.fail_next(code, "rate_limited")
    provider = make_provider(code)
    [result] = provider.send([sms()])
    assert result.ok
    assert len(gateway.requests_for(code, "send")) == 2
    assert len(provider.sleeps) == 1


def test_rate_limited_exhausted(gateway, make_provider, code):
    gateway.fail_next(code, "rate_limited", count=5)
    provider = make_provider(code, retries=2)
    results = provider.send([sms("a"), sms("b")])
    assert [r.error_class for r in results] == ["rate_limited", "rate_limited"]
    assert len(gateway.requests_for(code, "send")) == 3  # 1 + 2 retries, then the batch stops
    assert results[1].provider_code == "not_attempted"


def test_server_error_on_send_is_not_retried(gateway, make_provider, code):
    """A 5xx may come after the provider took the SMS: the send is never repeated. Vonage
    answers its internal error inside a 200 (status 5), an explicit refusal: nothing left."""
    gateway.fail_next(code, "server_error", count=2)
    provider = make_provider(code, retries=2, backoff=0.1)
    [result] = provider.send([sms()])
    assert not result.ok
    assert len(gateway.requests_for(code, "send")) == 1
    assert provider.sleeps == []
    if code == "vonage":
        assert result.error_class == "temporary"
        assert not result.maybe_taken
    else:
        assert result.error_class == "unknown"
        assert result.maybe_taken


def test_balance_server_error_retried_then_ok(gateway, make_provider, code):
    gateway.fail_next(code, "server_error", count=2)
    provider = make_provider(code, retries=2, backoff=0.1)
    assert provider.get_balance().amount == pytest.approx(100.0)
    assert len(gateway.requests_for(code, "balance")) == 3
    assert provider.sleeps == [0.1, 0.2]  # exponential backoff


def test_send_timeout_is_unknown_and_not_resent(gateway, make_provider, code):
    gateway.fail_next(code, "timeout")
    provider = make_provider(code, timeout=0.2)
    started = time.monotonic()
    [result] = provider.send([sms()])
    assert time.monotonic() - started < 0.9
    assert not result.ok
    assert result.error_class == "unknown"
    assert result.maybe_taken
    assert result.provider_code == "timeout"
    # A send that timed out may have been accepted: it is not blindly sent again.
    assert len(gateway.requests_for(code, "send")) == 1


@pytest.mark.parametrize("mode, provider_code", [("drop_after", "dropped"), ("error_after", "504")])
def test_answer_lost_after_the_provider_took_the_sms(
    gateway, make_provider, code, mode, provider_code
):
    gateway.fail_next(code, mode)
    provider = make_provider(code)
    [result] = provider.send([sms()])
    assert not result.ok
    assert result.maybe_taken
    assert result.provider_code == provider_code
    assert len(gateway.requests_for(code, "send")) == 1
    assert len(gateway.messages) == 1  # taken once, never sent a second time


def test_send_one_is_safe_from_threads(gateway, make_provider, code):
    from concurrent.futures import ThreadPoolExecutor

    from providers import make_session

    provider = make_provider(code, session=make_session(8))
    gateway.fail_next(code, "slow", count=16, delay=0.1)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(provider.send_one, [sms(f"r{i}", body=f"n{i}") for i in range(16)]))
    elapsed = time.monotonic() - started
    assert all(r.ok for r in results)
    assert len({r.message_id for r in results}) == 16
    assert elapsed < 1.0  # 16 calls of 100 ms, 8 at a time: about 0.2 s


def test_balance_timeout_retried(gateway, make_provider, code):
    gateway.fail_next(code, "timeout")
    provider = make_provider(code, timeout=0.2)
    assert provider.get_balance().amount == pytest.approx(100.0)
    assert len(gateway.requests_for(code, "balance")) == 2


def test_balance_timeout_exhausted_raises_temporary(gateway, make_provider, code):
    gateway.fail_next(code, "timeout", count=2)
    provider = make_provider(code, timeout=0.2, retries=1)
    with pytest.raises(ProviderError) as info:
        provider.get_balance()
    assert info.value.error_class == "temporary"


def test_slow_answer_succeeds(gateway, make_provider, code):
    gateway.fail_next(code, "slow", delay=0.3)
    provider = make_provider(code, timeout=2.0)
    [result] = provider.send([sms()])
    assert result.ok
    assert len(gateway.requests_for(code, "send")) == 1


def test_connection_refused_is_temporary(gateway, make_provider, code):
    provider = make_provider(code, base_url="http://127.0.0.1:9", retries=1)
    results = provider.send([sms("a"), sms("b")])
    assert [r.error_class for r in results] == ["temporary", "temporary"]
    assert not any(r.maybe_taken for r in results)  # never reached: safe to send again
    assert len(provider.sleeps) == 1
    with pytest.raises(ProviderError) as info:
        provider.get_balance()
    assert info.value.error_class == "temporary"


def test_secrets_never_logged(gateway, make_provider, code, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    username, _password, _secret = default_credentials(code)
    password = "Unique-Secret-4711"
    gateway.add_account(code, username, password)
    provider = make_provider(code, password=password)
    provider.send([sms()])
    provider.get_balance()
    gateway.fail_next(code, "server_error", count=5)
    provider.send([sms()])
    bad = make_provider(code, password="wrong-secret-value")
    bad.send([sms()])
    with pytest.raises(ProviderError) as info:
        bad.get_balance()
    text = caplog.text
    # every call was logged (method, path and status: what a URL with its query would leak)
    calls = [r for r in caplog.records if r.name == "providers.base" and " -> " in r.getMessage()]
    assert len(calls) >= 4
    assert password not in text
    assert "wrong-secret-value" not in text
    assert "wrong-secret-value" not in str(info.value)
    assert password not in repr(provider.config)
    assert password not in repr(provider)


def test_rate_limited_send_carries_retry_after(gateway, make_provider, code):
    gateway.rate_limit = 2
    gateway.rate_burst = 1
    provider = make_provider(code, retries=0)
    first, second = provider.send_one(sms("a")), provider.send_one(sms("b"))
    assert first.ok
    assert not second.ok
    assert second.error_class == "rate_limited"
    assert not second.maybe_taken
    if code != "vonage":  # Vonage throttles inside a 200 answer, without the header
        assert second.retry_after == 1.0
    assert len(gateway.messages) == 1
    limited = [r for r in gateway.requests_for(code, "send") if r.get("limited")]
    assert len(limited) == 1


def test_lookup_finds_a_sent_message_and_not_an_unsent_one(gateway, make_provider, code):
    from datetime import datetime, timedelta

    provider = make_provider(code)
    since = datetime.utcnow() - timedelta(seconds=1)
    sent = sms("ref-sent", body="Looked up")
    [result] = provider.send([sent])
    assert result.ok
    found = provider.lookup(sent, since)
    missing = provider.lookup(sms("ref-never", body="Never sent"), since)
    if code == "vonage":  # no lookup call: resolved by the client-ref of its receipts
        assert found is None and missing is None
        return
    assert found.found
    assert found.message_id == result.message_id
    assert found.status in ("sent", "delivered")
    assert not missing.found
    # An id already recorded for another SMS is never the answer (Twilio matches by text).
    if code == "twilio":
        assert not provider.lookup(sent, since, known_ids={result.message_id}).found
    assert len(gateway.messages) == 1
