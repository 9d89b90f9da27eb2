"""The fake gateway itself: accounts, charging, failure queue and the HTTP control API."""

import json
import subprocess
import sys
import time

import fake_gateway as fg
import pytest
import requests
from conftest import ROOT
from providers import OutgoingSms


def control(gateway, action, payload=None):
    if payload is None:
        response = requests.get(f"{gateway.url}/_control/{action}", timeout=5)
    else:
        response = requests.post(f"{gateway.url}/_control/{action}", json=payload, timeout=5)
    return response


def test_default_accounts():
    assert len(fg.TWILIO_ACCOUNT_SID) == 34 and fg.TWILIO_ACCOUNT_SID.startswith("AC")
    assert fg.DEFAULT_ACCOUNTS["vonage"][:2] == ("fakekey", "fakesecret")
    assert fg.DEFAULT_ACCOUNTS["lusosms"][:2] == ("demo", "demo")
    assert fg.DEFAULT_ACCOUNTS["sandbox"][1] == "sandbox-token"


def test_control_api_round_trip(gateway, receiver, make_provider):
    assert control(gateway, "balance", {"provider": "sandbox", "amount": 7}).ok
    assert gateway.get_balance("sandbox") == 7
    assert control(gateway, "fail", {"provider": "sandbox", "mode": "invalid_number"}).ok
    provider = make_provider("sandbox", callback_url=f"{receiver.url}/dlr")
    bad, good = provider.send(
        [OutgoingSms("a", "+351912345678", "x"), OutgoingSms("b", "+351912345679", "y")]
    )
    assert bad.error_class == "invalid_number" and good.ok
    messages = control(gateway, "messages").json()["messages"]
    assert [m["ref"] for m in messages] == ["b"]
    answer = control(gateway, "deliver", {"message_id": good.message_id, "status": "failed"})
    assert answer.json() == {"codes": [200], "retried": 0}
    assert provider.parse_delivery_report(receiver.requests[0])[0].status == "failed"
    accounts = control(gateway, "accounts").json()["accounts"]
    assert all("password" not in a and "webhook_secret" not in a for a in accounts)
    assert control(gateway, "reset", {}).ok
    assert gateway.messages == [] and gateway.get_balance("sandbox") == fg.DEFAULT_BALANCE


def test_control_api_rejects_bad_input(gateway):
    assert control(gateway, "fail", {"provider": "sandbox", "mode": "nope"}).status_code == 400
    assert control(gateway, "fail", {"provider": "nope", "mode": "auth"}).status_code == 400
    assert control(gateway, "frobnicate", {}).status_code == 404


def test_control_api_adds_accounts(gateway, make_provider):
    payload = {"provider": "lusosms", "username": "loja", "password": "segredo", "balance": 3}
    assert control(gateway, "account", payload).ok
    provider = make_provider("lusosms", username="loja", password="segredo")
    assert provider.get_balance().amount == 3


def test_unknown_path_is_404(gateway):
    assert requests.get(f"{gateway.url}/nothing", timeout=5).status_code == 404


def test_send_only_failures_wait_for_a_send(gateway, make_provider):
    gateway.fail_next("lusosms", "insufficient")
    provider = make_provider("lusosms")
    assert provider.get_balance().amount == 100
    assert provider.send([OutgoingSms("r", "+351912345678", "x")])[0].error_class == (
        "insufficient_credit"
    )


def test_fail_next_validates_arguments(gateway):
    with pytest.raises(ValueError):
        gateway.fail_next("twilio", "explode")
    with pytest.raises(ValueError):
        gateway.fail_next("acme", "auth")


def test_cli_serves_until_stopped(tmp_path):
    script = f"{ROOT}/scripts/fake_gateway.py"
    process = subprocess.Popen(
        [sys.executable, script, "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line
        url = line.split()[4]
        deadline = time.monotonic() + 5
        while True:
            try:
                assert requests.get(f"{url}/_control/messages", timeout=1).ok
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(5)


def test_latency_delays_provider_and_iap_calls_not_the_control_api(gateway, make_provider):
    assert control(gateway, "settings", {"latency": 0.3}).ok
    try:
        provider = make_provider("sandbox")
        started = time.monotonic()
        (result,) = provider.send([OutgoingSms("a", "+351912345678", "x")])
        assert result.ok
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        payload = {"params": {"messages": [{"content": "x", "numbers": [{"number": "+1"}]}]}}
        assert requests.post(f"{gateway.url}{fg.IAP_SEND_PATH}", json=payload, timeout=5).ok
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        assert len(control(gateway, "messages").json()["messages"]) == 2
        assert time.monotonic() - started < 0.3
    finally:
        gateway.latency = 0.0


def test_protocol_handlers_return_their_reply_without_a_server():
    gateway = fg.FakeGateway()  # never started: no socket, the dispatch alone
    headers = {"Authorization": f"Bearer {fg.SANDBOX_TOKEN}", "Content-Type": "application/json"}
    body = json.dumps({"to": "+351912345678", "text": "Olá", "ref": "r1"}).encode()
    reply = gateway.dispatch("POST", "/sandbox/v1/messages", headers, body)
    assert isinstance(reply, fg.Reply) and reply.status == 201
    assert json.loads(reply.body)["segments"] == 1
    refused = gateway.dispatch("GET", "/sandbox/v1/balance", {}, b"")
    assert refused.status == 401 and json.loads(refused.body)["error"]["code"] == "unauthorized"
    gateway.fail_next("sandbox", "drop_after")
    assert gateway.dispatch("POST", "/sandbox/v1/messages", headers, body).drop
    assert gateway.requests[-1]["taken"] is True and len(gateway.messages) == 2
