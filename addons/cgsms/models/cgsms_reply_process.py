import logging
import time
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models

from ..engine import transaction
from .cgsms_reply import ANSWERED_STATES

_logger = logging.getLogger(__name__)

# Advisory locks (``PROCESS_LOCK``, slot) that let at most ``PROCESSORS`` transactions work
# the pending replies at once; each webhook request that recorded a reply tries one.
PROCESS_LOCK = 1667722864
PROCESSORS = 2
# Replies processed per transaction: one match query, one partner search, one update.
CHUNK = 100
# A webhook request that took a lock processes at most this long before it answers (the
# provider waits for the answer); the cron takes what is left. The cron's own bound.
REQUEST_BUDGET = 3.0
CRON_BUDGET = 50.0


class CgsmsReply(models.Model):
    """Processing of the replies the webhooks recorded: matched to the SMS they answer, their
    keyword applied, posted on the document of that SMS, in batches.

    The webhook commits the reply before it answers; then, if it gets one of the processing
    locks, it processes the pending replies (its own and those of the requests that did not
    get a lock) chunk by chunk, for ``REQUEST_BUDGET`` seconds at most, and the cron
    "SMS: process received replies" takes the rest (and, every few minutes, whatever a killed
    worker left: a chunk rolled back is pending again)."""

    _inherit = "cgsms.reply"

    @api.model
    def _cron_process_pending(self):
        self._cgsms_process_pending(budget=CRON_BUDGET)

    @api.model
    def _cgsms_process_pending(self, budget=REQUEST_BUDGET):
        """Process the pending replies while this transaction holds a processing lock, until
        none is left or ``budget`` seconds passed (then the cron is triggered). Returns at
        once when every lock is held: their holders look for pending replies again after
        they let go of it, so a reply recorded meanwhile is processed by them."""
        deadline = time.monotonic() + budget
        if transaction.shares_transaction(self.env.cr):
            self._cgsms_process_chunks(deadline)
            return
        while True:
            with self.env.registry.cursor() as lock_cr:
                if not self._cgsms_try_lock(lock_cr):
                    return
                done = self._cgsms_process_chunks(deadline)
            if not done:
                self._cgsms_trigger_cron()
                return
            if not self._cgsms_unclaimed_pending():
                return

    @api.model
    def _cgsms_try_lock(self, lock_cr):
        # transaction-level locks: they go with the transaction, whatever happens to it
        for slot in range(PROCESSORS):
            lock_cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [PROCESS_LOCK, slot])
            if lock_cr.fetchone()[0]:
                return True
        return False

    @api.model
    def _cgsms_process_chunks(self, deadline):
        """Claim and process chunks of pending replies, each in a READ COMMITTED transaction
        of its own; True when none is left, False when ``deadline`` came first."""
        while time.monotonic() < deadline:
            try:
                with transaction.read_committed(self.env) as env:
                    replies = env["cgsms.reply"]._cgsms_claim()
                    if not replies:
                        return True
                    replies._cgsms_process()
            except Exception:
                _logger.exception("SMS replies could not be processed together, one by one now")
                self._cgsms_process_one_by_one()
        return False

    @api.model
    def _cgsms_process_one_by_one(self):
        """A chunk failed: its replies one by one, so that one that cannot be posted is kept
        (unmatched, as recorded) instead of holding the others back."""
        while True:
            with transaction.read_committed(self.env) as env:
                reply = env["cgsms.reply"]._cgsms_claim(limit=1)
                if not reply:
                    return
                try:
                    with env.cr.savepoint():
                        reply._cgsms_process()
                except Exception:
                    _logger.exception(
                        "SMS reply %s kept unmatched: it could not be processed", reply.id
                    )
                    env.cr.execute(
                        "UPDATE cgsms_reply SET is_pending = FALSE WHERE id = %s", [reply.id]
                    )
                    reply.invalidate_recordset(["is_pending"])

    @api.model
    def _cgsms_claim(self, limit=CHUNK):
        self.env.cr.execute(
            """
            SELECT id FROM cgsms_reply WHERE is_pending
            ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
            """,
            [limit],
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _cgsms_unclaimed_pending(self):
        """Whether a pending reply is left that no processor is working on."""
        with self.env.registry.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute("SELECT id FROM cgsms_reply WHERE is_pending LIMIT 1 FOR UPDATE SKIP LOCKED")
            found = bool(cr.fetchone())
            cr.rollback()
        return found

    @api.model
    def _cgsms_trigger_cron(self):
        cron = self.env.ref("cgsms.ir_cron_cgsms_replies", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    def _cgsms_process(self):
        """Match the pending replies ``self`` to the SMS they answer, apply their keyword and
        post the matched ones on their document, in the caller's transaction (superuser:
        what the reply needs, the SMS it answers, the contact with its number, the chatter of
        that SMS's document, the opt-out list, nothing else)."""
        replies = self.filtered("is_pending").sorted("id")
        if not replies:
            return
        Recipient = self.env["cgsms.recipient"].sudo()
        sms_of = replies._cgsms_match()
        partner_of = replies.filtered(
            lambda r: not sms_of.get(r.id, Recipient).partner_id
        )._cgsms_known_partners()
        rows = []
        for reply in replies:
            sms = sms_of.get(reply.id, Recipient)
            partner = sms.partner_id or partner_of.get(reply.id)
            user = self._cgsms_sender_user(sms)
            rows.append(
                (reply.id, partner.id if partner else None, sms.id or None, user.id or None)
            )
        self.env.cr.execute(
            """
            UPDATE cgsms_reply AS r
               SET partner_id = v.partner_id, recipient_id = v.recipient_id,
                   user_id = v.user_id, is_matched = v.recipient_id IS NOT NULL,
                   message_id = s.message_id, is_pending = FALSE,
                   write_date = %s, write_uid = %s
              FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[])
                   AS v(id, partner_id, recipient_id, user_id)
              LEFT JOIN cgsms_recipient s ON s.id = v.recipient_id
             WHERE r.id = v.id
            """,
            [self.env.cr.now(), self.env.uid, *map(list, zip(*rows, strict=True))],
        )
        fnames = ["partner_id", "recipient_id", "user_id", "is_matched", "message_id", "is_pending"]
        replies.invalidate_recordset([*fnames, "write_date", "write_uid"])
        replies.modified(fnames)
        for reply in replies.filtered("keyword"):
            reply._cgsms_apply_keyword()
        matched = replies.filtered("is_matched")
        post_values = matched._cgsms_post_values(sms_of)
        for reply in matched:
            reply._cgsms_post(sms_of[reply.id], post_values)

    def _cgsms_match(self):
        """{reply id: the last SMS sent to its number from its account within the account's
        reply window}, for all of ``self`` in one query."""
        now = fields.Datetime.now()
        pairs = {}
        for reply in self:
            days = reply.account_id.reply_window_days or 30
            pairs[(reply.account_id.id, reply.number)] = now - timedelta(days=days)
        if not pairs:
            return {}
        self.env.cr.execute(
            """
            SELECT DISTINCT ON (q.account_id, q.number) q.account_id, q.number, r.id
              FROM unnest(%s::int[], %s::varchar[], %s::timestamp[]) AS q(account_id, number, since)
              JOIN cgsms_recipient r
                ON r.account_id = q.account_id AND r.number = q.number AND r.date_sent >= q.since
             WHERE r.state IN %s
             ORDER BY q.account_id, q.number, r.date_sent DESC, r.id DESC
            """,
            [
                [key[0] for key in pairs],
                [key[1] for key in pairs],
                list(pairs.values()),
                ANSWERED_STATES,
            ],
        )
        found = {(account, number): sms for account, number, sms in self.env.cr.fetchall()}
        Recipient = self.env["cgsms.recipient"].sudo()
        sms_of = {}
        for reply in self:
            sms_id = found.get((reply.account_id.id, reply.number))
            if sms_id:
                sms_of[reply.id] = Recipient.browse(sms_id)
        return sms_of

    def _cgsms_known_partners(self):
        """{reply id: a contact of the reply's company with that number}, shown on an
        unmatched reply (never created: a stranger stays a number); one search for all."""
        if not self:
            return {}
        found = (
            self.env["res.partner"]
            .sudo()
            .search(
                [
                    ("phone_sanitized", "in", list(set(self.mapped("number")))),
                    ("company_id", "in", [False, *self.company_id.ids]),
                ]
            )
        )
        by_number = defaultdict(list)
        for partner in found:
            by_number[partner.phone_sanitized].append(partner)
        partner_of = {}
        for reply in self:
            for partner in by_number[reply.number]:
                if partner.company_id.id in (False, reply.company_id.id):
                    partner_of[reply.id] = partner
                    break
        return partner_of

    def _cgsms_post_values(self, sms_of):
        """What ``message_post`` computes of each document the replies ``self`` go to (its
        name, alias domain, company and reply-to address), computed once per document model
        for the whole batch: {(model, id): {...}} (see ``_cgsms_post``)."""
        firsts = defaultdict(dict)
        for reply in self:
            document = reply._cgsms_document(sms_of[reply.id])
            if document:
                author = reply.partner_id.id or None
                email_from = reply.partner_id.email_formatted or reply.number
                firsts[document._name].setdefault(document.id, (email_from, author))
        result = {}
        for model, first in firsts.items():
            records = self.env[model].browse(list(first))._fallback_lang()
            names = {record.id: record.display_name for record in records.sudo()}
            alias_domains = records.sudo()._mail_get_alias_domains(default_company=self.env.company)
            companies = records._mail_get_companies(default=self.env.company)
            reply_to = self._cgsms_reply_to(records, first)
            for record in records:
                email_from, author = first[record.id]
                result[(model, record.id)] = {
                    "values": {
                        "record_name": names[record.id],
                        "record_alias_domain_id": alias_domains[record.id].id,
                        "record_company_id": companies[record.id].id,
                    },
                    "email_from": email_from,
                    "author_id": author,
                    "reply_to": reply_to.get(record.id),
                }
        return result

    def _cgsms_reply_to(self, records, first):
        """The reply-to addresses ``message_post`` would compute for ``records`` (one batch
        call); {id: address}, without the ids it would compute otherwise."""
        if hasattr(records, "_notify_get_reply_to_batch"):
            # 19.0: the author's name goes into the address; known only for a contact
            ids = [rid for rid, (_email, author) in first.items() if author]
            if not ids:
                return {}
            return records.browse(ids)._notify_get_reply_to_batch(
                defaults={rid: first[rid][0] for rid in ids},
                author_ids={rid: first[rid][1] for rid in ids},
            )
        reply_to = records._notify_get_reply_to(default=False)
        return {rid: reply_to.get(rid) or first[rid][0] for rid in first}
