"""A bound on the delivery reports that one Odoo process serves at the same time.

Odoo takes a database connection for a request before its controller runs (to match the
route) and keeps one until the end. A provider that posts hundreds of delivery reports at
once would take every connection of the pool, and the users' own requests would fail with
"Connection Pool Is Full". So a delivery report reads its body (no database needed), then
waits here for one of a few slots, well under the pool size, before Odoo touches the
database; past a short wait, or when as many already wait, it is answered 503 with a
Retry-After header. Providers post a report again when it is not answered 2xx, so nothing is
lost, and the other users never wait on a burst of reports.

Tunable in the Odoo configuration file: ``cgsms_dlr_concurrency`` (slots per process,
default an eighth of ``db_maxconn``, at most 8) and ``cgsms_dlr_wait`` (seconds, default 2).
"""

import functools
import logging
import threading

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import http
from odoo.tools import config

from ..providers.base import MAX_REPORT_BYTES

_logger = logging.getLogger(__name__)

DLR_PATH_PREFIX = "/cgsms/dlr/"
# Replies (inbound SMS) come the same way: their body is read before Odoo parses a form into
# the route's arguments, so that their signature is checked over the body really received.
INBOUND_PATH_PREFIX = "/cgsms/in/"
GATED_PREFIXES = (DLR_PATH_PREFIX, INBOUND_PATH_PREFIX)
# Seconds a provider is asked to wait before posting a refused report again.
RETRY_AFTER = 5


def _config_number(key, default, kind=int):
    try:
        value = kind(config.get(key) or default)
    except (TypeError, ValueError):
        _logger.warning("Invalid %s in the configuration, using %s", key, default)
        value = default
    return value if value > 0 else default


class DeliveryReportGate:
    """At most ``limit`` delivery reports served at once by this process, and at most as
    many again waiting (``wait`` seconds at most) for a slot. The others are answered 503 at
    once: an HTTP thread waiting for a slot is a thread the users do not get."""

    def __init__(self, limit, wait, retry_after=None):
        self._lock = threading.Lock()
        self.refused = 0
        self.configure(limit, wait, retry_after)

    def configure(self, limit, wait, retry_after=None):
        self.limit = limit
        self.wait = wait
        self.retry_after = retry_after or RETRY_AFTER
        self._slots = threading.BoundedSemaphore(limit)
        self._waiting = 0

    def _acquire(self, slots):
        if slots.acquire(blocking=False):
            return True
        with self._lock:
            if self._waiting >= self.limit:
                return False
            self._waiting += 1
        try:
            return slots.acquire(timeout=self.wait)
        finally:
            with self._lock:
                self._waiting -= 1

    def serve(self, serve_db, request):
        """``serve_db()`` once a slot is free, else a 503 answer with Retry-After."""
        httprequest = request.httprequest
        httprequest.max_content_length = MAX_REPORT_BYTES
        try:
            # read before taking a slot: a slow sender never holds one
            httprequest.get_data(cache=True)
        except RequestEntityTooLarge:
            return http.Response("Request too large", status=413)
        slots = self._slots
        if not self._acquire(slots):
            with self._lock:
                self.refused += 1
            _logger.info("Busy with delivery reports: one answered 503 (retry later)")
            return http.Response(
                "Busy with other delivery reports, retry later",
                status=503,
                headers=[("Retry-After", str(self.retry_after))],
                content_type="text/plain",
            )
        try:
            return serve_db()
        finally:
            slots.release()


GATE = DeliveryReportGate(
    limit=_config_number(
        "cgsms_dlr_concurrency",
        max(1, min(8, (config["db_maxconn"] - config["max_cron_threads"]) // 8)),
    ),
    wait=_config_number("cgsms_dlr_wait", 2.0, float),
)


def _install():
    serve_db = http.Request._serve_db
    if getattr(serve_db, "_cgsms_gated", False):
        return

    @functools.wraps(serve_db)
    def _serve_db(self):
        if not self.httprequest.path.startswith(GATED_PREFIXES):
            return serve_db(self)
        return GATE.serve(functools.partial(serve_db, self), self)

    _serve_db._cgsms_gated = True
    http.Request._serve_db = _serve_db


_install()
