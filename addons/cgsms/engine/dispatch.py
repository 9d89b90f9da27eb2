"""Concurrent provider calls: a thread pool that only does HTTP (no ORM, no cursor in its
threads), paced by the account's token bucket; the results are saved in the calling thread
as they arrive (``results.apply_results``)."""

import logging
import threading
import time
from concurrent import futures

from ..providers import OutgoingSms, SendResult
from . import health, rate_bucket, results, time_budget, transaction

_logger = logging.getLogger(__name__)

# Results are saved in batches of half the calls in flight (the size of the chunk the run
# loop hands over next): after the first result of a batch, wait at most this long for the
# others. Each save is a transaction of a few statements whatever its size, and costs the
# database about as much for 20 results as for 3.
BATCH_WAIT = 0.1


def deliver_chunk(model, account, claimed, unlink_failed=False):
    """Hand ``claimed`` (from ``_cgsms_claim_chunk``) to the provider, the calls made
    concurrently within the account's rate; each result is saved as it arrives."""
    with Dispatcher(model, account, unlink_failed) as dispatcher:
        dispatcher.submit(claimed)
        while dispatcher.busy:
            dispatcher.collect()


class Dispatcher:
    """Concurrent provider calls of one account: a thread pool that only does HTTP (no ORM,
    no cursor in its threads), paced by the account's shared token bucket. The results are
    saved in the calling thread by ``collect``, as they arrive."""

    def __init__(self, model, account, unlink_failed):
        self.model = model.sudo().with_context(sms_skip_msg_notification=True)
        self.account = account.sudo()
        self.unlink_failed = unlink_failed
        self.size = max(1, self.account.cgsms_in_flight or 1)
        self.batch = max(1, self.size // 2)
        # Read once per run, not once per chunk (each chunk's transaction would read the
        # account's row again).
        self.company_id = self.account.company_id.id
        self.sender = self.account.sender or ""
        self.rate = self.account.cgsms_rate_limit or 0.0
        # Provider ids saved since the last look for delivery reports that came before them
        # (only when the run commits: a test's single transaction sees them at once).
        self.early = None
        self._kept = []  # (provider ids, references) the last look found kept reports for
        self.pending = {}
        self.lines = {}  # sms id -> (history line id, uuid, send id) of the SMS submitted
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
            if self.early:
                # The last results of the run: looked at in a transaction of their own.
                self.model.env["cgsms.delivery.report"]._cgsms_recheck_now(
                    [self.account.id], *self.early.take()
                )
            self._slot_cursor.close()
        return False

    @property
    def busy(self):
        """Calls made whose results are not saved yet."""
        return len(self.pending)

    @property
    def running(self):
        """Calls still waiting for their answer (or their slot): the others only wait to be
        saved, and leave room for the next chunk."""
        return sum(1 for future in self.pending if not future.done())

    def submit(self, claimed, known=None):
        """Hand ``claimed`` to the provider; ``known``: what the claim said of them
        (``stats["outgoing"]`` of ``claim_chunk``), so that nothing is read again."""
        if not claimed:
            return
        if self._pool is None:
            self._provider = self.account._cgsms_send_provider()
            self._pool = futures.ThreadPoolExecutor(self.size, thread_name_prefix="cgsms-send")
        messages = []
        for sms_id, uuid, number, body, line_id, message_id in outgoing(claimed, known):
            messages.append(OutgoingSms(ref=uuid, to=number, body=body, sender=self.sender))
            self.lines[sms_id] = (line_id, uuid, message_id)
        if self._slot_cursor is None and transaction.owns(self.model.env.cr):
            # The token bucket is updated on a connection of its own, kept for the run.
            self._slot_cursor = self.model.env.registry.cursor()
            if not transaction.shares_transaction(self.model.env.cr):
                self.early = EarlyReports()
        slots = rate_bucket.reserve_slots(
            self.model,
            self.account,
            len(messages),
            self._slot_cursor,
            rate=self.rate,
            then=self._look_for_reports if self.early is not None else None,
        )
        if self.early:
            # Not looked with the bucket (no rate limit): in a short transaction instead.
            self._look_for_reports(self._slot_cursor)
            self._slot_cursor.commit()
        Report = self.model.env["cgsms.delivery.report"]
        for ids, refs in self._kept:
            Report._cgsms_recheck_now([self.account.id], ids, refs)
        self._kept = []
        _logger.debug(
            "submit %s in %.3fs: %s", claimed.ids, slots[0] - time_budget.clock(), self.hold_until
        )
        for sms, message, slot in zip(claimed, messages, slots, strict=True):
            self.pending[self._pool.submit(self._call, message, slot)] = sms.id

    def _look_for_reports(self, cursor):
        """One read, on the bucket's cursor, for delivery reports kept for the SMS whose
        results were saved since the last look (reports that came before their SMS's
        provider id was committed); the ids of those found are applied after its commit."""
        ids, refs = self.early.take()
        Report = self.model.env(cr=cursor)["cgsms.delivery.report"]
        if Report._cgsms_any_pending([self.account.id], ids, refs):
            self._kept.append((ids, refs))

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
        """Save the results that arrived (waiting up to ``timeout`` for the first one), in a
        batch of up to half the calls in flight: after the first result, the others of the
        batch are waited for up to ``BATCH_WAIT`` (at a steady rate they come back within a
        few milliseconds of each other)."""
        done, running = futures.wait(
            list(self.pending), timeout=timeout, return_when=futures.FIRST_COMPLETED
        )
        if not done:
            return
        wanted = min(self.batch, len(self.pending))
        # Real time, as the waits below (the engine's clock may be a test's).
        until = time.monotonic() + BATCH_WAIT
        while running and len(done) < wanted:
            left = until - time.monotonic()
            if left <= 0:
                break
            more, running = futures.wait(running, timeout=left, return_when=futures.FIRST_COMPLETED)
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
            self.model,
            self.account,
            answers,
            self.unlink_failed,
            lines,
            early=self.early,
        )
        self.requeued = self.requeued or bool(requeued)
        self.stopped = self.stopped or stop
        health.record(self.model, self.account, answers, self.company_id)


class EarlyReports:
    """The provider ids (and our references) of the SMS saved as sent since the last look
    for delivery reports that came before them: a report that found no SMS was kept, and the
    SMS's provider id was committed afterwards, so the sender looks once its commit is done.

    Instead of a transaction of its own after each batch of results, the look is one read
    in the short transaction of the next chunk's rate slots (committed later than the
    results it looks for), and a transaction of its own only when a report is kept
    (``Dispatcher._look_for_reports``)."""

    def __init__(self):
        self.ids, self.refs = [], []

    def __bool__(self):
        return bool(self.ids or self.refs)

    def add(self, ids, refs):
        self.ids.extend(i for i in ids if i)
        self.refs.extend(r for r in refs if r)

    def take(self):
        ids, refs = self.ids, self.refs
        self.ids, self.refs = [], []
        return ids, refs


def outgoing(claimed, known=None):
    """(id, uuid, E.164 number, text, history line id, send id) of each of ``claimed``, in
    its order: from what the claim said of them (``known``) when it said it of each, else
    one query for the chunk (the claim wrote them in bulk, the ORM would read the SMS and
    lines again)."""
    if known and all(sms_id in known for sms_id in claimed.ids):
        return [(sms_id, *known[sms_id]) for sms_id in claimed.ids]
    env = claimed.env
    claimed.flush_recordset(["uuid", "body", "cgsms_recipient_id"])
    env["cgsms.recipient"].flush_model(["number", "message_id"])
    env.cr.execute(
        "SELECT s.id, s.uuid, r.number, s.body, r.id, r.message_id FROM sms_sms s "
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
