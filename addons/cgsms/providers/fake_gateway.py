"""A local HTTP server speaking the Twilio, Vonage, LusoSMS and sandbox protocols.

Used by the tests, the benchmark and the demo: it checks credentials, keeps a balance per
account, records every message, can be told to fail the next calls in a given way, and sends
signed delivery reports to the callback URLs, exactly as the real providers do.

Other processes drive it through a small JSON control API::

    GET  /_control/messages             -> {"messages": [...]}
    GET  /_control/requests             -> {"requests": [...]}
    GET  /_control/accounts             -> {"accounts": [...]}
    POST /_control/fail      {"provider", "mode", "count"?, "delay"?}
    POST /_control/deliver   {"message_id"?, "status"?, "error_code"?, "concurrency"?}
                             -> {"codes": [...], "retried": N}
    POST /_control/reset
    POST /_control/balance   {"provider", "account"?, "amount"}
    POST /_control/account   {"provider", "username", "password", "balance"?, ...}
    POST /_control/settings  {"auto_deliver"?, "callback_base"?, "timeout_delay"?,
                              "rate_limit"?, "rate_burst"?, ...}

Besides the providers' send and balance calls it serves their lookups: Twilio's message list
(``GET .../Messages.json?To=..``), LusoSMS ``GET /api/status?ref=..`` and the sandbox's
``GET /sandbox/v1/messages?ref=..``.

Failure modes of ``fail``: the providers' own refusals (``auth``, ``insufficient``,
``invalid_number``, ``rate_limited``, ``server_error``), ``timeout`` (sleeps then 504 without
taking the message), ``slow`` (sleeps ``delay`` then answers normally), and the ambiguous ones of
a proxy in front of the provider: ``drop_after`` (the message is taken, then the connection is
closed without an answer) and ``error_after`` (taken, then 504 Gateway Timeout).

``rate_limit`` (messages per second, 0: none) makes every provider refuse sends above it with its
own "too many requests" answer (429 + Retry-After), as a token bucket holding ``rate_burst``.

``latency`` (seconds, a setting) delays every provider and IAP call, as a provider that far
away would; the control API answers at once.
"""

import contextlib
import json
import logging
import math
import secrets
import sys
import threading
import time
from base64 import b64decode
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from .base import E164_RE, count_segments, hmac_hex, retry_after_seconds
from .twilio import twilio_signature
from .vonage import vonage_signature

_logger = logging.getLogger(__name__)

TWILIO_ACCOUNT_SID = "AC" + "c95a1f0e7d3b4a2c8e6f9d1b3a5c7e90"
TWILIO_AUTH_TOKEN = "fake-auth-token"
VONAGE_API_KEY = "fakekey"
VONAGE_API_SECRET = "fakesecret"
VONAGE_SIGNATURE_SECRET = "fake-vonage-signature-secret"
LUSOSMS_USERNAME = "demo"
LUSOSMS_PASSWORD = "demo"
LUSOSMS_WEBHOOK_SECRET = "fake-lusosms-webhook-secret"
SANDBOX_USERNAME = "sandbox"
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_WEBHOOK_SECRET = "fake-sandbox-webhook-secret"

# provider -> (username, password, webhook secret)
DEFAULT_ACCOUNTS = {
    "twilio": (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, ""),
    "vonage": (VONAGE_API_KEY, VONAGE_API_SECRET, VONAGE_SIGNATURE_SECRET),
    "lusosms": (LUSOSMS_USERNAME, LUSOSMS_PASSWORD, LUSOSMS_WEBHOOK_SECRET),
    "sandbox": (SANDBOX_USERNAME, SANDBOX_TOKEN, SANDBOX_WEBHOOK_SECRET),
}
DEFAULT_BALANCE = 100.0
PRICE_PER_SEGMENT = 0.05
# Where delivery reports go when a message carries no callback URL (``callback_base`` + path).
CALLBACK_PATHS = {provider: f"/cgsms/webhook/{provider}" for provider in DEFAULT_ACCOUNTS}

FAILURE_MODES = (
    "auth",
    "insufficient",
    "invalid_number",
    "rate_limited",
    "server_error",
    "timeout",
    "slow",
    "drop_after",
    "error_after",
)
# Modes that only make sense for a send; balance calls and lookups leave them queued.
SEND_ONLY_MODES = ("insufficient", "invalid_number", "drop_after", "error_after")
# The message is taken, then the answer is lost on its way back (a proxy failing).
AFTER_MODES = ("drop_after", "error_after")
FINAL_STATUSES = ("delivered", "failed")
# Reports that say the SMS is on its way (each provider's word), not delivered nor failed.
INTERIM_STATUSES = ("sent", "accepted", "buffered", "queued", "sending")
IAP_SEND_PATH = "/api/sms/3/send"  # Odoo IAP's SMS endpoint (benchmark of the stock path)


@dataclass
class Account:
    provider: str
    username: str
    password: str
    balance: float = DEFAULT_BALANCE
    webhook_secret: str = ""
    callback_url: str = ""


class _ReplyError(Exception):
    """Raised by the protocol handlers to answer the current request."""

    def __init__(self, status, body, content_type="application/json", headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def _json(status, data, headers=None):
    return _ReplyError(status, json.dumps(data), "application/json", headers)


def _text(status, text, headers=None):
    return _ReplyError(status, text, "text/plain; charset=utf-8", headers)


def _now_rfc2822():
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


class _DropConnection(Exception):
    """Close the connection without answering (the message was taken)."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "CgSmsFakeGateway/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every kept-alive call (benchmark numbers).
    disable_nagle_algorithm = True

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def log_message(self, format, *args):
        pass  # request lines carry credentials (query strings): never log them

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.gateway._wait_latency(self.path)
        try:
            self.server.gateway._dispatch(self, body)
        except _ReplyError as reply:
            self._send(reply)
        except _DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
        except Exception:
            _logger.exception("fake gateway: error while handling %s", urlsplit(self.path).path)
            self._send(_json(500, {"error": {"code": "internal", "message": "internal error"}}))

    def _send(self, reply):
        data = reply.body.encode("utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            _logger.debug("fake gateway: the client gave up before the answer (timeout tests)")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many calls in flight open many connections at once: the default backlog (5) would
    # drop SYNs and add a second of latency to the calls that overflow it.
    request_queue_size = 256
    block_on_close = False
    allow_reuse_address = True


class FakeGateway:
    """The fake SMS gateway. ``start()`` serves in a daemon thread; ``url`` is its base URL."""

    price_per_segment = PRICE_PER_SEGMENT

    def __init__(self, host="127.0.0.1", port=0, callback_base="", auto_deliver=False):
        self.host = host
        self.port = port
        self.callback_base = callback_base
        self.auto_deliver = auto_deliver
        self.auto_deliver_delay = 0.2
        self.timeout_delay = 2.0  # "timeout" failures sleep this long (beyond client timeouts)
        self.slow_delay = 0.5
        self.latency = 0.0  # seconds added to every provider call (benchmarks)
        self.vonage_signature_method = "md5hash"  # or "sha256"
        # Delivery reports: answered 429/5xx or not at all, they are posted again like the
        # providers do, up to ``report_retries`` times (0: never).
        self.report_retries = 0
        self.report_backoff = 0.5
        self.report_retry_cap = 30.0
        self.report_timeout = 10.0
        self.report_retried = 0
        self.rate_limit = 0.0  # sends per second per provider, 0: unlimited
        self.rate_burst = 0.0  # bucket size, 0: max(1, rate_limit / 10)
        self._buckets = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self.accounts = {}
        self.messages = []
        self.requests = []
        self.reports = []
        self._failures = {}
        self._counter = 0
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        """Bind and serve in a daemon thread; returns self."""
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.gateway = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="cgsms-fake-gateway", daemon=True
        )
        self._thread.start()
        _logger.info("fake gateway listening on %s", self.url)
        return self

    def serve_forever(self):
        """Serve until interrupted (used by the CLI); starts the server if needed."""
        if self._server is None:
            self.start()
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            _logger.info("fake gateway: interrupted")
        finally:
            self.stop()

    def stop(self):
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    # -- configuration -----------------------------------------------------------------------

    def add_account(
        self,
        provider,
        username,
        password,
        balance=DEFAULT_BALANCE,
        webhook_secret="",
        callback_url="",
    ):
        """Create (or replace) an account; for the sandbox, ``password`` is the bearer token."""
        if provider not in DEFAULT_ACCOUNTS:
            raise ValueError(f"Unknown provider {provider!r}")
        account = Account(
            provider, username, password, float(balance), webhook_secret, callback_url
        )
        with self._lock:
            self.accounts[(provider, username)] = account
        return account

    def reset(self):
        """Back to the default accounts and balances; forget messages, requests and failures."""
        with self._lock:
            self.accounts = {}
            self.messages = []
            self.requests = []
            self.reports = []
            self.report_retried = 0
            self._failures = {}
            self._buckets = {}
            self.rate_limit = self.rate_burst = 0.0
            for provider, (username, password, secret) in DEFAULT_ACCOUNTS.items():
                self.add_account(provider, username, password, DEFAULT_BALANCE, secret)

    def set_balance(self, provider, account, amount):
        with self._lock:
            self._account(provider, account).balance = float(amount)

    def get_balance(self, provider, account=None):
        with self._lock:
            return self._account(provider, account).balance

    def fail_next(self, provider, mode, count=1, delay=None):
        """Make the next ``count`` calls to ``provider`` fail (or be slow) in ``mode``."""
        if provider not in DEFAULT_ACCOUNTS:
            raise ValueError(f"Unknown provider {provider!r}")
        if mode not in FAILURE_MODES:
            raise ValueError(f"Unknown failure mode {mode!r}; use one of {FAILURE_MODES}")
        with self._lock:
            self._failures.setdefault(provider, []).extend([(mode, delay)] * int(count))

    def requests_for(self, provider, kind=None):
        """Requests received for ``provider`` (``kind``: "send" or "balance")."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r["provider"] == provider and (kind is None or r["kind"] == kind)
            ]

    def _account(self, provider, username=None):
        if username is None:
            username = DEFAULT_ACCOUNTS[provider][0]
        try:
            return self.accounts[(provider, username)]
        except KeyError:
            raise ValueError(f"No {provider} account {username!r}") from None

    def _find_account(self, provider, username, password):
        with self._lock:
            account = self.accounts.get((provider, username))
        if account and secrets.compare_digest(account.password, password or ""):
            return account
        return None

    def _sandbox_account(self, token):
        with self._lock:
            for account in self.accounts.values():
                if account.provider == "sandbox" and secrets.compare_digest(
                    account.password, token or ""
                ):
                    return account
        return None

    # -- request dispatch --------------------------------------------------------------------

    ROUTES = (
        ("POST", "/2010-04-01/Accounts/", "/Messages.json", "twilio", "send"),
        ("GET", "/2010-04-01/Accounts/", "/Messages.json", "twilio", "lookup"),
        ("GET", "/2010-04-01/Accounts/", "/Balance.json", "twilio", "balance"),
        ("POST", "/sms/json", "", "vonage", "send"),
        ("GET", "/account/get-balance", "", "vonage", "balance"),
        ("GET", "/api/send", "", "lusosms", "send"),
        ("GET", "/api/balance", "", "lusosms", "balance"),
        ("GET", "/api/status", "", "lusosms", "lookup"),
        ("POST", "/sandbox/v1/messages", "", "sandbox", "send"),
        ("GET", "/sandbox/v1/messages", "", "sandbox", "lookup"),
        ("GET", "/sandbox/v1/balance", "", "sandbox", "balance"),
    )

    def _dispatch(self, handler, body):
        parts = urlsplit(handler.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        request = {
            "method": handler.command,
            "path": path,
            "query": query,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "body": body,
            "form": {},
            "json": None,
        }
        content_type = request["headers"].get("content-type", "")
        if "application/x-www-form-urlencoded" in content_type:
            request["form"] = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif "json" in content_type and body:
            try:
                request["json"] = json.loads(body)
            except ValueError:
                raise _json(400, {"error": {"code": "bad_json", "message": "Bad JSON"}}) from None
        if path.startswith("/_control/"):
            self._control(handler.command, path[len("/_control/") :], request)
        if path == IAP_SEND_PATH:
            self._iap_send(request)
        matches = [
            route
            for route in self.ROUTES
            if path.startswith(route[1])
            and path.endswith(route[2])
            and (route[2] or path == route[1])
        ]
        if not matches:
            raise _text(404, "Not found")
        route = next((r for r in matches if r[0] == handler.command), None)
        if route is None:
            raise _text(405, "Method not allowed")
        method, _prefix, _suffix, provider, kind = route
        record = {
            "provider": provider,
            "kind": kind,
            "method": method,
            "path": path,
            "time": time.time(),
        }
        with self._lock:
            self.requests.append(record)
        mode = self._apply_failure(provider, kind)
        if kind == "send":
            self._check_rate(provider, record)
        if mode not in AFTER_MODES:
            getattr(self, f"_{provider}_{kind}")(request)
        try:
            getattr(self, f"_{provider}_{kind}")(request)
        except _ReplyError as reply:
            record["taken"] = reply.status < 300
        if mode == "drop_after":
            raise _DropConnection()
        raise _text(504, "<html><body><h1>504 Gateway Time-out</h1></body></html>")

    def _check_rate(self, provider, record):
        """Token bucket of ``rate_limit`` sends per second: above it, a 429 (Retry-After)."""
        rate = float(self.rate_limit or 0)
        if rate <= 0:
            return
        burst = float(self.rate_burst or 0) or max(1.0, rate / 10)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(provider, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[provider] = (tokens - 1.0, now)
                return
            self._buckets[provider] = (tokens, now)
            record["limited"] = True
            wait = (1.0 - tokens) / rate
        reply = getattr(self, f"_{provider}_error")("rate_limited", "send")
        if "Retry-After" in reply.headers:
            reply.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        raise reply

    def _wait_latency(self, path):
        if self.latency and not urlsplit(path).path.startswith("/_control/"):
            self._stopping.wait(float(self.latency))

    def _apply_failure(self, provider, kind):
        """Apply the next queued failure of ``provider``; returns the mode of an "after" failure
        (applied once the message is taken), else None."""
        with self._lock:
            queue = self._failures.get(provider) or []
            index = next(
                (
                    i
                    for i, (mode, _d) in enumerate(queue)
                    if kind == "send" or mode not in SEND_ONLY_MODES
                ),
                None,
            )
            if index is None:
                return None
            mode, delay = queue.pop(index)
        if mode in AFTER_MODES:
            return mode
        if mode == "slow":
            self._stopping.wait(self.slow_delay if delay is None else delay)
            return None
        if mode == "timeout":
            self._stopping.wait(self.timeout_delay if delay is None else delay)
            raise _text(504, "Gateway timeout")
        raise getattr(self, f"_{provider}_error")(mode, kind)

    # -- charging and recording --------------------------------------------------------------

    def _charge(self, account, text):
        """Reserve the price of ``text``; returns (segments, price) or None when short."""
        segments = count_segments(text)
        price = round(segments * self.price_per_segment, 4)
        with self._lock:
            if account.balance + 1e-9 < price:
                return None
            account.balance = round(account.balance - price, 6)
        return segments, price

    def _record(
        self,
        provider,
        account,
        to,
        sender,
        body,
        callback_url,
        segments,
        price,
        message_id,
        ref="",
        part_ids=None,
        status="queued",
    ):
        message = {
            "provider": provider,
            "account": account.username,
            "to": to,
            "from": sender,
            "body": body,
            "id": message_id,
            "part_ids": part_ids or [message_id],
            "status": status,
            "callback_url": callback_url,
            "segments": segments,
            "price": price,
            "ref": ref,
            "created": time.time(),
        }
        with self._lock:
            self.messages.append(message)
        if self.auto_deliver:
            timer = threading.Timer(self.auto_deliver_delay, self._auto_deliver, [message_id])
            timer.daemon = True
            timer.start()
        return message

    def _auto_deliver(self, message_id):
        try:
            self.deliver(message_id)
        except Exception:
            _logger.exception("fake gateway: automatic delivery report failed")

    def _new_id(self, prefix="", hex_len=32):
        with self._lock:
            self._counter += 1
        return prefix + secrets.token_hex(hex_len // 2)

    # -- Twilio ------------------------------------------------------------------------------

    @staticmethod
    def _twilio_reply(status, code, message):
        return _json(
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _twilio_error(self, mode, kind):
        return {
            "auth": lambda: self._twilio_reply(401, 20003, "Authenticate"),
            "insufficient": lambda: self._twilio_reply(401, 20005, "Account not active"),
            "invalid_number": lambda: self._twilio_reply(400, 21211, "Invalid 'To' Phone Number"),
            "rate_limited": lambda: _json(
                429,
                {
                    "code": 20429,
                    "message": "Too Many Requests",
                    "status": 429,
                    "more_info": "https://www.twilio.com/docs/errors/20429",
                },
                {"Retry-After": "0"},
            ),
            "server_error": lambda: self._twilio_reply(500, 20500, "Internal Server Error"),
        }[mode]()

    def _twilio_auth(self, request):
        sid = request["path"].split("/")[3]
        header = request["headers"].get("authorization", "")
        username = password = ""
        if header.startswith("Basic "):
            with contextlib.suppress(ValueError):
                username, _, password = b64decode(header[6:]).decode("utf-8").partition(":")
        account = self._find_account("twilio", username, password)
        if not account or username != sid:
            raise self._twilio_reply(401, 20003, "Authenticate")
        return account

    def _twilio_balance(self, request):
        account = self._twilio_auth(request)
        raise _json(
            200,
            {
                "account_sid": account.username,
                "balance": f"{account.balance:.4f}",
                "currency": "USD",
            },
        )

    def _twilio_send(self, request):
        account = self._twilio_auth(request)
        form = request["form"]
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From", "")
        service = form.get("MessagingServiceSid") or None
        if not to:
            raise self._twilio_reply(400, 21604, "A 'To' phone number is required.")
        if not E164_RE.match(to):
            raise self._twilio_reply(
                400, 21211, f"The 'To' number {to} is not a valid phone number."
            )
        if not sender and not service:
            raise self._twilio_reply(400, 21603, "A 'From' phone number is required.")
        if not body:
            raise self._twilio_reply(400, 21602, "Message body is required.")
        charged = self._charge(account, body)
        if charged is None:
            raise self._twilio_reply(401, 20005, "Account not active")
        segments, price = charged
        sid = self._new_id("SM")
        message = self._record(
            "twilio",
            account,
            to,
            sender or service,
            body,
            form.get("StatusCallback", ""),
            segments,
            price,
            sid,
        )
        message["service"] = service
        raise _json(201, self._twilio_resource(message, "accepted" if service else "queued"))

    @staticmethod
    def _twilio_resource(message, status=None):
        created = datetime.fromtimestamp(message["created"], UTC)
        created = created.strftime("%a, %d %b %Y %H:%M:%S +0000")
        base = f"/2010-04-01/Accounts/{message['account']}/Messages/{message['id']}"
        service = message.get("service")
        return {
            "account_sid": message["account"],
            "api_version": "2010-04-01",
            "body": message["body"],
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None if service else message["from"],
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(message["segments"]),
            "price": None,
            "price_unit": "USD",
            "sid": message["id"],
            "status": status or message["status"],
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": message["to"],
            "uri": f"{base}.json",
        }

    def _twilio_lookup(self, request):
        """The message list, newest first, filtered by ``To`` (and ``DateSent`` bounds)."""
        account = self._twilio_auth(request)
        query = request["query"]
        to = query.get("To")
        with self._lock:
            found = [
                m
                for m in self.messages
                if m["provider"] == "twilio"
                and m["account"] == account.username
                and (not to or m["to"] == to)
            ]
        found.sort(key=lambda m: m["created"], reverse=True)
        size = min(1000, max(1, int(query.get("PageSize") or 50)))
        uri = f"/2010-04-01/Accounts/{account.username}/Messages.json"
        raise _json(
            200,
            {
                "first_page_uri": f"{uri}?PageSize={size}&Page=0",
                "end": min(size, len(found)) - 1,
                "previous_page_uri": None,
                "messages": [self._twilio_resource(m) for m in found[:size]],
                "uri": f"{uri}?PageSize={size}&Page=0",
                "page_size": size,
                "start": 0,
                "next_page_uri": None,
                "page": 0,
            },
        )

    # -- Vonage ------------------------------------------------------------------------------

    @staticmethod
    def _vonage_reply(status, text):
        return _json(
            200,
            {
                "message-count": "1",
                "messages": [{"status": str(status), "error-text": text}],
            },
        )

    def _vonage_error(self, mode, kind):
        if kind == "balance":
            if mode == "auth":
                return _json(
                    401, {"error-code": "401", "error-code-label": "authentication failed"}
                )
            if mode == "rate_limited":
                return _json(429, {"error-code": "429"}, {"Retry-After": "0"})
            return _json(500, {"error-code": "500"})
        return {
            "auth": lambda: self._vonage_reply(4, "Bad Credentials"),
            "insufficient": lambda: self._vonage_reply(9, "Quota Exceeded - rejected"),
            "invalid_number": lambda: self._vonage_reply(3, "Invalid to param"),
            "rate_limited": lambda: self._vonage_reply(1, "Throughput Rate Exceeded"),
            "server_error": lambda: self._vonage_reply(5, "Internal Error"),
        }[mode]()

    def _vonage_balance(self, request):
        query = request["query"]
        account = self._find_account("vonage", query.get("api_key"), query.get("api_secret"))
        if not account:
            raise _json(401, {"error-code": "401", "error-code-label": "authentication failed"})
        raise _json(200, {"value": round(account.balance, 8), "autoReload": False})

    def _vonage_send(self, request):
        params = {**request["query"], **request["form"], **(request["json"] or {})}
        if not params.get("api_key") or not params.get("api_secret"):
            raise self._vonage_reply(2, "Missing api_key or api_secret")
        account = self._find_account("vonage", params["api_key"], params["api_secret"])
        if not account:
            raise self._vonage_reply(4, "Bad Credentials")
        to, sender, text = params.get("to", ""), params.get("from", ""), params.get("text", "")
        if not to:
            raise self._vonage_reply(2, "Missing to param")
        if not sender:
            raise self._vonage_reply(2, "Missing from param")
        if not to.isdigit() or not 7 <= len(to) <= 15:
            raise self._vonage_reply(3, "Invalid to param")
        if not text:
            raise self._vonage_reply(2, "Missing text param")
        charged = self._charge(account, text)
        if charged is None:
            raise self._vonage_reply(9, "Quota Exceeded - rejected")
        segments, price = charged
        part_ids = [self._new_id("", 16).upper() for _ in range(segments)]
        self._record(
            "vonage",
            account,
            "+" + to,
            sender,
            text,
            params.get("callback", ""),
            segments,
            price,
            part_ids[0],
            params.get("client-ref", ""),
            part_ids,
            status="sent",
        )
        part_price = round(price / segments, 8)
        messages = []
        for part_id in part_ids:
            part = {
                "to": to,
                "message-id": part_id,
                "status": "0",
                "remaining-balance": f"{account.balance:.8f}",
                "message-price": f"{part_price:.8f}",
                "network": "26801",
            }
            if params.get("client-ref"):
                part["client-ref"] = params["client-ref"]
            messages.append(part)
        raise _json(200, {"message-count": str(len(messages)), "messages": messages})

    # -- LusoSMS -----------------------------------------------------------------------------

    def _lusosms_error(self, mode, kind):
        return {
            "auth": lambda: _text(200, "ERRO 001 Autenticacao invalida"),
            "insufficient": lambda: _text(200, "ERRO 002 Creditos insuficientes"),
            "invalid_number": lambda: _text(200, "ERRO 003 Numero invalido"),
            "rate_limited": lambda: _text(429, "ERRO 009 Demasiados pedidos", {"Retry-After": "0"}),
            "server_error": lambda: _text(503, "ERRO 099 Erro interno"),
        }[mode]()

    def _lusosms_auth(self, request):
        query = request["query"]
        account = self._find_account("lusosms", query.get("username"), query.get("password"))
        if not account:
            raise _text(200, "ERRO 001 Autenticacao invalida")
        return account

    def _lusosms_balance(self, request):
        account = self._lusosms_auth(request)
        raise _text(200, f"OK {account.balance:.2f}")

    def _lusosms_send(self, request):
        account = self._lusosms_auth(request)
        query = request["query"]
        to, sender, text = query.get("to", ""), query.get("from", ""), query.get("message", "")
        number = to if to.startswith("+") else "+" + to
        if not E164_RE.match(number):
            raise _text(200, "ERRO 003 Numero invalido")
        if sender and (not sender.isalnum() or len(sender) > 11):
            raise _text(200, "ERRO 004 Remetente invalido")
        if not text or len(text) > 1000:
            raise _text(200, "ERRO 005 Mensagem vazia ou demasiado longa")
        charged = self._charge(account, text)
        if charged is None:
            raise _text(200, "ERRO 002 Creditos insuficientes")
        segments, price = charged
        with self._lock:
            self._counter += 1
            message_id = str(100000 + self._counter)
        self._record(
            "lusosms",
            account,
            number,
            sender,
            text,
            query.get("callback", ""),
            segments,
            price,
            message_id,
            query.get("ref", ""),
            status="sent",
        )
        raise _text(200, f"OK {message_id}")

    def _lusosms_lookup(self, request):
        account = self._lusosms_auth(request)
        ref = request["query"].get("ref", "")
        with self._lock:
            found = [
                m
                for m in self.messages
                if m["provider"] == "lusosms"
                and m["account"] == account.username
                and ref
                and m["ref"] == ref
            ]
        if not found:
            raise _text(200, "ERRO 010 Mensagem nao encontrada")
        status = {"delivered": "DELIVERED", "failed": "UNDELIVERED"}.get(found[0]["status"], "SENT")
        raise _text(200, f"OK {found[0]['id']} {status}")

    # -- Sandbox -----------------------------------------------------------------------------

    @staticmethod
    def _sandbox_reply(status, code, message, headers=None):
        return _json(status, {"error": {"code": code, "message": message}}, headers)

    def _sandbox_error(self, mode, kind):
        return {
            "auth": lambda: self._sandbox_reply(401, "unauthorized", "Invalid token"),
            "insufficient": lambda: self._sandbox_reply(
                402, "insufficient_credit", "Not enough credit"
            ),
            "invalid_number": lambda: self._sandbox_reply(
                422, "invalid_number", "Invalid destination number"
            ),
            "rate_limited": lambda: self._sandbox_reply(
                429, "rate_limited", "Too many requests", {"Retry-After": "0"}
            ),
            "server_error": lambda: self._sandbox_reply(503, "unavailable", "Try again later"),
        }[mode]()

    def _sandbox_auth(self, request):
        header = request["headers"].get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        account = self._sandbox_account(token)
        if not account:
            raise self._sandbox_reply(401, "unauthorized", "Invalid token")
        return account

    def _sandbox_balance(self, request):
        account = self._sandbox_auth(request)
        raise _json(200, {"balance": round(account.balance, 6), "currency": "credits"})

    def _sandbox_lookup(self, request):
        account = self._sandbox_auth(request)
        ref = request["query"].get("ref", "")
        if not ref:
            raise self._sandbox_reply(400, "bad_request", "The ref parameter is required")
        with self._lock:
            found = [
                {"id": m["id"], "ref": m["ref"], "to": m["to"], "status": m["status"]}
                for m in self.messages
                if m["provider"] == "sandbox"
                and m["account"] == account.username
                and m["ref"] == ref
            ]
        raise _json(200, {"messages": found})

    def _sandbox_send(self, request):
        account = self._sandbox_auth(request)
        data = request["json"]
        if not isinstance(data, dict):
            raise self._sandbox_reply(400, "bad_request", "A JSON object is required")
        to, text = str(data.get("to") or ""), str(data.get("text") or "")
        if not E164_RE.match(to):
            raise self._sandbox_reply(422, "invalid_number", "Invalid destination number")
        if not text:
            raise self._sandbox_reply(422, "empty_message", "The text is empty")
        charged = self._charge(account, text)
        if charged is None:
            raise self._sandbox_reply(402, "insufficient_credit", "Not enough credit")
        segments, price = charged
        message_id = self._new_id("sbx_", 24)
        self._record(
            "sandbox",
            account,
            to,
            str(data.get("from") or ""),
            text,
            str(data.get("callback_url") or ""),
            segments,
            price,
            message_id,
            str(data.get("ref") or ""),
        )
        raise _json(
            201,
            {
                "id": message_id,
                "status": "queued",
                "segments": segments,
                "price": price,
            },
        )

    # -- delivery reports --------------------------------------------------------------------

    def deliver(self, message_id=None, status="delivered", error_code="", concurrency=1):
        """Send delivery reports for one message (or every pending one); returns HTTP codes.

        ``status`` is "delivered" or "failed" (a provider's own status value is accepted too).
        A code of 0 means the report could not be posted (no callback URL, connection refused).
        ``concurrency`` > 1 posts the reports of that many messages at the same time, as a
        provider does in a burst. Like the providers, a report answered 429/5xx or not
        answered at all is posted again, up to ``report_retries`` times, after the delay of
        its ``Retry-After`` header (else an exponential backoff); the last code is returned.
        """
        with self._lock:
            if message_id:
                targets = [
                    m for m in self.messages if m["id"] == message_id or message_id in m["part_ids"]
                ]
                if not targets:
                    raise KeyError(f"Unknown message {message_id!r}")
            else:
                targets = [m for m in self.messages if m["status"] not in FINAL_STATUSES]
        failed = status not in ("delivered", "DELIVERED", "read")
        with self._lock:
            for message in targets:
                if status.lower() not in INTERIM_STATUSES:
                    message["status"] = "failed" if failed else "delivered"

        def post(message):
            return self._post_reports(message, status, error_code)

        if concurrency > 1 and len(targets) > 1:
            with ThreadPoolExecutor(max_workers=min(int(concurrency), len(targets))) as pool:
                results = list(pool.map(post, targets))
        else:
            results = [post(message) for message in targets]
        return [code for codes in results for code in codes]

    def _callback_for(self, message):
        if message["callback_url"]:
            return message["callback_url"]
        account = self.accounts.get((message["provider"], message["account"]))
        if account and account.callback_url:
            return account.callback_url
        if self.callback_base:
            return self.callback_base.rstrip("/") + CALLBACK_PATHS[message["provider"]]
        return ""

    def _post_reports(self, message, status, error_code):
        url = self._callback_for(message)
        account = self.accounts.get((message["provider"], message["account"]))
        if not url or not account:
            return [0]
        builder = getattr(self, f"_{message['provider']}_report")
        codes = []
        with requests.Session() as session:
            for kwargs in builder(message, account, url, status, error_code):
                prepared = requests.Request("POST", url, **kwargs).prepare()
                code = self._post_report(session, prepared)
                with self._lock:
                    self.reports.append(
                        {
                            "provider": message["provider"],
                            "message_id": message["id"],
                            "url": prepared.url,
                            "method": prepared.method,
                            "headers": dict(prepared.headers),
                            "body": prepared.body
                            if isinstance(prepared.body, bytes)
                            else (prepared.body or "").encode("utf-8"),
                            "code": code,
                        }
                    )
                codes.append(code)
        return codes

    def _post_report(self, session, prepared):
        """Post one report, retrying like a provider; returns the last HTTP code (0: none)."""
        code = 0
        for attempt in range(1 + max(0, int(self.report_retries))):
            if attempt:
                with self._lock:
                    self.report_retried += 1
            try:
                response = session.send(prepared, timeout=self.report_timeout)
            except requests.RequestException as exc:
                _logger.warning("fake gateway: delivery report not posted (%s)", type(exc).__name__)
                code, delay = 0, self.report_backoff * (2**attempt)
            else:
                code = response.status_code
                if code != 429 and code < 500:
                    return code
                delay = retry_after_seconds(response, self.report_backoff * (2**attempt))
            if self._stopping.wait(min(delay, self.report_retry_cap)):
                break
        return code

    def _twilio_report(self, message, account, url, status, error_code):
        native = {"delivered": "delivered", "failed": "undelivered"}.get(status, status)
        params = {
            "AccountSid": account.username,
            "ApiVersion": "2010-04-01",
            "From": message["from"],
            "MessageSid": message["id"],
            "MessageStatus": native,
            "SmsSid": message["id"],
            "SmsStatus": native,
            "To": message["to"],
        }
        if native in ("undelivered", "failed"):
            params["ErrorCode"] = error_code or "30003"
        signature = twilio_signature(account.password, url, params)
        yield {"data": params, "headers": {"X-Twilio-Signature": signature}}

    def _vonage_report(self, message, account, url, status, error_code):
        native = {"failed": "failed"}.get(status, status)
        failed = native != "delivered"
        for part_id in message["part_ids"]:
            now = datetime.now(UTC)
            params = {
                "msisdn": message["to"].lstrip("+"),
                "to": message["from"],
                "network-code": "26801",
                "messageId": part_id,
                "price": f"{message['price'] / len(message['part_ids']):.8f}",
                "status": native,
                "scts": now.strftime("%y%m%d%H%M"),
                "err-code": (error_code or "2") if failed else "0",
                "api-key": account.username,
                "message-timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
            }
            if message["ref"]:
                params["client-ref"] = message["ref"]
            if account.webhook_secret:
                params["timestamp"] = str(int(time.time()))
                params["nonce"] = secrets.token_hex(8)
                params["sig"] = vonage_signature(
                    account.webhook_secret, params, self.vonage_signature_method
                )
            yield {"json": params}

    def _lusosms_report(self, message, account, url, status, error_code):
        native = {"delivered": "DELIVERED", "sent": "SENT"}.get(status.lower(), "UNDELIVERED")
        failed = native == "UNDELIVERED"
        body = urlencode(
            {
                "id": message["id"],
                "status": native,
                "code": (error_code or "003") if failed else "000",
            }
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if account.webhook_secret:
            headers["X-LusoSMS-Signature"] = hmac_hex(account.webhook_secret, body)
        yield {"data": body.encode("utf-8"), "headers": headers}

    def _sandbox_report(self, message, account, url, status, error_code):
        native = status if status in ("delivered", "sent") else "failed"
        failed = native == "failed"
        body = json.dumps(
            {
                "id": message["id"],
                "status": native,
                "error_code": (error_code or "absent_subscriber") if failed else "",
                "error_message": "The recipient could not be reached" if failed else "",
            }
        )
        headers = {"Content-Type": "application/json"}
        if account.webhook_secret:
            headers["X-Sandbox-Signature"] = hmac_hex(account.webhook_secret, body)
        yield {"data": body.encode("utf-8"), "headers": headers}

    # -- Odoo IAP (benchmark only) -----------------------------------------------------------
    # Odoo's stock SMS path talks JSON-RPC to IAP (``sms.endpoint`` + /api/sms/3/send). The
    # benchmark points ``sms.endpoint`` here to compare both paths against the same gateway.
    # Every number is accepted and recorded with provider "iap"; no credentials, no reports.

    def _iap_send(self, request):
        payload = request["json"] if isinstance(request["json"], dict) else {}
        params = payload.get("params") or {}
        results = []
        with self._lock:
            self.requests.append(
                {"provider": "iap", "kind": "send", "method": "POST", "path": IAP_SEND_PATH}
            )
        for message in params.get("messages") or []:
            body = message.get("content") or ""
            for item in message.get("numbers") or []:
                with self._lock:
                    self.messages.append(
                        {
                            "provider": "iap",
                            "to": item.get("number"),
                            "body": body,
                            "id": item.get("uuid"),
                            "status": "sent",
                        }
                    )
                results.append({"uuid": item.get("uuid"), "state": "success", "credit": 1})
        raise _json(200, {"jsonrpc": "2.0", "id": payload.get("id"), "result": results})

    # -- control API -------------------------------------------------------------------------

    def _control(self, method, action, request):
        data = request["json"] if isinstance(request["json"], dict) else {}
        try:
            if method == "GET" and action == "messages":
                with self._lock:
                    raise _json(200, {"messages": list(self.messages)})
            if method == "GET" and action == "requests":
                with self._lock:
                    raise _json(200, {"requests": list(self.requests)})
            if method == "GET" and action == "accounts":
                with self._lock:
                    accounts = [
                        {
                            k: v
                            for k, v in asdict(a).items()
                            if k not in ("password", "webhook_secret")
                        }
                        for a in self.accounts.values()
                    ]
                raise _json(200, {"accounts": accounts})
            if method != "POST":
                raise _json(404, {"error": "unknown control action"})
            if action == "fail":
                self.fail_next(
                    data["provider"], data["mode"], data.get("count", 1), data.get("delay")
                )
            elif action == "deliver":
                codes = self.deliver(
                    data.get("message_id"),
                    data.get("status", "delivered"),
                    data.get("error_code", ""),
                    int(data.get("concurrency") or 1),
                )
                with self._lock:
                    retried = self.report_retried
                raise _json(200, {"codes": codes, "retried": retried})
            elif action == "reset":
                self.reset()
            elif action == "balance":
                self.set_balance(data["provider"], data.get("account"), data["amount"])
            elif action == "account":
                self.add_account(
                    data["provider"],
                    data["username"],
                    data["password"],
                    data.get("balance", DEFAULT_BALANCE),
                    data.get("webhook_secret", ""),
                    data.get("callback_url", ""),
                )
            elif action == "settings":
                for key in (
                    "auto_deliver",
                    "auto_deliver_delay",
                    "callback_base",
                    "timeout_delay",
                    "slow_delay",
                    "latency",
                    "price_per_segment",
                    "vonage_signature_method",
                    "report_retries",
                    "report_backoff",
                    "report_retry_cap",
                    "report_timeout",
                    "rate_limit",
                    "rate_burst",
                ):
                    if key in data:
                        setattr(self, key, data[key])
            else:
                raise _json(404, {"error": "unknown control action"})
        except (KeyError, ValueError, TypeError) as exc:
            raise _json(400, {"error": str(exc)}) from None
        raise _json(200, {"ok": True})


def main(argv=None):
    """Command line entry point: run the gateway in the foreground."""
    import argparse

    parser = argparse.ArgumentParser(description="CgSMS fake SMS gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument(
        "--callback-base",
        default="",
        help="Odoo base URL for delivery reports of messages without callback",
    )
    parser.add_argument(
        "--auto-deliver",
        action="store_true",
        help="send a 'delivered' report shortly after every message",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="milliseconds added to every provider call, as a distant provider would",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    gateway = FakeGateway(args.host, args.port, args.callback_base, args.auto_deliver)
    gateway.latency = args.latency / 1000.0
    gateway.start()
    # the first line on stdout is read by the scripts and tests that start the gateway
    sys.stdout.write(f"Fake SMS gateway on {gateway.url} (Ctrl-C to stop)\n")
    sys.stdout.flush()
    gateway.serve_forever()
    return 0
