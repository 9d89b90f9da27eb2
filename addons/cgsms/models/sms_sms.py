import logging
import random
import resource
import sys
import threading
import time
from concurrent import futures
from datetime import UTC, datetime, timedelta

from psycopg2.extensions import TransactionRollbackError

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.service.server import WorkerCron
from odoo.tools import SQL, config

from .. import compat
from ..engine import handoff, policy, transaction
from ..providers import OutgoingSms, SendResult
from ..tools.phone import normalize_number
from ..tools.sms_segments import count_segments

_logger = logging.getLogger(__name__)

# After this many temporary failures (provider unreachable) an SMS is given up.
MAX_ATTEMPTS = 5
# After this many "too many requests" an SMS waits for the next run of the queue.
MAX_RATE_LIMITED = 15
# An SMS left "sending" longer than this was interrupted between the provider call and the
# commit (crash, killed worker): it is looked up at the provider like an ambiguous send.
STALE_SENDING = timedelta(minutes=5)
# An ambiguous send is looked up this long after the failure (``cgsms.reconcile_delay``,
# seconds): a slow provider may still be handling the call that timed out.
RECONCILE_DELAY = 60
# Lookups that fail (provider unreachable) are tried this many times before a person decides.
MAX_LOOKUPS = 5
# Without a lookup call (Vonage), a delivery receipt carrying our reference resolves the SMS;
# after this long without one, a person checks.
RECEIPT_WAIT = timedelta(hours=2)
# A queue run stops claiming this long before the worker's time limit, or a quarter of it.
TIME_MARGIN = 25.0
# Claims that lose a race against another worker (serialization failure) are tried again.
CLAIM_TRIES = 5
# Results are saved in batches: after the first one, wait this long for a few more.
BATCH_WAIT = 0.02

# Our error classes mapped onto Odoo's sms.sms failure types (None: provider error kept
# as the notification's failure reason, see sms.tracker._action_update_from_provider_error).
FAILURE_TYPES = {
    "auth": "sms_acc",
    "insufficient_credit": "sms_credit",
    "invalid_number": "sms_number_format",
    "missing_number": "sms_number_missing",
    "rate_limited": "sms_server",
    "temporary": "sms_server",
    "blacklisted": "sms_blacklist",
    "duplicate": "sms_duplicate",
    "rejected": None,
    "unknown": None,
}


# Pacing needs the real clock, also when a test freezes time (freezegun replaces the time
# functions it finds as module attributes, not the ones kept in a container).
_REAL_CLOCK = (time.monotonic,)


def time_budget(limit):
    """Seconds a queue run may claim within a worker's real-time ``limit``: it keeps a margin
    for the calls still in flight when it stops."""
    return max(limit - max(TIME_MARGIN, limit / 4), limit / 4)


def _clock():
    return _REAL_CLOCK[0]()


def _testing():
    return compat.testing()


class SmsSms(models.Model):
    _inherit = "sms.sms"

    cgsms_company_id = fields.Many2one(
        "res.company",
        "Sending company",
        default=lambda self: self.env.company,
        help="The company whose SMS account sends this SMS.",
    )
    cgsms_recipient_id = fields.Many2one(
        "cgsms.recipient", "SMS history line", index="btree_not_null", ondelete="set null"
    )

    @api.model_create_multi
    def create(self, vals_list):
        # An SMS about a document is sent with the account of the document's company.
        message_ids = {v["mail_message_id"] for v in vals_list if v.get("mail_message_id")}
        companies = {}
        if message_ids:
            for message in self.env["mail.message"].sudo().browse(message_ids):
                company = message.record_company_id
                if company:
                    companies[message.id] = company.id
        for vals in vals_list:
            if not vals.get("cgsms_company_id") and vals.get("mail_message_id") in companies:
                vals["cgsms_company_id"] = companies[vals["mail_message_id"]]
        self._cgsms_check_senders(vals_list)
        return super().create(vals_list)

    def _cgsms_check_senders(self, vals_list):
        """Whoever queues an SMS that a CgSMS account sends and charges must be allowed to
        (the sending policy), whatever the screen: chatter, Odoo's composer, repairs..."""
        company_ids = {v.get("cgsms_company_id") or self.env.company.id for v in vals_list}
        accounts = self.env["cgsms.account"]._get_active_by_company(company_ids)
        for company_id in accounts:
            policy.check_sender(self.env, self.env["res.company"].browse(company_id))

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        # Odoo's SMS queue cron sends with auto_commit: that transaction is the engine's own.
        commit = bool(auto_commit) and not _testing()
        with transaction.owning(self.env.cr, commit):
            return super().send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
                **compat.sms_send_kwargs(auto_commit),
            )

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Route SMS of companies with an active CgSMS account through their provider; the
        others keep Odoo's own path (IAP, or whatever another module plugs in)."""
        if compat.SMS_API_PLUGIN:  # Odoo 19.0 routes per SMS API: models/sms_api_cgsms.py
            return super()._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        company_ids = set(self.cgsms_company_id.ids)
        accounts = (
            self.env["cgsms.account"]._get_active_by_company(company_ids) if company_ids else {}
        )
        ours = self.filtered(lambda s: s.cgsms_company_id.id in accounts)
        for company, sms_batch in ours.grouped("cgsms_company_id").items():
            sms_batch._cgsms_send(accounts[company.id], unlink_failed, unlink_sent)
        others = self - ours
        if others:
            return super(SmsSms, others)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        return None

    @api.model
    def _process_queue(self, ids=None):
        """The SMS queue cron: each company with an active account drains its queue in small
        concurrent chunks within the worker's time budget, then re-triggers itself if SMS are
        left; SMS of other companies keep Odoo's path."""
        accounts = self.env["cgsms.account"].sudo().search([("active", "=", True)])
        commit = not _testing()
        deadline = self._cgsms_deadline()
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        # The transaction holds nothing of the caller: a lost claim race may be rolled back.
        queue = self.with_context(cgsms_clean_tx=commit)
        if ids:
            queue = queue.browse(ids)
        left = 0
        with transaction.owning(self.env.cr, commit):
            for account in accounts:
                try:
                    left += queue._cgsms_process_account_queue(account, deadline)
                    queue._cgsms_reconcile(account, deadline)
                except Exception:
                    _logger.exception("Failed processing the SMS queue of account %s", account.id)
                    if not commit:
                        raise
                    self.env.cr.rollback()
        if left and not self._cgsms_time_left(deadline):
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
            _logger.info("SMS queue: time budget spent, %s SMS left for the next run", left)
        domain = [("state", "=", "outgoing"), ("to_delete", "!=", True)]
        if accounts:
            domain.append(("cgsms_company_id", "not in", accounts.company_id.ids))
        others = self.search(domain, limit=10000).ids
        if ids:
            others = list(set(others) & set(ids))
        if others:
            if compat.ODOO_19:  # 19.0 takes no ids: it splits its queue per SMS API itself
                return super()._process_queue()
            return super()._process_queue(ids=others)
        return None

    # ------------------------------------------------------------------ CgSMS sending

    def _cgsms_send(self, account, unlink_failed=False, unlink_sent=True):
        """Send these SMS (a user's send, or Odoo's ``send()``) through ``account``.

        Inside a user's transaction they are only queued: they leave once it commits, in a
        cursor of the engine's own (``engine.handoff``). Only a transaction that is the
        engine's own (the SMS queue cron, a queue job: ``engine.transaction``) calls the provider
        here. Tests, which never commit, send in their transaction."""
        if handoff.deferred(self.env):
            # Every queued SMS has its history line from now on, in the state "queued".
            self.sudo()._cgsms_ensure_recipients(account)
            handoff.after_commit(self, account, unlink_failed, unlink_sent)
            return
        sms_all = self.sudo().with_context(sms_skip_msg_notification=True)
        self._cgsms_process_account_queue(
            account, None, unlink_failed=unlink_failed, unlink_sent=unlink_sent
        )
        sms_all.exists().mail_message_id._notify_message_notification_update()

    def _cgsms_process_account_queue(
        self, account, deadline=None, unlink_failed=False, unlink_sent=True
    ):
        """Drain the queue of ``account``'s company (only the SMS of ``self`` when it is not
        empty): claim small chunks and keep up to the account's calls in flight, until the
        queue is empty or the time budget (``deadline``, ``_clock()``) is spent.
        Returns how many SMS are left in the queue."""
        account = account.sudo()
        in_flight = max(1, account.cgsms_in_flight or 1)
        # Chunks of half the calls in flight: one leaves each time half of them are back.
        refill = max(1, in_flight // 2)
        # Read once per run, not once per chunk.
        claimer = self.with_context(cgsms_default_country=account.company_id.country_id.code or "")
        # Without commits everything is claimed at once: a later claim failing on a
        # concurrent update would roll back the results of SMS already handed over.
        claim_all = bool(self) and not transaction.owns(self.env.cr)
        error = None
        # The next chunk is claimed while the calls are in flight (the claim takes as long
        # as a provider call): it leaves as soon as there is room.
        ready = self.browse()
        with _Dispatcher(self, account, unlink_failed, unlink_sent) as dispatcher:
            exhausted = False
            while True:
                room = len(self) if claim_all else in_flight - dispatcher.busy
                if ready and room >= len(ready):
                    dispatcher.submit(ready)
                    ready = self.browse()
                    continue
                if (
                    not ready
                    and not exhausted
                    and not dispatcher.stopped
                    and self._cgsms_time_left(deadline)
                ):
                    stats = {}
                    try:
                        claimed = claimer._cgsms_claim_chunk(
                            account, room if claim_all else max(room, refill), stats
                        )
                    except Exception as exc:
                        if not claimer.env.context.get("cgsms_clean_tx"):
                            raise  # nothing handed over yet: the caller's retry starts over
                        # Save what is in flight first; the error is raised afterwards.
                        error = exc
                        self.env.cr.rollback()
                        exhausted = True
                        continue
                    if claim_all:
                        exhausted = True
                    if transaction.owns(self.env.cr):
                        # Committed: what the caller did before is safe from a rollback.
                        claimer = claimer.with_context(cgsms_clean_tx=True)
                    if claimed:
                        ready = claimed
                        continue
                    if stats.get("taken"):
                        continue  # all refused before sending (invalid numbers...): go on
                    exhausted = True
                if not dispatcher.busy:
                    if exhausted and dispatcher.requeued and not dispatcher.stopped:
                        # 429s went back to the queue: take them again at the paced rate.
                        exhausted = dispatcher.requeued = False
                        continue
                    break
                dispatcher.collect()
                if dispatcher.requeued and not dispatcher.stopped and not error:
                    exhausted = dispatcher.requeued = False
        if error is not None:
            raise error
        self._cgsms_after_run(account)
        return self._cgsms_count_queued(account)

    def _cgsms_after_run(self, account):
        commit = transaction.owns(self.env.cr)
        try:
            with self.env.cr.savepoint():
                account._check_low_balance()
        except TransactionRollbackError:
            _logger.info("Low-balance check of account %s skipped (concurrent update)", account.id)
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _cgsms_count_queued(self, account):
        domain = [
            ("state", "=", "outgoing"),
            ("to_delete", "!=", True),
            ("cgsms_company_id", "=", account.company_id.id),
        ]
        if self.ids:
            domain.append(("id", "in", self.ids))
        return self.sudo().search_count(domain)

    def _cgsms_claim_chunk(self, account, limit, stats=None):
        """Claim up to ``limit`` queued SMS of ``account``'s company (of ``self`` when not
        empty) that no other worker holds: history lines, numbers, credits reserved, marked
        "sending", committed when allowed. Returns the claimed SMS, ready for the provider
        (those refused on the way, e.g. invalid numbers, are failed and not returned);
        ``stats["taken"]``, when given, counts every queued SMS taken from the queue."""
        commit = transaction.owns(self.env.cr)
        retry = commit and self.env.context.get("cgsms_clean_tx")
        for attempt in range(CLAIM_TRIES):
            try:
                if retry:
                    # A transaction of its own, in READ COMMITTED: the account row lock of
                    # _lock() is then waited for instead of failing when another worker's
                    # claim committed meanwhile, and the balance is read after that commit.
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                    self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                claimer = self.with_context(cgsms_read_committed=bool(retry))
                claimed = claimer._cgsms_claim(account, limit, stats)
                if commit:
                    # From here the reservation and the "sending" mark survive a crash.
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                return claimed
            except TransactionRollbackError:
                # Another worker committed a claim on the same account since our snapshot.
                # Rolled back and tried again only when nothing of the caller would be lost;
                # otherwise the caller's retry (Odoo's RPC or cron) starts over.
                if not retry or attempt == CLAIM_TRIES - 1:
                    raise
                self.env.cr.rollback()
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        return self.browse()

    def _cgsms_claim(self, account, limit, stats=None):
        account = account.sudo()
        Sms = self.env["sms.sms"].sudo().with_context(sms_skip_msg_notification=True)
        Sms.flush_model(["state", "to_delete", "cgsms_company_id"])
        query = (
            "SELECT id FROM sms_sms WHERE state = 'outgoing' AND to_delete IS NOT TRUE "
            "AND cgsms_company_id = %s"
        )
        params = [account.company_id.id]
        if self.ids:
            query += " AND id IN %s"
            params.append(tuple(self.ids))
        query += " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
        params.append(int(limit))
        self.env.cr.execute(query, params)
        sms_all = Sms.browse([row[0] for row in self.env.cr.fetchall()])
        if stats is not None:
            stats["taken"] = len(sms_all)
        if not sms_all:
            return sms_all
        if account.gsm7_safe:
            # The text as it leaves through this account (accents replaced): counted, charged,
            # recorded and looked up at the provider as sent.
            for sms in sms_all.filtered("body"):
                body = account._cgsms_prepare_body(sms.body)
                if body != sms.body:
                    sms.body = body
        sms_all._cgsms_ensure_recipients(account)

        # Exactly once: an SMS whose history line already left, or is being looked up at the
        # provider, is never handed over again.
        done = sms_all.filtered(
            lambda s: s.cgsms_recipient_id.state in ("sending", "checking", "sent", "delivered")
        )
        for sms in done:
            _logger.info("SMS %s already handed to the provider: not sent again", sms.id)
            sms.write({"state": "pending", "failure_type": False, "to_delete": True})
        todo = sms_all - done

        default_country = self.env.context.get("cgsms_default_country")
        if default_country is None:
            default_country = account.company_id.country_id.code or ""
        to_send = []  # (sms, e164, segment info)
        for sms in todo:
            country = sms.partner_id.country_id.code or default_country or None
            number = normalize_number(sms.number or "", country)
            if not number.valid:
                error_class = "missing_number" if number.reason == "missing" else "invalid_number"
                sms._cgsms_fail(
                    error_class,
                    _("No mobile number.")
                    if error_class == "missing_number"
                    else _("Invalid number %(number)s.", number=sms.number),
                )
                continue
            if not (sms.body or "").strip():
                sms._cgsms_fail("rejected", _("The message is empty."))
                continue
            where = policy.destination(account, number.e164)
            if not where.allowed:
                sms._cgsms_fail(
                    policy.error_class(where.reason),
                    policy.refusal(self.env, where.reason, number.e164, where.country_code),
                )
                continue
            to_send.append((sms, number.e164, count_segments(sms.body), where.price))
        opted_out = self._cgsms_opted_out({e164 for _s, e164, _i, _p in to_send})
        if opted_out:
            for sms, e164, _info, _price in to_send:
                if e164 in opted_out:
                    sms._cgsms_fail("blacklisted", policy.refusal(self.env, "blacklisted", e164))
            to_send = [item for item in to_send if item[1] not in opted_out]
        if not to_send:
            return Sms

        now = fields.Datetime.now()
        candidates = []  # (sms, recipient, e164, segment info, cost, line's cost and attempts)
        for sms, e164, info, price in to_send:
            recipient = sms.cgsms_recipient_id
            cost = round(info.segments * price, 4)
            candidates.append(
                (sms, recipient, e164, info, cost, (recipient.cost, recipient.attempts))
            )
        # What does not depend on the balance is written before the account is locked: the
        # lock that serialises the reservations of all workers is held only for the balance
        # and the debits. One query for the chunk (the ORM would write each line on its own).
        _bulk_update(
            self.env["cgsms.recipient"],
            ("number", "segments", "encoding", "cost", "attempts"),
            [
                (recipient.id, e164, info.segments, info.encoding, cost, before[1] + 1)
                for _sms, recipient, e164, info, cost, before in candidates
            ],
            {
                "state": "sending",
                # The account that really sends it, so that its reports match.
                "account_id": account.id,
                "date_attempt": now,
                "lookup_count": 0,
                "error_class": None,
                "failure_reason": None,
            },
        )
        _bulk_update(Sms, (), [(c[0].id,) for c in candidates], {"state": "process"})

        # Reserve the credits under a row lock so concurrent sends cannot overdraw.
        account._lock()
        if self.env.context.get("cgsms_read_committed"):
            account._credit_fold()
        available = account._credit_balances().get(account.id, 0.0)
        reserved = Sms
        debits = []
        for sms, recipient, e164, info, cost, before in candidates:
            if not policy.has_credits(cost, available):
                # Not reserved: the line keeps what it had before this claim.
                recipient.write({"cost": before[0], "attempts": before[1]})
                sms._cgsms_fail(
                    "insufficient_credit", policy.credits_error(self.env, cost, available)
                )
                continue
            available -= cost
            debits.append((recipient.id, e164, info.segments, -cost))
            reserved |= sms
        # The low-balance check runs once at the end of the queue run, not per chunk.
        self.env["cgsms.credit.line"].sudo()._cgsms_insert_debits(account, debits, now)
        return reserved

    def _cgsms_deliver_chunk(self, account, claimed, unlink_failed=False, unlink_sent=True):
        """Hand ``claimed`` (from ``_cgsms_claim_chunk``) to the provider, the calls made
        concurrently within the account's rate; each result is saved as it arrives."""
        with _Dispatcher(self, account, unlink_failed, unlink_sent) as dispatcher:
            dispatcher.submit(claimed)
            while dispatcher.busy:
                dispatcher.collect()

    def _cgsms_apply_results(self, account, results, unlink_failed=False, unlink_sent=True):
        """Save provider results (``[(sms, SendResult)]``), in the calling thread. Returns
        (requeued count, whether the run should stop: provider unreachable)."""
        now = fields.Datetime.now()
        sent = self.env["sms.sms"].sudo()
        sent_rows = []
        requeued, stop, checking, retry_at = 0, False, False, 0
        for sms, result in results:
            recipient = sms.cgsms_recipient_id
            if result.ok:
                sent_rows.append((recipient.id, result.message_id))
                sent |= sms
                continue
            if result.maybe_taken:
                # The provider may have taken it: looked up later, never resent blindly.
                sms._cgsms_mark_checking(result)
                checking = True
                continue
            recipient._refund(_("Not sent"))
            reason = account._error_message(_ProviderFailure(result))
            if result.error_class == "rate_limited":
                vals = {"state": "queued", "error_class": "rate_limited", "failure_reason": reason}
                if result.provider_code == "not_attempted":
                    vals["attempts"] = max(0, recipient.attempts - 1)  # never reached it
                recipient.write(vals)
                sms.write({"state": "outgoing"})
                requeued += 1
                if recipient.attempts >= MAX_RATE_LIMITED:
                    stop = True
                    retry_at = max(retry_at, recipient.attempts)
                continue
            if result.error_class == "temporary" and recipient.attempts < MAX_ATTEMPTS:
                # Provider unreachable: back to the queue, the SMS queue cron tries later.
                recipient.write(
                    {"state": "queued", "error_class": "temporary", "failure_reason": reason}
                )
                sms.write({"state": "outgoing"})
                stop = True
                retry_at = max(retry_at, recipient.attempts)
                continue
            sms._cgsms_fail(result.error_class or "unknown", reason, unlink_failed)
        if sent:
            _bulk_update(
                self.env["cgsms.recipient"],
                ("provider_message_id",),
                sent_rows,
                {"state": "sent", "date_sent": now},
            )
            sent.cgsms_recipient_id._cgsms_left_queue()
            sent.sms_tracker_id._action_update_from_sms_state("pending")
            sent.cgsms_recipient_id._cgsms_apply_pending_reports()  # reports that came early
            _bulk_update(
                sent,
                (),
                [(sms.id,) for sms in sent],
                {"state": "pending", "failure_type": None, "to_delete": bool(unlink_sent)},
            )
        if retry_at:
            self._cgsms_schedule_retry(retry_at)
        if checking:
            self._cgsms_schedule_reconcile()
        if transaction.owns(self.env.cr):
            self.env.cr.commit()  # pylint: disable=invalid-commit
        return requeued, stop

    def _cgsms_reserve_slots(self, account, count, cursor=None):
        """Reserve ``count`` send slots in the account's token bucket, shared by every worker
        and server (a row of the database), and return the ``_clock()`` instant of
        each. The bucket is updated in a short transaction of its own when committing is
        allowed, so that it never waits for our claim's locks."""
        rate = account.cgsms_rate_limit or 0.0
        if rate <= 0 or count <= 0:
            return [_clock()] * count
        query = (
            "INSERT INTO cgsms_rate_bucket AS b (account_id, next_slot) "
            "VALUES (%(id)s, EXTRACT(EPOCH FROM clock_timestamp()) + %(span)s) "
            "ON CONFLICT (account_id) DO UPDATE SET next_slot = GREATEST("
            "EXTRACT(EPOCH FROM clock_timestamp()), b.next_slot) + %(span)s "
            "RETURNING b.next_slot - %(span)s, EXTRACT(EPOCH FROM clock_timestamp())"
        )
        params = {"span": count / rate, "id": account.id}
        if cursor is not None:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cursor.execute(query, params)
            start, db_now = cursor.fetchone()
            cursor.commit()
        elif transaction.owns(self.env.cr):
            with self.env.registry.cursor() as cr:
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                cr.execute(query, params)
                start, db_now = cr.fetchone()
        else:
            self.env.cr.execute(query, params)
            start, db_now = self.env.cr.fetchone()
        first = _clock() + (float(start) - float(db_now))
        return [first + i / rate for i in range(count)]

    def _cgsms_hold_rate(self, account, seconds):
        """The provider answered 429: no slot of this account starts before ``seconds``."""
        query = (
            "INSERT INTO cgsms_rate_bucket AS b (account_id, next_slot) "
            "VALUES (%(id)s, EXTRACT(EPOCH FROM clock_timestamp()) + %(seconds)s) "
            "ON CONFLICT (account_id) DO UPDATE SET next_slot = GREATEST("
            "b.next_slot, EXTRACT(EPOCH FROM clock_timestamp()) + %(seconds)s)"
        )
        params = {"id": account.id, "seconds": seconds}
        if transaction.owns(self.env.cr):
            with self.env.registry.cursor() as cr:
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                cr.execute(query, params)
        else:
            self.env.cr.execute(query, params)

    @api.model
    def _cgsms_deadline(self):
        """``_clock()`` instant at which a queue run stops claiming: before the
        worker's real-time limit (``limit_time_real_cron``, else ``limit_time_real``), with a
        margin for the calls still in flight."""
        limit = config.get("limit_time_real_cron") or 0
        if limit <= 0:
            limit = config.get("limit_time_real") or 0
        if limit <= 0:
            return None
        _cron_worker_heartbeat()
        return _clock() + time_budget(limit)

    @api.model
    def _cgsms_deadline_within(self, seconds):
        """``_cgsms_deadline``, but no later than ``seconds`` from now."""
        deadline = self._cgsms_deadline()
        soon = _clock() + seconds
        return soon if deadline is None else min(deadline, soon)

    @api.model
    def _cgsms_time_left(self, deadline):
        if deadline is not None and _clock() >= deadline:
            return False
        # Prefork workers are also killed at their CPU limit (RLIMIT_CPU, set per job).
        soft, _hard = resource.getrlimit(resource.RLIMIT_CPU)
        if soft != resource.RLIM_INFINITY:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            if usage.ru_utime + usage.ru_stime > soft - 10:
                return False
        return True

    def _cgsms_mark_checking(self, result):
        """The call failed in a way where the provider may have taken the SMS: the debit is
        kept and the SMS is looked up at the provider before anything else happens."""
        self.ensure_one()
        detail = " ".join(p for p in (result.provider_code, result.provider_text) if p)
        self.cgsms_recipient_id.write(
            {
                "state": "checking",
                "error_class": "unknown",
                "failure_reason": _(
                    "The provider's answer was lost (%(detail)s): checking with the provider "
                    "whether the SMS left.",
                    detail=detail or _("no answer"),
                ),
            }
        )

    def _cgsms_opted_out(self, numbers):
        """Those of ``numbers`` (E.164) on Odoo's opt-out list (phone.blacklist)."""
        if not numbers:
            return set()
        self.env["phone.blacklist"].flush_model(["number", "active"])
        self.env.cr.execute(
            "SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)",
            [list(numbers)],
        )
        return {number for (number,) in self.env.cr.fetchall()}

    def _cgsms_ensure_recipients(self, account):
        """Give each SMS its history line (kept after the SMS itself is garbage-collected)."""
        missing = self.filtered(lambda s: not s.cgsms_recipient_id)
        if not missing:
            return
        Recipient = self.env["cgsms.recipient"].sudo()
        existing = {
            r.sms_uuid: r for r in Recipient.search([("sms_uuid", "in", missing.mapped("uuid"))])
        }
        vals_list, new_sms = [], []
        for sms in missing:
            if sms.uuid in existing:
                continue
            message = sms.mail_message_id
            vals_list.append(
                {
                    "company_id": account.company_id.id,
                    "account_id": account.id,
                    "partner_id": sms.partner_id.id,
                    "number": sms.number,
                    "body": sms.body,
                    "sms_uuid": sms.uuid,
                    "mail_message_id": message.id,
                    "res_model": message.model or False,
                    "res_id": message.res_id or False,
                }
            )
            new_sms.append(sms)
        links = [(sms.id, existing[sms.uuid].id) for sms in missing if sms.uuid in existing]
        links += [
            (sms.id, recipient.id)
            for sms, recipient in zip(new_sms, Recipient.create(vals_list), strict=True)
        ]
        _bulk_update(self, ("cgsms_recipient_id",), links, {})

    def _cgsms_fail(self, error_class, reason, unlink_failed=False):
        self.ensure_one()
        self.cgsms_recipient_id.write(
            {"state": "failed", "error_class": error_class, "failure_reason": reason}
        )
        failure_type = FAILURE_TYPES.get(error_class)
        if failure_type:
            self.sms_tracker_id._action_update_from_sms_state(
                "error", failure_type=failure_type, failure_reason=reason
            )
        else:
            self.sms_tracker_id._action_update_from_provider_error(error_class)
        self.write(
            {
                "state": "error",
                "failure_type": failure_type or "unknown",
                "to_delete": unlink_failed,
            }
        )

    def _cgsms_flag_unknown(self, reason, unlink_failed=False):
        """The SMS may have left (no answer in time): keep the debit, never resend it
        automatically, show it as failed with the reason so that a person decides."""
        self.ensure_one()
        self.cgsms_recipient_id.write(
            {"state": "unknown", "error_class": "unknown", "failure_reason": reason}
        )
        self.sms_tracker_id._action_update_from_sms_state(
            "error", failure_type="unknown", failure_reason=reason
        )
        self.write({"state": "error", "failure_type": "unknown", "to_delete": unlink_failed})

    def _cgsms_schedule_retry(self, attempts):
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(fields.Datetime.now() + timedelta(minutes=2 ** min(attempts, 6)))

    def _cgsms_schedule_reconcile(self):
        delay = self._cgsms_reconcile_delay()
        cron = self.env.ref("cgsms.ir_cron_cgsms_reconcile", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(fields.Datetime.now() + timedelta(seconds=delay + 1))

    @api.model
    def _cgsms_reconcile_delay(self):
        param = self.env["ir.config_parameter"].sudo().get_param("cgsms.reconcile_delay")
        try:
            return max(0, int(param)) if param not in (None, "") else RECONCILE_DELAY
        except ValueError:
            return RECONCILE_DELAY

    @api.model
    def _cgsms_reconcile_stale(self):
        """Cron: resolve the SMS whose send was ambiguous (answer lost) or interrupted (crash,
        killed worker) by looking them up at the provider."""
        deadline = self._cgsms_deadline()
        Account = self.env["cgsms.account"].sudo().with_context(active_test=False)
        groups = (
            self.env["cgsms.recipient"]
            .sudo()
            ._read_group([("state", "in", ("checking", "sending"))], ["account_id"])
        )
        with transaction.owning(self.env.cr, not _testing()):
            for (account,) in groups:
                if account and self._cgsms_time_left(deadline):
                    self._cgsms_reconcile(Account.browse(account.id), deadline)

    @api.model
    def _cgsms_reconcile(self, account, deadline=None, limit=200):
        """Look up at the provider the SMS of ``account`` whose send was ambiguous (once the
        reconcile delay has passed) or interrupted (left "sending" too long). Each ends sent
        (with its provider id), back in the queue (the provider certainly does not have it)
        or, when the provider cannot tell, with a person ("To check")."""
        account = account.sudo()
        commit = transaction.owns(self.env.cr)
        # To the microsecond (write_date has them): a line is due once its delay has passed.
        now = datetime.now(UTC).replace(tzinfo=None)
        Recipient = self.env["cgsms.recipient"].sudo()
        Recipient.flush_model()
        try:
            self.env.cr.execute(
                "SELECT id FROM cgsms_recipient WHERE account_id = %s AND ("
                "(state = 'checking' AND write_date <= %s) OR "
                "(state = 'sending' AND write_date < %s)) "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                [
                    account.id,
                    now - timedelta(seconds=self._cgsms_reconcile_delay()),
                    now - STALE_SENDING,
                    limit,
                ],
            )
        except TransactionRollbackError:
            if not commit:
                raise
            self.env.cr.rollback()  # a sender saved one of them meanwhile: next run
            return
        lines = Recipient.browse([row[0] for row in self.env.cr.fetchall()])
        if not lines:
            return
        outcomes = self._cgsms_lookup(account, lines)
        for line in lines:
            self._cgsms_resolve(account, line, outcomes[line.id])
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        _logger.info("Reconciled %s SMS of account %s with the provider", len(lines), account.id)

    @api.model
    def _cgsms_lookup(self, account, lines):
        """{line id: LookupResult, None (no lookup at this provider) or ProviderError}; the
        calls are made concurrently, without the ORM in the threads."""
        provider = account._cgsms_send_provider()
        known = {
            r.provider_message_id
            for r in self.env["cgsms.recipient"]
            .sudo()
            .search(
                [
                    ("account_id", "=", account.id),
                    ("number", "in", lines.mapped("number")),
                    ("provider_message_id", "!=", False),
                ]
            )
        }
        jobs = {
            line.id: (
                OutgoingSms(
                    ref=line.sms_uuid or "",
                    to=line.number or "",
                    body=line.body or "",
                    sender=account.sender or "",
                ),
                line.date_attempt or line.write_date or fields.Datetime.now(),
            )
            for line in lines
        }

        def lookup(job):
            message, since = job
            try:
                return provider.lookup(message, since, known_ids=known)
            except Exception as exc:  # reported per line, never lost
                return exc

        size = max(1, min(len(jobs), account.cgsms_in_flight or 1))
        with futures.ThreadPoolExecutor(size, thread_name_prefix="cgsms-lookup") as pool:
            results = dict(zip(jobs, pool.map(lookup, jobs.values()), strict=True))
        return results

    @api.model
    def _cgsms_resolve(self, account, line, outcome):
        """Apply one lookup ``outcome`` to the history ``line``."""
        sms = self.sudo().search([("uuid", "=", line.sms_uuid)], limit=1) if line.sms_uuid else None
        if outcome is None or isinstance(outcome, Exception):
            if isinstance(outcome, Exception):
                _logger.warning(
                    "Lookup of SMS %s at %s failed: %s", line.id, account.provider, outcome
                )
                waited = line.lookup_count + 1 >= MAX_LOOKUPS
            else:
                waited = (
                    line.date_attempt or line.write_date
                ) < fields.Datetime.now() - RECEIPT_WAIT
            if not waited:
                line.write({"lookup_count": line.lookup_count + 1, "state": "checking"})
                self._cgsms_schedule_reconcile()
                return
            reason = _(
                "The provider could not tell whether this SMS left. Check with the recipient, "
                "then use Check and resend if it did not arrive."
            )
            line.write({"state": "unknown", "error_class": "unknown", "failure_reason": reason})
            if sms:
                sms.sms_tracker_id._action_update_from_sms_state(
                    "error", failure_type="unknown", failure_reason=reason
                )
                sms.write({"state": "error", "failure_type": "unknown"})
            return
        if outcome.found:
            line.write(
                {
                    "state": "sent",
                    "provider_message_id": outcome.message_id,
                    "date_sent": line.date_attempt or fields.Datetime.now(),
                    "error_class": False,
                    "failure_reason": False,
                }
            )
            if sms:
                sms.sms_tracker_id._action_update_from_sms_state("pending")
                sms.write({"state": "pending", "failure_type": False, "to_delete": True})
            if outcome.status in ("delivered", "failed"):
                from ..providers import DeliveryReport

                self.env["cgsms.recipient"].sudo()._apply_delivery_reports(
                    account, [DeliveryReport(message_id=outcome.message_id, status=outcome.status)]
                )
            line._cgsms_apply_pending_reports()  # reports that came early
            return
        # The provider certainly does not have it: safe to send again.
        self._cgsms_requeue(line, sms)

    @api.model
    def _cgsms_requeue(self, line, sms=None):
        """Put the SMS of history ``line`` back in the queue (credits given back, they are
        reserved again when it leaves) and wake the queue up."""
        line._refund(_("Not sent"))
        line.write(
            {"state": "queued", "error_class": False, "failure_reason": False, "lookup_count": 0}
        )
        if sms:
            sms.write({"state": "outgoing", "failure_type": False, "to_delete": False})
        else:
            self.sudo().create(
                {
                    "uuid": line.sms_uuid,
                    "number": line.number,
                    "body": line.body,
                    "partner_id": line.partner_id.id,
                    "mail_message_id": line.mail_message_id.id,
                    "cgsms_company_id": line.company_id.id,
                    "cgsms_recipient_id": line.id,
                    "state": "outgoing",
                }
            )
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _cgsms_check_and_resend(self, lines):
        """A person's "Check and resend" on lines "To check": looked up once more; sent if
        the provider has it, else back in the queue. Returns how many were queued again."""
        queued = 0
        for account, group in lines.sudo().grouped("account_id").items():
            outcomes = self._cgsms_lookup(account, group) if account else {}
            for line in group:
                outcome = outcomes.get(line.id)
                if isinstance(outcome, Exception):
                    raise UserError(
                        _(
                            "The provider could not be reached to check the SMS to %(number)s. "
                            "Try again in a few minutes.",
                            number=line.number,
                        )
                    )
                sms = self.sudo().search([("uuid", "=", line.sms_uuid)], limit=1)
                if outcome is not None and outcome.found:
                    self._cgsms_resolve(account, line, outcome)
                else:
                    # Not at the provider, or no way to ask: the person checked, send again.
                    self._cgsms_requeue(line, sms)
                    queued += 1
        return queued


class _ProviderFailure:
    """Adapter so that a per-message SendResult reads like a ProviderError."""

    def __init__(self, result):
        self.error_class = result.error_class or "unknown"
        self.provider_code = result.provider_code or ""
        self.provider_text = result.provider_text or ""


class _Dispatcher:
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
        messages = [
            OutgoingSms(
                ref=sms.uuid, to=sms.cgsms_recipient_id.number, body=sms.body, sender=sender
            )
            for sms in claimed
        ]
        if self._slot_cursor is None and transaction.owns(self.model.env.cr):
            # The token bucket is updated on a connection of its own, kept for the run.
            self._slot_cursor = self.model.env.registry.cursor()
        slots = self.model._cgsms_reserve_slots(self.account, len(messages), self._slot_cursor)
        _logger.debug("submit %s in %.3fs: %s", claimed.ids, slots[0] - _clock(), self.hold_until)
        for sms, message, slot in zip(claimed, messages, slots, strict=True):
            self.pending[self._pool.submit(self._call, message, slot)] = sms.id

    def _call(self, message, slot):
        """In a pool thread: wait for the slot, then one HTTP call. No ORM here."""
        delay = slot - _clock()
        if delay > 0 and self._abort.wait(delay):
            return _not_attempted(message, "temporary")
        if _clock() < self.hold_until:
            # The provider asked to slow down after this call was scheduled.
            return _not_attempted(message, "rate_limited", self.hold_until - _clock())
        try:
            return self._provider.send_one(message)
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
        results = list(zip(self.model.browse(ids), outcomes, strict=True))
        # Only a real 429 moves the hold; calls dropped because of it do not extend it.
        limited = [
            r.retry_after or 1.0
            for _s, r in results
            if r.error_class == "rate_limited" and r.provider_code != "not_attempted"
        ]
        _logger.debug(
            "collected %s: %s",
            len(results),
            [(s.id, r.error_class or "ok", r.provider_code) for s, r in results],
        )
        if limited:
            wait = max(limited)
            self.hold_until = max(self.hold_until, _clock() + wait)
            self.model._cgsms_hold_rate(self.account, wait)
        requeued, stop = self.model._cgsms_apply_results(
            self.account, results, self.unlink_failed, self.unlink_sent
        )
        self.requeued = self.requeued or bool(requeued)
        self.stopped = self.stopped or stop


def _cron_worker_heartbeat():
    """In a prefork cron worker, tell the watchdog that the worker is alive.

    The watchdog counts from the worker's last heartbeat, sent before the worker sleeps up to
    a minute waiting for jobs: a job starting after that sleep would be killed long before the
    time limit it is given. One heartbeat when the queue run starts makes the watchdog and the
    run's budget count from the same instant; the run then stops within the limit."""
    frame = sys._getframe(1)
    while frame is not None:
        worker = frame.f_locals.get("self")
        if isinstance(worker, WorkerCron) and getattr(worker, "multi", None):
            worker.multi.pipe_ping(worker.watchdog_pipe)
            return True
        frame = frame.f_back
    return False


def _bulk_update(records, columns, rows, constants):
    """Update many rows of ``records``' table in one query: each of ``rows`` is ``(id,
    *values of columns)``; ``constants`` are set on every row. The cache of those records is
    invalidated and their dependents are told, as an ORM write would."""
    if not rows:
        return
    model = records.browse()
    table = SQL.identifier(model._table)
    names = ["id", *columns]
    assignments = [SQL("%s = v.%s", SQL.identifier(c), SQL.identifier(c)) for c in columns]
    assignments += [SQL("%s = %s", SQL.identifier(c), v) for c, v in constants.items()]
    assignments += [
        SQL("write_date = %s", model.env.cr.now()),
        SQL("write_uid = %s", model.env.uid),
    ]
    model.env.cr.execute(
        SQL(
            "UPDATE %s SET %s FROM (VALUES %s) AS v(%s) WHERE %s.id = v.id",
            table,
            SQL(", ").join(assignments),
            SQL(", ").join(SQL("%s", tuple(row)) for row in rows),
            SQL(", ").join(SQL.identifier(n) for n in names),
            table,
        )
    )
    changed = model.browse([row[0] for row in rows])
    fnames = [*columns, *constants, "write_date", "write_uid"]
    changed.invalidate_recordset(fnames)
    changed.modified(fnames)


def _not_attempted(message, error_class, retry_after=None):
    return SendResult(
        ref=message.ref,
        ok=False,
        status="failed",
        error_class=error_class,
        provider_code="not_attempted",
        provider_text="Not attempted",
        retry_after=retry_after,
    )
