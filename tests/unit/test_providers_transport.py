"""The adapters' HTTP client (``make_session``) puts on the wire what a ``requests.Session``
does: the contract tests validate the requests ``requests`` makes against the providers'
OpenAPI documents, so the lean client must make the very same ones. Also its TLS settings
and the proxies of the environment."""

import contextlib
import datetime
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from conftest import PROVIDER_CODES, SENDERS
from providers import OutgoingSms, ProviderConfig, ProviderError, get_provider_class, make_session

# Headers that say the same thing whichever client wrote them (or differ by nature).
IGNORED_HEADERS = {"host", "user-agent", "accept-encoding"}


class Recorder:
    """An HTTP server answering 200 ``{}`` to anything, recording each request."""

    def __init__(self):
        self.requests = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    {
                        "method": self.command,
                        "target": self.path,
                        "headers": {
                            k.lower(): v
                            for k, v in self.headers.items()
                            if k.lower() not in IGNORED_HEADERS
                        },
                        "body": body,
                    }
                )
                answer = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.stop()


def _calls(code, base_url, session):
    config = ProviderConfig(
        base_url,
        username="AC0123456789abcdef0123456789abcdef" if code == "twilio" else "user",
        password="Secret-Ção-4711",
        sender=SENDERS[code],
        callback_url="https://odoo.example/cgsms/dlr",
        retries=0,
    )
    provider = get_provider_class(code)(config, session=session)
    message = OutgoingSms("ref-1", "+351912345678", "Olá, ação: 10 € & mais", sender="")
    provider.send([message])
    # "{}" is no balance nor lookup answer: only the requests matter here
    with contextlib.suppress(ProviderError):
        provider.get_balance()
    with contextlib.suppress(ProviderError):
        provider.lookup(message, datetime.datetime(2026, 12, 1))


def _normalised(recorded):
    out = []
    for item in recorded:
        parts = urlsplit(item["target"])
        content_type = item["headers"].get("content-type", "")
        body = item["body"]
        if "x-www-form-urlencoded" in content_type:
            body = sorted(parse_qsl(body.decode()))
        out.append(
            (
                item["method"],
                parts.path,
                sorted(parse_qsl(parts.query)),
                sorted(item["headers"].items()),
                body,
            )
        )
    return out


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_lean_client_sends_what_requests_sends(recorder, code):
    _calls(code, recorder.url, requests.Session())
    by_requests = _normalised(recorder.requests)
    recorder.requests.clear()
    _calls(code, recorder.url, make_session(4))
    by_lean = _normalised(recorder.requests)
    assert by_requests, "the adapter made no request"
    assert by_lean == by_requests
    # byte for byte, bodies included (JSON and forms alike)
    assert [r[4] for r in by_lean] == [r[4] for r in by_requests]


def test_https_is_verified_against_the_ca_bundle():
    url = "https://api.twilio.com/2010-04-01/Accounts"
    pool, proxied = make_session(2)._route(urlsplit(url))
    assert not proxied
    assert pool.cert_reqs == "CERT_REQUIRED"
    # the bundle requests would verify with (the environment's, else certifi's)
    settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
    assert pool.ca_certs == settings["verify"]


def test_proxy_of_the_environment_is_used(recorder, monkeypatch):
    for name in ("http_proxy", "all_proxy", "ALL_PROXY", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", recorder.url)
    response = make_session(2).request("GET", "http://provider.invalid/api/balance", timeout=2)
    assert response.status_code == 200
    [seen] = recorder.requests
    assert seen["target"] == "http://provider.invalid/api/balance"


def test_never_reached_and_timeouts_raise_as_requests_does(recorder):
    from providers.transport import never_reached

    session = make_session(2)
    with pytest.raises(requests.ConnectionError) as info:
        session.request("POST", "http://127.0.0.1:9/x", json={}, timeout=1)
    assert never_reached(info.value)
    response = session.request("POST", recorder.url + "/x", json={"a": 1}, timeout=1)
    assert response.status_code == 200
    assert response.json() == {}
