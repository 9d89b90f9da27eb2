"""The HTTP layer of the adapters: kept-alive connections, and what a failed call says about
whether the request reached the provider.

``make_session`` gives the adapters a lean client on urllib3's connection pools: the same
requests on the wire as a ``requests.Session`` (body, headers, query string, basic auth,
timeouts, proxies and CA bundle of the environment, TLS verified), the same exceptions
(``requests``' own, raised for the same failures, so that ``never_reached`` and
``BaseProvider._request`` tell "never reached" from "maybe taken" alike), without the
per-call work of ``requests`` (request preparation, settings merged, cookies, hooks), which
was most of the CPU a send costs. Redirects are not followed: a provider's API answers
directly, and a send must never be replayed elsewhere.

A provider reached directly (no proxy in the environment) is called through
``direct_http.DirectPool`` (its own kept-alive sockets, the same exceptions); through a proxy,
urllib3's pools are used."""

import json as jsonlib
import os
import threading
import time
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import _basic_auth_str
from requests.models import RequestEncodingMixin
from requests.utils import (
    DEFAULT_CA_BUNDLE_PATH,
    default_headers,
    get_environ_proxies,
    select_proxy,
)
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.retry import Retry

from .direct_http import DirectPool, NotConnected

# Never wait longer than this for a Retry-After header, whatever the provider asks.
RETRY_AFTER_CAP = 10.0
# No retry inside urllib3 (as ``requests`` with ``max_retries=0``): whether a failed call may
# be repeated is decided by ``BaseProvider._request``.
_NO_RETRY = Retry(0, read=False)


class Response:
    """What the adapters read of an answer, as ``requests.Response`` offers it."""

    __slots__ = ("content", "headers", "reason", "status_code", "url")

    def __init__(self, status_code, reason, headers, content, url):
        self.status_code = status_code
        self.reason = reason
        self.headers = headers  # case-insensitive (urllib3's HTTPHeaderDict)
        self.content = content
        self.url = url

    @property
    def encoding(self):
        # As ``requests``: the charset of the Content-Type, else Latin-1 for text/*.
        content_type = self.headers.get("Content-Type", "")
        for param in content_type.split(";")[1:]:
            key, _sep, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("'\"")
        if content_type.lower().startswith("text/"):
            return "ISO-8859-1"
        return "utf-8"

    @property
    def text(self):
        try:
            return str(self.content, self.encoding, errors="replace")
        except LookupError:  # an unknown charset
            return str(self.content, "utf-8", errors="replace")

    @property
    def ok(self):
        return self.status_code < 400

    def json(self):
        """The body as JSON; ``ValueError`` when it is not (as ``requests``)."""
        return jsonlib.loads(self.content)


class KeptAliveSession:
    """A client with ``requests.Session.request``'s call for what the adapters use
    (``params``, ``data``, ``json``, ``headers``, ``auth``, ``timeout``), keeping up to
    ``pool_size`` connections per host alive. Thread-safe: the pools are."""

    ENVIRONMENT_TTL = 60.0

    def __init__(self, pool_size=10):
        self.pool_size = max(1, int(pool_size))
        self.headers = dict(default_headers())
        self._lock = threading.Lock()
        self._routes = {}  # (scheme, netloc) -> (expiry, pool or proxy manager, proxied)
        self._proxy_managers = {}

    def close(self):
        with self._lock:
            routes, self._routes = self._routes, {}
            managers, self._proxy_managers = self._proxy_managers, {}
        for _expiry, pool, _proxied in routes.values():
            pool.close()
        for manager in managers.values():
            manager.clear()

    def request(
        self, method, url, params=None, data=None, json=None, headers=None, auth=None, timeout=None
    ):
        method = method.upper()
        if params:
            query = RequestEncodingMixin._encode_params(params)
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        call_headers = dict(self.headers)
        body = None
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
            call_headers["Content-Type"] = "application/json"
        elif data:
            body = RequestEncodingMixin._encode_params(data)
            if isinstance(body, str):
                body = body.encode("utf-8")
            call_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if body is None and method not in ("GET", "HEAD"):
            call_headers["Content-Length"] = "0"
        if auth is not None:
            call_headers["Authorization"] = _basic_auth_str(*auth)
        if headers:
            call_headers.update(headers)
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        parts = urlsplit(url)
        pool, proxied = self._route(parts)
        target = url
        if not proxied:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if isinstance(pool, DirectPool):
            status, reason, answer_headers, content = pool.send(
                method, target, body, call_headers, connect, read
            )
            return Response(status, reason, answer_headers, content, url)
        try:
            answer = pool.urlopen(
                method,
                target,
                body=body,
                headers=call_headers,
                redirect=False,
                assert_same_host=False,
                retries=_NO_RETRY,
                timeout=urllib3.Timeout(connect=connect, read=read),
                preload_content=True,
                decode_content=True,
            )
        except MaxRetryError as exc:
            # The same exceptions as requests' HTTPAdapter.send for the same failures.
            reason = exc.reason
            if isinstance(reason, ConnectTimeoutError) and not isinstance(
                reason, NewConnectionError
            ):
                raise requests.ConnectTimeout(exc) from None
            if isinstance(reason, Urllib3ProxyError):
                raise requests.exceptions.ProxyError(exc) from None
            if isinstance(reason, Urllib3SSLError):
                raise requests.exceptions.SSLError(exc) from None
            raise requests.ConnectionError(exc) from None
        except (ProtocolError, OSError, ClosedPoolError) as exc:
            raise requests.ConnectionError(exc) from None
        except Urllib3ProxyError as exc:
            raise requests.exceptions.ProxyError(exc) from None
        except Urllib3SSLError as exc:
            raise requests.exceptions.SSLError(exc) from None
        except ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc) from None
        except Urllib3HTTPError as exc:
            raise requests.RequestException(exc) from None
        return Response(answer.status, answer.reason, answer.headers, answer.data, url)

    def _route(self, parts):
        """The connection pool for the URL's host (or the proxy manager when the environment
        sets a proxy for it), the environment read again once a minute."""
        key = (parts.scheme, parts.netloc)
        now = time.monotonic()
        route = self._routes.get(key)
        if route is not None and route[0] >= now:
            return route[1], route[2]
        with self._lock:
            route = self._routes.get(key)
            if route is not None and route[0] >= now:
                return route[1], route[2]
            url = f"{parts.scheme}://{parts.netloc}/"
            proxy = select_proxy(url, get_environ_proxies(url)) or None
            tls = {}
            if parts.scheme == "https":
                bundle = (
                    os.environ.get("REQUESTS_CA_BUNDLE")
                    or os.environ.get("CURL_CA_BUNDLE")
                    or DEFAULT_CA_BUNDLE_PATH
                )
                option = "ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"
                tls = {"cert_reqs": "CERT_REQUIRED", option: bundle}
            if proxy:
                manager = self._proxy_managers.get((proxy, tuple(tls.items())))
                if manager is None:
                    manager = urllib3.proxy_from_url(
                        proxy,
                        proxy_headers=HTTPAdapter().proxy_headers(proxy),
                        num_pools=4,
                        maxsize=self.pool_size,
                        block=False,
                        **tls,
                    )
                    self._proxy_managers[(proxy, tuple(tls.items()))] = manager
                pool = manager
            else:
                old = route[1] if route is not None and not route[2] else None
                pool = old or DirectPool(parts, self.pool_size, **tls)
            self._routes[key] = (now + self.ENVIRONMENT_TTL, pool, bool(proxy))
            return pool, bool(proxy)


def make_session(pool_size=10):
    """The adapters' HTTP client (``KeptAliveSession``), keeping up to ``pool_size``
    connections per host alive (one per call in flight), without retries of its own."""
    return KeptAliveSession(pool_size)


def never_reached(exc):
    """True when a ``requests`` connection error happened before anything was sent (refused,
    DNS failure): the request certainly did not reach the server."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | NotConnected)


def retry_after_seconds(response, default):
    """Delay asked by a ``Retry-After`` header (seconds form), capped by ``RETRY_AFTER_CAP``."""
    value = response.headers.get("Retry-After", "") if response is not None else ""
    try:
        delay = float(value)
    except (TypeError, ValueError):
        delay = default
    return max(0.0, min(delay, RETRY_AFTER_CAP))
