"""The gateway: its server's lifecycle, its shared state (accounts, messages, requests, queued
failures, rate buckets) and the dispatch of each request to the protocol of its provider, the
control API or IAP."""

import logging
import math
import secrets
import threading
import time
from urllib.parse import urlsplit

from . import control, iap, lusosms, replies, reports, sandbox, twilio, vonage
from .addon import count_segments
from .common import (
    AFTER_MODES,
    DEFAULT_ACCOUNTS,
    DEFAULT_BALANCE,
    DROP,
    FAILURE_MODES,
    IAP_SEND_PATH,
    PRICE_PER_SEGMENT,
    SEND_ONLY_MODES,
    Account,
    text_reply,
)
from .handler import Handler, Server, parse_request

_logger = logging.getLogger(__name__)


class FakeGateway:
    """The fake SMS gateway. ``start()`` serves in a daemon thread; ``url`` is its base URL."""

    price_per_segment = PRICE_PER_SEGMENT
    PROTOCOLS = {module.PROVIDER: module for module in (twilio, vonage, lusosms, sandbox)}
    # (method, path prefix, path suffix, provider, kind), from each protocol's routes
    ROUTES = tuple(
        (method, prefix, suffix, provider, kind)
        for provider, module in PROTOCOLS.items()
        for method, prefix, suffix, kind in module.ROUTES
    )

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
        self.lock = threading.RLock()
        self.stopping = threading.Event()
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
        self.stopping.clear()
        self._server = Server((self.host, self.port), Handler)
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
        self.stopping.set()
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
        inbound_url="",
    ):
        """Create (or replace) an account; for the sandbox, ``password`` is the bearer token."""
        if provider not in DEFAULT_ACCOUNTS:
            raise ValueError(f"Unknown provider {provider!r}")
        account = Account(
            provider,
            username,
            password,
            float(balance),
            webhook_secret,
            callback_url,
            inbound_url,
        )
        with self.lock:
            self.accounts[(provider, username)] = account
        return account

    def reset(self):
        """Back to the default accounts and balances; forget messages, requests and failures."""
        with self.lock:
            self.accounts = {}
            self.messages = []
            self.requests = []
            self.reports = []
            self.replies = []
            self.report_retried = 0
            self._failures = {}
            self._buckets = {}
            self.rate_limit = self.rate_burst = 0.0
            for provider, (username, password, secret) in DEFAULT_ACCOUNTS.items():
                self.add_account(provider, username, password, DEFAULT_BALANCE, secret)

    def set_balance(self, provider, account, amount):
        with self.lock:
            self._account(provider, account).balance = float(amount)

    def get_balance(self, provider, account=None):
        with self.lock:
            return self._account(provider, account).balance

    def fail_next(self, provider, mode, count=1, delay=None):
        """Make the next ``count`` calls to ``provider`` fail (or be slow) in ``mode``."""
        if provider not in DEFAULT_ACCOUNTS:
            raise ValueError(f"Unknown provider {provider!r}")
        if mode not in FAILURE_MODES:
            raise ValueError(f"Unknown failure mode {mode!r}; use one of {FAILURE_MODES}")
        with self.lock:
            self._failures.setdefault(provider, []).extend([(mode, delay)] * int(count))

    def requests_for(self, provider, kind=None):
        """Requests received for ``provider`` (``kind``: "send" or "balance")."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r["provider"] == provider and (kind is None or r["kind"] == kind)
            ]

    def deliver(self, message_id=None, status="delivered", error_code="", concurrency=1):
        """Send delivery reports for one message (or every pending one); returns HTTP codes.

        ``status`` is "delivered" or "failed" (a provider's own status value is accepted too).
        A code of 0 means the report could not be posted (no callback URL, connection refused).
        ``concurrency`` > 1 posts the reports of that many messages at the same time, as a
        provider does in a burst. Like the providers, a report answered 429/5xx or not
        answered at all is posted again, up to ``report_retries`` times, after the delay of
        its ``Retry-After`` header (else an exponential backoff); the last code is returned.
        """
        return reports.deliver(self, message_id, status, error_code, concurrency)

    def reply(self, provider, sender, text, **options):
        """Play the customer: ``sender`` answers with ``text``, posted to the account's
        inbound URL (or ``url``) in ``provider``'s protocol and signed like it. Options:
        ``account``, ``url``, ``to``, ``message_id`` (a replay), ``opt_out_type`` (Twilio),
        ``method`` (Vonage: GET, POST for JSON, POST-FORM), ``concat_ref`` (Vonage). Returns
        ``{"codes": [...], "message_id": ...}``; a long Vonage reply is posted in parts."""
        data = {"provider": provider, "from": sender, "text": text, **options}
        return replies.send_reply(self, data)

    # -- what the protocols use --------------------------------------------------------------

    def _account(self, provider, username=None):
        if username is None:
            username = DEFAULT_ACCOUNTS[provider][0]
        try:
            return self.accounts[(provider, username)]
        except KeyError:
            raise ValueError(f"No {provider} account {username!r}") from None

    def find_account(self, provider, username, password):
        """The account of ``provider`` with these credentials, else None."""
        with self.lock:
            account = self.accounts.get((provider, username))
        if account and secrets.compare_digest(account.password, password or ""):
            return account
        return None

    def accounts_of(self, provider):
        with self.lock:
            return [a for a in self.accounts.values() if a.provider == provider]

    def find_messages(self, predicate):
        with self.lock:
            return [m for m in self.messages if predicate(m)]

    def charge(self, account, text):
        """Reserve the price of ``text``; returns (segments, price) or None when short."""
        segments = count_segments(text)
        price = round(segments * self.price_per_segment, 4)
        with self.lock:
            if account.balance + 1e-9 < price:
                return None
            account.balance = round(account.balance - price, 6)
        return segments, price

    def record(
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
        extra=None,
    ):
        """Keep a message taken from ``account`` (and report it delivered if asked to)."""
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
            **(extra or {}),
        }
        with self.lock:
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

    def next_number(self):
        with self.lock:
            self._counter += 1
            return self._counter

    def new_id(self, prefix="", hex_len=32):
        self.next_number()
        return prefix + secrets.token_hex(hex_len // 2)

    # -- request dispatch --------------------------------------------------------------------

    def dispatch(self, command, target, headers, body):
        """The reply to one HTTP request (``target``: its path and query string)."""
        request, reply = parse_request(command, target, headers, body)
        if reply:
            return reply
        path = request["path"]
        if path.startswith("/_control/"):
            return control.handle(self, command, path[len("/_control/") :], request)
        if path == IAP_SEND_PATH:
            return iap.send(self, request)
        matches = [
            route
            for route in self.ROUTES
            if path.startswith(route[1])
            and path.endswith(route[2])
            and (route[2] or path == route[1])
        ]
        if not matches:
            return text_reply(404, "Not found")
        route = next((r for r in matches if r[0] == command), None)
        if route is None:
            return text_reply(405, "Method not allowed")
        method, _prefix, _suffix, provider, kind = route
        record = {
            "provider": provider,
            "kind": kind,
            "method": method,
            "path": path,
            "time": time.time(),
        }
        with self.lock:
            self.requests.append(record)
        protocol = self.PROTOCOLS[provider]
        mode, reply = self._apply_failure(protocol, kind)
        if reply is None and kind == "send":
            reply = self._check_rate(protocol, record)
        if reply is not None:
            return reply
        reply = getattr(protocol, kind)(self, request)
        if mode not in AFTER_MODES:
            return reply
        # the message is taken (or refused), then its answer is lost on the way back
        record["taken"] = reply.status < 300
        if mode == "drop_after":
            return DROP
        return text_reply(504, "<html><body><h1>504 Gateway Time-out</h1></body></html>")

    def _check_rate(self, protocol, record):
        """Token bucket of ``rate_limit`` sends per second: above it, a 429 (Retry-After)."""
        rate = float(self.rate_limit or 0)
        if rate <= 0:
            return None
        burst = float(self.rate_burst or 0) or max(1.0, rate / 10)
        now = time.monotonic()
        with self.lock:
            tokens, last = self._buckets.get(protocol.PROVIDER, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[protocol.PROVIDER] = (tokens - 1.0, now)
                return None
            self._buckets[protocol.PROVIDER] = (tokens, now)
            record["limited"] = True
            wait = (1.0 - tokens) / rate
        reply = protocol.error("rate_limited", "send")
        if "Retry-After" in reply.headers:
            reply.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return reply

    def wait_latency(self, target):
        if self.latency and not urlsplit(target).path.startswith("/_control/"):
            self.stopping.wait(float(self.latency))

    def _apply_failure(self, protocol, kind):
        """Apply the next queued failure of the provider: returns (mode, reply), the mode of
        an "after" failure (applied once the message is taken) or the reply of a failure."""
        with self.lock:
            queue = self._failures.get(protocol.PROVIDER) or []
            index = next(
                (
                    i
                    for i, (mode, _d) in enumerate(queue)
                    if kind == "send" or mode not in SEND_ONLY_MODES
                ),
                None,
            )
            if index is None:
                return None, None
            mode, delay = queue.pop(index)
        if mode in AFTER_MODES:
            return mode, None
        if mode == "slow":
            self.stopping.wait(self.slow_delay if delay is None else delay)
            return None, None
        if mode == "timeout":
            self.stopping.wait(self.timeout_delay if delay is None else delay)
            return None, text_reply(504, "Gateway timeout")
        return None, protocol.error(mode, kind)
