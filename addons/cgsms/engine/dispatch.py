"""Concurrent provider calls: a thread pool that only does HTTP (no ORM, no cursor in its
threads), paced by the account's token bucket; the results are saved in the calling thread
as they arrive (``results.apply_results``)."""

import logging
import threading
from concurrent import futures

from ..providers import OutgoingSms, SendResult
from . import health, rate_bucket, results, time_budget, transaction

_logger = logging.getLogger(__name__)

# Results are saved in batches: after the first one, wait this long for a few more.
BATCH_WAIT = 0.02


def deliver_chunk(model, account, claimed, unlink_failed=False, unlink_sent=True):
    """Hand ``claimed`` (from ``_cgsms_claim_chunk``) to the provider, the calls made
    concurrently within the account's rate; each result is saved as it arrives."""
    with Dispatcher(model, account, unlink_failed, unlink_sent) as dispatcher:
        dispatcher.submit(claimed)
        while dispatcher.busy:
            dispatcher.collect()


class Dispatcher:
    """Concurrent provider calls of one account: a thread pool that only does HTTP (no ORM,
    no cursor in its threads), paced by the account's shared token bucket. The results are
    saved in the calling thread by ``collect``, as they arrive."""

    def __init__(self, model, account, unlink_failed, unlink_sent):
        self.model = model.sudo().with_context(sms_skip_msg_notification=True)
        self.account = account.sudo()
        self.unlink_failed = unlink_failed
        self.unlink_sent = unlink_sent
        self.size = max(1, self.account.cgsms_in_flight or 1)
        self.pending = {}
        self.lines = {}  # sms id -> (history line id, uuid) of the SMS submitted
        self.stopped = False
        self.requeued = False
        self.hold_until = 0.0
        self._abort = threading.Event()
        self._pool = None
        self._provider = None
        self._slot_cursor = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # On an error in the calling thread the calls not made yet are dropped; those made
        # stay "sending" and are looked up by the reconciliation.
        if exc_type is not None:
            self._abort.set()
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
        if self._slot_cursor is not None:
            self._slot_cursor.close()
        return False

    @property
    def busy(self):
        return len(self.pending)

    def submit(self, claimed):
        if not claimed:
            return
        if self._pool is None:
            self._provider = self.account._cgsms_send_provider()
            self._pool = futures.ThreadPoolExecutor(self.size, thread_name_prefix="cgsms-send")
        sender = self.account.sender or ""
        messages = []
        for sms_id, uuid, number, body, line_id in outgoing(claimed):
            messages.append(OutgoingSms(ref=uuid, to=number, body=body, sender=sender))
            self.lines[sms_id] = (line_id, uuid)
        if self._slot_cursor is None and transaction.owns(self.model.env.cr):
            # The token bucket is updated on a connection of its own, kept for the run.
            self._slot_cursor = self.model.env.registry.cursor()
        slots = rate_bucket.reserve_slots(
            self.model, self.account, len(messages), self._slot_cursor
        )
        _logger.debug(
            "submit %s in %.3fs: %s", claimed.ids, slots[0] - time_budget.clock(), self.hold_until
        )
        for sms, message, slot in zip(claimed, messages, slots, strict=True):
            self.pending[self._pool.submit(self._call, message, slot)] = sms.id

    def _call(self, message, slot):
        """In a pool thread: wait for the slot, then one HTTP call. No ORM here."""
        delay = slot - time_budget.clock()
        if delay > 0 and self._abort.wait(delay):
            return not_attempted(message, "temporary")
        if time_budget.clock() < self.hold_until:
            # The provider asked to slow down after this call was scheduled.
            return not_attempted(message, "rate_limited", self.hold_until - time_budget.clock())
        try:
            start = time_budget.clock()
            result = self._provider.send_one(message)
            result.elapsed = time_budget.clock() - start  # the account's health counts slow answers
            return result
        except Exception:  # a bug in an adapter: the SMS may have left, it is looked up
            _logger.exception("SMS provider %s failed unexpectedly", self._provider.code)
            return SendResult(ref=message.ref, ok=False, status="failed", error_class="unknown")

    def collect(self, timeout=1.0):
        """Save the results that arrived (waiting up to ``timeout`` for the first one)."""
        done, running = futures.wait(
            list(self.pending), timeout=timeout, return_when=futures.FIRST_COMPLETED
        )
        if not done:
            return
        if running and len(done) < self.size // 4:
            # Saving costs about the same for one result as for several: let a few more
            # arrive (they come back within milliseconds of each other at a steady rate).
            more, _running = futures.wait(running, timeout=BATCH_WAIT)
            done |= more
        ids, outcomes = [], []
        for future in done:
            ids.append(self.pending.pop(future))
            outcomes.append(future.result())
        # One recordset for the batch: its fields are read in one query, not one per SMS.
        answers = list(zip(self.model.browse(ids), outcomes, strict=True))
        # Only a real 429 moves the hold; calls dropped because of it do not extend it.
        limited = [
            r.retry_after or 1.0
            for _s, r in answers
            if r.error_class == "rate_limited" and r.provider_code != "not_attempted"
        ]
        _logger.debug(
            "collected %s: %s",
            len(answers),
            [(s.id, r.error_class or "ok", r.provider_code) for s, r in answers],
        )
        if limited:
            wait = max(limited)
            self.hold_until = max(self.hold_until, time_budget.clock() + wait)
            rate_bucket.hold_rate(self.model, self.account, wait)
        lines = {sms_id: self.lines.pop(sms_id, None) for sms_id in ids}
        requeued, stop = results.apply_results(
            self.model, self.account, answers, self.unlink_failed, self.unlink_sent, lines
        )
        self.requeued = self.requeued or bool(requeued)
        self.stopped = self.stopped or stop
        health.record(self.model, self.account, answers)


def outgoing(claimed):
    """(id, uuid, E.164 number, text, history line id) of each of ``claimed``, in its order:
    one query for the chunk (the claim wrote them in bulk, the ORM would read the SMS and
    lines again)."""
    env = claimed.env
    claimed.flush_recordset(["uuid", "body", "cgsms_recipient_id"])
    env["cgsms.recipient"].flush_model(["number"])
    env.cr.execute(
        "SELECT s.id, s.uuid, r.number, s.body, r.id FROM sms_sms s "
        "JOIN cgsms_recipient r ON r.id = s.cgsms_recipient_id WHERE s.id = ANY(%s)",
        [claimed.ids],
    )
    rows = {row[0]: row for row in env.cr.fetchall()}
    return [rows[sms_id] for sms_id in claimed.ids]


def not_attempted(message, error_class, retry_after=None):
    return SendResult(
        ref=message.ref,
        ok=False,
        status="failed",
        error_class=error_class,
        provider_code="not_attempted",
        provider_text="Not attempted",
        retry_after=retry_after,
    )
