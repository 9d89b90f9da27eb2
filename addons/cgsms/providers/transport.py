"""The HTTP layer of the adapters: kept-alive sessions, and what a failed call says about
whether the request reached the provider."""

import threading
import time
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

# Never wait longer than this for a Retry-After header, whatever the provider asks.
RETRY_AFTER_CAP = 10.0


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
