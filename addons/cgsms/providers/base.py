"""Provider interface shared by every SMS adapter.

Pure Python (no Odoo import) so that adapters can be tested without a database. An adapter turns
one provider's HTTP protocol into the small vocabulary below: ``SendResult`` per message,
``DeliveryReport`` per status callback, and an error class from ``ERROR_CLASSES``.

The vocabulary is in ``data``, the HTTP layer in ``transport``, what webhooks bring in in
``webhook``, the masking of credentials in ``redaction``; the adapters import all of it from
here.
"""

import logging
import re
import time

import requests

from .data import (
    ALNUM_SENDER_RE,
    E164_RE,
    ERROR_CLASSES,
    NOT_TAKEN_CLASSES,
    RETRYABLE_CLASSES,
    Balance,
    DeliveryReport,
    LookupResult,
    OutgoingSms,
    ProviderConfig,
    ProviderError,
    SendResult,
    to_float,
)
from .redaction import redact, url_path
from .transport import RETRY_AFTER_CAP, make_session, never_reached, retry_after_seconds
from .webhook import (
    MAX_FIELD_LENGTH,
    MAX_REPORT_BYTES,
    MAX_REPORTS_PER_REQUEST,
    WebhookRequest,
    clean_text,
    hmac_b64,
    hmac_hex,
    report_field,
    safe_equal,
)

# One segment counter for the whole addon: ``tools.sms_segments`` (also pure Python).
try:  # inside the addon (odoo.addons.cgsms.providers)
    from ..tools.sms_segments import count_segments, is_gsm7
except ImportError:  # ``providers`` imported on its own, beside ``tools`` (pure-Python tests)
    from tools.sms_segments import count_segments, is_gsm7

_logger = logging.getLogger(__name__)

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
        self.session = session or make_session()
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
