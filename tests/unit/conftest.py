"""Fixtures for the pure-Python tests: the fake gateway and adapters pointed at it."""

import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# ``providers`` is importable on its own (no Odoo): the test modules import it directly, and
# the fake gateway (tests/fake_gateway) as ``fake_gateway``.
sys.path.insert(0, os.path.join(ROOT, "addons", "cgsms"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

PROVIDER_CODES = ("twilio", "vonage", "lusosms", "sandbox")
SENDERS = {"twilio": "+15005550006", "vonage": "CgSMS", "lusosms": "CgSMS", "sandbox": "CgSMS"}
SPECS_DIR = os.path.join(ROOT, "tests", "contract", "specs")


def default_credentials(code):
    import fake_gateway as fg

    username, password, secret = fg.DEFAULT_ACCOUNTS[code]
    if code == "twilio":
        secret = password  # Twilio signs status callbacks with the auth token
    return username, password, secret


@pytest.fixture(scope="session")
def gateway_server():
    from fake_gateway import FakeGateway

    gateway = FakeGateway().start()
    gateway.timeout_delay = 1.0
    gateway.slow_delay = 0.2
    yield gateway
    gateway.stop()


@pytest.fixture
def gateway(gateway_server):
    gateway_server.reset()
    gateway_server.auto_deliver = False
    gateway_server.callback_base = ""
    yield gateway_server
    gateway_server.reset()


class Receiver:
    """A tiny HTTP server recording delivery reports as ``WebhookRequest`` objects."""

    def __init__(self):
        from providers import WebhookRequest

        self.requests = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = f"http://{self.headers.get('Host')}{self.path}"
                # like the Odoo controller: ``params`` is the query string only
                params = dict(parse_qsl(urlsplit(self.path).query))
                receiver.requests.append(
                    WebhookRequest(self.command, url, dict(self.headers.items()), params, body)
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self._handle()

            def do_POST(self):
                self._handle()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def receiver_server():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(receiver_server):
    receiver_server.requests.clear()
    receiver_server.status = 200
    return receiver_server


@pytest.fixture
def make_provider(gateway):
    """Build an adapter for ``code`` talking to the gateway, with short timeouts and no sleep."""

    from providers import ProviderConfig, get_provider_class

    def make(code, session=None, **overrides):
        username, password, secret = default_credentials(code)
        values = {
            "base_url": gateway.url,
            "username": username,
            "password": password,
            "sender": SENDERS[code],
            "webhook_secret": secret,
            "timeout": 0.5,
            "retries": 2,
            "backoff": 0.01,
        }
        values.update(overrides)
        provider = get_provider_class(code)(ProviderConfig(**values), session=session)
        provider.sleeps = []
        provider._sleep = provider.sleeps.append
        return provider

    return make
