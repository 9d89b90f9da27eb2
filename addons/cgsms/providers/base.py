"""Provider interface shared by every SMS adapter.

Pure Python (no Odoo import) so that adapters can be tested without a database. An adapter turns
one provider's HTTP protocol into the small vocabulary below: ``SendResult`` per message,
``DeliveryReport`` per status callback, and an error class from ``ERROR_CLASSES``.
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field, fields
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

# One segment counter for the whole addon: ``tools.sms_segments`` (also pure Python).
try:  # inside the addon (odoo.addons.cgsms.providers)
    from ..tools.sms_segments import count_segments, is_gsm7
except ImportError:  # ``providers`` imported on its own, beside ``tools`` (pure-Python tests)
    from tools.sms_segments import count_segments, is_gsm7  # noqa: F401

_logger = logging.getLogger(__name__)

ERROR_CLASSES = (
    "auth",
    "insufficient_credit",
    "invalid_number",
    "rate_limited",
    "temporary",
    "rejected",
    "unknown",
)

# Errors worth retrying inside one call; everything else is final for that call.
RETRYABLE_CLASSES = ("temporary", "rate_limited")
# A failed send of one of these classes certainly did not leave: the provider refused it or
# was never reached. "unknown" is the only class where the SMS may have been taken.
NOT_TAKEN_CLASSES = ("auth", "insufficient_credit", "invalid_number", "rate_limited", "temporary")
# Never wait longer than this for a Retry-After header, whatever the provider asks.
RETRY_AFTER_CAP = 10.0

E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
ALNUM_SENDER_RE = re.compile(r"^[A-Za-z0-9 ]+$")

# -- redaction -------------------------------------------------------------------------------

_SECRET_QUERY_RE = re.compile(
    r"((?:^|[?&;\s])(?:password|pass|api_secret|token|sig)=)[^&\s\"']*", re.IGNORECASE
)


def redact(text):
    """Mask the values of credential-like query parameters in ``text``."""
    return _SECRET_QUERY_RE.sub(r"\1***", str(text))


def url_path(url):
    """The path of ``url`` only: safe to log even when the query string carries credentials."""
    return urlsplit(url).path or "/"


def _redact_arg(value):
    return redact(value) if isinstance(value, str) else value


class _RedactSecretsFilter(logging.Filter):
    """urllib3 logs request lines (with query strings) at DEBUG: mask credentials in them."""

    def filter(self, record):
        if isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_arg(a) for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def _install_log_filter():
    target = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactSecretsFilter) for f in target.filters):
        target.addFilter(_RedactSecretsFilter())


_install_log_filter()


# -- registry -------------------------------------------------------------------------------

# Filled by ``register`` when the package imports its adapter modules.
PROVIDERS = {}


def register(cls):
    """Class decorator adding an adapter to ``PROVIDERS`` under its ``code``."""
    PROVIDERS[cls.code] = cls
    return cls


def get_provider_class(code):
    """The adapter class for ``code``; KeyError with a clear message when unknown."""
    try:
        return PROVIDERS[code]
    except KeyError:
        raise KeyError(f"Unknown SMS provider {code!r}") from None


def provider_selection():
    """``(code, label)`` pairs for a selection field, in registration order."""
    ordered = sorted(PROVIDERS.values(), key=lambda cls: (cls.sequence, cls.code))
    return [(cls.code, cls.label) for cls in ordered]


# -- data ------------------------------------------------------------------------------------


@dataclass
class ProviderConfig:
    """Connection settings of one provider account."""

    base_url: str
    username: str = ""
    password: str = ""  # secret, token or API secret depending on the provider
    sender: str = ""
    callback_url: str = ""
    webhook_secret: str = ""  # signs delivery reports (Vonage signature secret, HMAC key)
    timeout: float = 15.0
    retries: int = 2
    backoff: float = 0.5

    _SECRET_FIELDS = ("password", "webhook_secret")

    def __repr__(self):
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._SECRET_FIELDS and value:
                value = "***"
            parts.append(f"{f.name}={value!r}")
        return f"ProviderConfig({', '.join(parts)})"

    __str__ = __repr__


@dataclass
class Balance:
    """The provider's own balance (money or credits, in ``currency``)."""

    amount: float
    currency: str = ""


@dataclass
class OutgoingSms:
    """One message to send: ``ref`` is the caller's reference, ``to`` an E.164 number."""

    ref: str
    to: str
    body: str
    sender: str = ""


@dataclass
class SendResult:
    """Outcome of one message: status is ``sent``, ``queued`` or ``failed``."""

    ref: str
    ok: bool
    status: str
    message_id: str = ""
    error_class: str = ""
    provider_code: str = ""
    provider_text: str = ""
    price: float | None = None
    retry_after: float | None = None  # seconds the provider asked to wait (429)

    @property
    def maybe_taken(self):
        """True when the SMS may have reached the provider although the call failed (no
        answer, dropped connection, 5xx...): it must not be sent again before a lookup."""
        return not self.ok and self.error_class not in (*NOT_TAKEN_CLASSES, "rejected")


@dataclass
class LookupResult:
    """What the provider knows of a message we may have sent: ``found`` with its id and our
    delivery status (``sent``, ``delivered``, ``failed``), or not found (safe to send again)."""

    found: bool
    message_id: str = ""
    status: str = ""


@dataclass
class DeliveryReport:
    """A delivery status received from the provider: ``sent``, ``delivered`` or ``failed``."""

    message_id: str
    status: str
    error_class: str = ""
    provider_code: str = ""
    provider_text: str = ""
    ref: str = ""  # our reference, when the provider echoes it (Vonage ``client-ref``)


# Delivery reports bigger than this, or carrying more reports than this, are refused: no
# provider sends anything close, and parsing must stay cheap under a burst.
MAX_REPORT_BYTES = 64 * 1024
MAX_REPORTS_PER_REQUEST = 100
# Longest value kept from a report field (ids, codes, texts).
MAX_FIELD_LENGTH = 256


@dataclass
class WebhookRequest:
    """An incoming HTTP request, independent of the web framework that received it.

    ``url`` is the full URL as received (with query string); ``params`` holds the query-string
    parameters only; ``body`` is the raw body, exactly as received. Adapters read a report only
    from what its signature covers: the raw body (``body_params``/``json_body``), or the query
    string of a signed URL. They never merge the two, and never let the Content-Type header
    decide which of them is read.
    """

    method: str
    url: str
    headers: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    body: bytes = b""

    def header(self, name):
        """Case-insensitive header lookup."""
        name = name.lower()
        for key, value in (self.headers or {}).items():
            if key.lower() == name:
                return value
        return ""

    def body_params(self):
        """The raw body read as ``application/x-www-form-urlencoded``, whatever the
        Content-Type says; ValueError when it is not text."""
        try:
            text = (self.body or b"").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("The report body is not UTF-8 text") from exc
        return dict(parse_qsl(text, keep_blank_values=True))

    def form_params(self):
        """Alias of ``body_params``: the form fields are the ones in the raw body only."""
        return self.body_params()

    def json_body(self):
        """The raw body decoded as JSON; ValueError when it is not JSON or nested too deep."""
        if not self.body:
            raise ValueError("The report body is empty")
        if len(self.body) > MAX_REPORT_BYTES:
            raise ValueError("The report body is too large")
        try:
            return json.loads(self.body)
        except RecursionError as exc:
            raise ValueError("The report body is nested too deeply") from exc
        except ValueError as exc:
            raise ValueError("The report body is not valid JSON") from exc


# What a webhook's text may not carry into the database: NUL and the other control characters
# (PostgreSQL refuses NUL; the others are invisible), lone UTF-16 surrogates (not encodable as
# UTF-8: JSON's "\ud800" decodes to one). Tabs and line breaks stay.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


def clean_text(value):
    """``value`` as it may be stored: control characters removed, each lone surrogate
    replaced by U+FFFD (the replacement character, as an undecodable byte is)."""
    if not isinstance(value, str):
        return value
    return _SURROGATE_RE.sub("\ufffd", _CONTROL_RE.sub("", value))


def report_field(data, key, default=""):
    """``data[key]`` as a short string, cleaned (``clean_text``): ``default`` when missing or
    empty; ValueError when ``data`` is not an object, or the value a list, an object or
    anything but text or a number."""
    if not isinstance(data, dict):
        raise ValueError("The report is not an object")
    value = data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"The field {key!r} of the report must be text")
    value = clean_text(str(value))
    if len(value) > MAX_FIELD_LENGTH:
        raise ValueError(f"The field {key!r} of the report is too long")
    return value or default


class ProviderError(Exception):
    """A failure of a whole call (not of one message): bad credentials, provider down..."""

    def __init__(self, error_class, message, provider_code="", provider_text="", retry_after=None):
        if error_class not in ERROR_CLASSES:
            error_class = "unknown"
        self.error_class = error_class
        self.retry_after = retry_after
        self.provider_code = str(provider_code or "")
        self.provider_text = redact(provider_text or "")
        super().__init__(redact(message))


# -- helpers ---------------------------------------------------------------------------------


def hmac_hex(secret, payload, digestmod=hashlib.sha256):
    """Hex HMAC of ``payload`` (bytes or str) keyed with ``secret``."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), payload, digestmod).hexdigest()


def hmac_b64(secret, payload, digestmod=hashlib.sha1):
    """Base64 HMAC of ``payload`` keyed with ``secret`` (Twilio's signature format)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), payload, digestmod).digest()
    return base64.b64encode(digest).decode("ascii")


def safe_equal(a, b):
    """Constant-time comparison of two strings."""
    return hmac.compare_digest((a or "").encode("utf-8"), (b or "").encode("utf-8"))


def to_float(value):
    """``float(value)`` or None for empty/invalid values."""
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class _Session(requests.Session):
    """A session that reads the proxy and CA bundle settings of the environment once a minute
    per host rather than on every call (``requests`` does it per call: at hundreds of SMS a
    second that is a good part of the CPU a send costs)."""

    ENVIRONMENT_TTL = 60.0

    def __init__(self):
        super().__init__()
        self._environment = {}
        self._environment_lock = threading.Lock()

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or stream is not None or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        now = time.monotonic()
        with self._environment_lock:
            cached = self._environment.get(key)
        if cached is None or cached[0] < now:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            cached = (now + self.ENVIRONMENT_TTL, settings)
            with self._environment_lock:
                self._environment[key] = cached
        return dict(cached[1], proxies=dict(cached[1]["proxies"]))


def make_session(pool_size=10):
    """A ``requests.Session`` keeping up to ``pool_size`` connections per host alive (one per
    call in flight), without urllib3's own retries: whether a failed call may be repeated is
    decided by ``BaseProvider._request``."""
    session = _Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(1, int(pool_size)), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def never_reached(exc):
    """True when a ``requests`` connection error happened before anything was sent (refused,
    DNS failure): the request certainly did not reach the server."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def retry_after_seconds(response, default):
    """Delay asked by a ``Retry-After`` header (seconds form), capped by ``RETRY_AFTER_CAP``."""
    value = response.headers.get("Retry-After", "") if response is not None else ""
    try:
        delay = float(value)
    except (TypeError, ValueError):
        delay = default
    return max(0.0, min(delay, RETRY_AFTER_CAP))


# -- adapter base ----------------------------------------------------------------------------


class BaseProvider:
    """Base class of the provider adapters.

    Subclasses implement ``_send_one``, ``get_balance``, ``verify_signature`` and
    ``parse_delivery_report``; they use ``_request`` for every HTTP call so that timeouts,
    retries and logging behave the same everywhere.
    """

    code = ""
    label = ""
    sequence = 50  # position in selection lists
    sender_max_len = 11
    # Headers or parameters that carry the webhook signature (for documentation and tests).
    signature_header = ""
    # Whether the provider posts the SMS customers send back (``parse_inbound``).
    receives_replies = False

    def __init__(self, config, session=None):
        self.config = config
        self.session = session or requests.Session()
        self._sleep = time.sleep  # replaced in tests

    def __repr__(self):
        return f"<{type(self).__name__} {self.config!r}>"

    # -- public interface --------------------------------------------------------------------

    def check_credentials(self):
        """Make a real, harmless call with the configured credentials.

        Returns the provider balance when the API has one (else None); raises
        ``ProviderError("auth", ...)`` when the credentials are refused, or another
        ``ProviderError`` when the provider cannot be reached.
        """
        return self.get_balance()

    def get_balance(self):
        """Return the provider's own ``Balance``, or None when the API has no balance call."""

    def send_one(self, message):
        """Send one ``OutgoingSms`` and return its ``SendResult``; never raises for a provider
        failure. Safe to call from several threads at once (one HTTP call, no shared state
        besides the keep-alive session). ``result.maybe_taken`` tells an ambiguous failure
        (the SMS may have left) from one where it certainly did not."""
        try:
            return self._send_one(message)
        except ProviderError as exc:
            result = self._failed(message, exc.error_class, exc.provider_code, str(exc))
            result.retry_after = exc.retry_after
            return result

    def lookup(self, message, since, known_ids=()):
        """Look ``message`` (an ``OutgoingSms`` sent with its ``ref``, at or after the datetime
        ``since``, naive UTC) up at the provider after an ambiguous failure; ``known_ids``:
        provider ids already recorded for other SMS, never an answer.

        Returns ``LookupResult(found=True, ...)`` when the provider has it, ``found=False``
        when it certainly does not (safe to send again), or None when the provider's API
        offers no way to tell. Raises ``ProviderError`` when the lookup itself failed."""
        return None

    def send(self, messages):
        """Send ``messages`` (list of ``OutgoingSms``) and return one ``SendResult`` per message.

        Results come in the same order. Per-message problems never raise: they become
        ``ok=False`` results with an error class. When the credentials are refused or the
        provider cannot be reached, the remaining messages are not attempted and get the same
        error class (``provider_code`` "not_attempted"): they can safely be sent again later.
        """
        results = []
        stop = None
        for message in messages:
            if stop is not None:
                results.append(
                    SendResult(
                        ref=message.ref,
                        ok=False,
                        status="failed",
                        error_class=stop.error_class,
                        provider_code="not_attempted",
                        provider_text=f"Not attempted: {stop.provider_text}",
                    )
                )
                continue
            result = self.send_one(message)
            results.append(result)
            if not result.ok and result.error_class in ("auth", "temporary", "rate_limited"):
                stop = result
        sent = sum(1 for r in results if r.ok)
        _logger.info("%s: %d/%d message(s) accepted", self.code, sent, len(results))
        return results

    def validate_sender(self, sender):
        """Return an English sentence explaining why ``sender`` is refused, or None if valid."""
        if not sender:
            return "A sender is required: a phone number in international format or a name."
        if sender.startswith("+"):
            if not E164_RE.match(sender):
                return "The sender number must be in international format, e.g. +351912345678."
            return None
        if not ALNUM_SENDER_RE.match(sender) or len(sender) > self.sender_max_len:
            return (
                f"The sender name may only contain letters, digits and spaces, "
                f"{self.sender_max_len} characters at most."
            )
        if not re.search(r"[A-Za-z]", sender):
            return "The sender name must contain at least one letter (or use +number format)."
        return None

    def verify_signature(self, request):
        """Return True when ``request`` (a ``WebhookRequest``) is signed by the provider."""
        return False

    def parse_delivery_report(self, request):
        """Return the ``DeliveryReport`` list carried by ``request``; ValueError if malformed."""
        raise NotImplementedError

    def parse_inbound(self, request):
        """Return the ``inbound.InboundSms`` list (replies) carried by ``request``; ValueError
        if malformed. Only for adapters whose ``receives_replies`` is True."""
        raise NotImplementedError

    # -- to implement ------------------------------------------------------------------------

    def _send_one(self, message):
        raise NotImplementedError

    # -- helpers for subclasses --------------------------------------------------------------

    def _url(self, path):
        return self.config.base_url.rstrip("/") + path

    def _sender_for(self, message):
        return message.sender or self.config.sender

    @staticmethod
    def _failed(message, error_class, provider_code="", provider_text=""):
        return SendResult(
            ref=message.ref,
            ok=False,
            status="failed",
            error_class=error_class or "unknown",
            provider_code=str(provider_code or ""),
            provider_text=provider_text or "",
        )

    def _transient_error(self, response):
        """Error class when ``response`` is worth retrying (``temporary``/``rate_limited``)."""
        if response.status_code == 429:
            return "rate_limited"
        if response.status_code >= 500:
            return "temporary"
        return ""

    def _request(self, method, url, idempotent=None, **kwargs):
        """Perform an HTTP call with the shared session, a timeout and bounded retries.

        A call is only repeated when the first one certainly did not reach the provider
        (connection refused, DNS failure, connect timeout, 429 Too Many Requests). Idempotent
        calls (balance, lookups) are also repeated after a 5xx, a dropped connection or a read
        timeout. A send never is: the provider may have taken it, and sending it again could
        deliver it twice. Such an ambiguous send raises ``ProviderError("unknown", ...)``
        (``provider_code`` "timeout", "dropped" or the HTTP status), to be looked up later.
        Returns the last response otherwise (the caller classifies it); raises
        ``ProviderError("temporary", ...)`` when the provider could not be reached at all and
        ``ProviderError("rate_limited", ...)`` (with ``retry_after``) for a send refused with
        429 after the retries.
        """
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD")
        kwargs.setdefault("timeout", self.config.timeout)
        attempts = 1 + max(0, int(self.config.retries))
        path = url_path(url)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            delay = self.config.backoff * (2**attempt)
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.ConnectTimeout:
                error = ("temporary", "timeout", "connection timed out")
                retry = True
            except requests.Timeout:
                error = ("unknown", "timeout", "no answer in time; the request may have been taken")
                retry = idempotent
            except requests.ConnectionError as exc:
                if never_reached(exc):
                    error = ("temporary", "connection", "connection failed")
                    retry = True
                else:
                    error = (
                        "unknown",
                        "dropped",
                        "connection lost; the request may have been taken",
                    )
                    retry = idempotent
            except requests.RequestException as exc:
                raise ProviderError(
                    "unknown", f"{self.code}: {method} {path} failed ({type(exc).__name__})"
                ) from None
            else:
                _logger.debug("%s: %s %s -> %s", self.code, method, path, response.status_code)
                status = response.status_code
                if status >= 500 and not idempotent:
                    # A proxy or the provider failed while handling the send: it may have
                    # been forwarded and accepted before the failure.
                    raise ProviderError(
                        "unknown",
                        f"{self.code}: {method} {path}: HTTP {status}; the request may have "
                        "been taken",
                        provider_code=str(status),
                        provider_text=f"HTTP {status}",
                    )
                transient = self._transient_error(response)
                if transient == "rate_limited":
                    delay = retry_after_seconds(response, delay)
                    if last and not idempotent:
                        raise ProviderError(
                            "rate_limited",
                            f"{self.code}: {method} {path}: rate limited",
                            provider_code=str(status),
                            provider_text="rate limited",
                            retry_after=delay,
                        )
                elif transient and not idempotent:
                    transient = ""  # an explicit refusal: final for this call
                if not transient or last:
                    return response
                _logger.info(
                    "%s: %s %s answered %s (%s), retrying in %.2fs",
                    self.code,
                    method,
                    path,
                    status,
                    transient,
                    delay,
                )
                self._sleep(delay)
                continue
            _logger.warning("%s: %s %s: %s", self.code, method, path, error[2])
            if last or not retry:
                # Reading twice is harmless: only a send can be ambiguous.
                raise ProviderError(
                    "temporary" if idempotent else error[0],
                    f"{self.code}: {method} {path}: {error[2]}",
                    provider_code=error[1],
                    provider_text=error[2],
                )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
