import logging
import time
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models

from ..engine import transaction
from .cgsms_reply import ANSWERED_STATES

_logger = logging.getLogger(__name__)

# The advisory lock that lets one transaction at a time process pending replies: under a
# burst, one worker then processes them in chunks while the others only record.
PROCESS_LOCK = 1667722864
# Replies processed per transaction: one match query, one partner search, one update.
CHUNK = 100
# A webhook request that took the lock processes at most this long before it answers (the
# provider waits for the answer); the cron takes what is left. The cron's own bound.
REQUEST_BUDGET = 3.0
CRON_BUDGET = 50.0


class CgsmsReply(models.Model):
    """Processing of the replies the webhooks recorded: matched to the SMS they answer, their
    keyword applied, posted on the document of that SMS, in chunks.

    The webhook commits the reply before it processes anything. Then, when no other
    transaction holds the processing lock, it processes the pending replies (its own and
    those of the requests that found the lock taken) chunk by chunk, each chunk in a READ
    COMMITTED transaction that takes the lock again, until a chunk finds nothing: a reply
    committed while the lock was held is seen by that last look. After ``REQUEST_BUDGET``
    seconds it stops and triggers the cron "SMS: process received replies", which also runs
    every few minutes for whatever a killed worker left (its chunk rolled back, its replies
    pending again)."""

    _inherit = "cgsms.reply"

    @api.model
    def _cron_process_pending(self):
        self._cgsms_process_pending(budget=CRON_BUDGET)

    @api.model
    def _cgsms_process_pending(self, budget=REQUEST_BUDGET):
        """Process pending replies, chunk by chunk, on this environment's cursor (it commits:
        a cursor of the caller's own, or a cron's), until none is left, another transaction
        holds the lock, or ``budget`` seconds passed (then the cron is triggered)."""
        if transaction.shares_transaction(self.env.cr):
            self._cgsms_process_chunk(self._cgsms_claim(limit=None))
            return
        cr = self.env.cr
        deadline = time.monotonic() + budget
        while True:
            cr.commit()
            self.env.invalidate_all()
            # a chunk, if this transaction gets the lock: none when another one holds it (it
            # processes what was committed before it lets go of it) or when none is left
            replies = self._cgsms_claim(read_committed=True)
            if not replies:
                cr.rollback()
                return
            if time.monotonic() > deadline:
                cr.rollback()
                self._cgsms_trigger_cron()
                cr.commit()
                return
            _logger.info("Processing %s SMS replies", len(replies))
            self._cgsms_process_chunk(replies)

    @api.model
    def _cgsms_process_chunk(self, replies):
        try:
            with self.env.cr.savepoint():
                replies._cgsms_process()
        except Exception:
            _logger.exception("SMS replies could not be processed together, one by one now")
            self._cgsms_process_one_by_one(replies.ids)

    @api.model
    def _cgsms_process_one_by_one(self, ids):
        """A chunk failed: its replies one by one (still locked by this transaction), so that
        one that cannot be processed is kept, unmatched as recorded, instead of holding the
        others back."""
        self.env.invalidate_all()
        for reply in self.browse(ids):
            try:
                with self.env.cr.savepoint():
                    reply._cgsms_process()
            except Exception:
                _logger.exception("SMS reply %s kept unmatched: it cannot be processed", reply.id)
                self.env.invalidate_all()
                self.env.cr.execute(
                    "UPDATE cgsms_reply SET is_pending = FALSE WHERE id = %s", [reply.id]
                )

    @api.model
    def _cgsms_claim(self, limit=CHUNK, read_committed=False):
        """Lock and return up to ``limit`` pending replies, oldest first, if this transaction
        gets the processing lock (taken with the first row; one round trip). With
        ``read_committed``, the statement starts a READ COMMITTED transaction."""
        query = """
            SELECT id FROM cgsms_reply
             WHERE is_pending AND pg_try_advisory_xact_lock(%s)
             ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
        """
        if read_committed:
            query = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;" + query
        self.env.cr.execute(query, [PROCESS_LOCK, limit])
        return self.browse([row[0] for row in self.env.cr.fetchall()])

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
                author = reply.partner_id.id or False
                email_from = reply.partner_id.email_formatted or reply._cgsms_email_from()
                firsts[document._name].setdefault(document.id, (email_from, author))
        result = {}
        for model, first in firsts.items():
            records = self.env[model].browse(list(first))._fallback_lang()
            names = {record.id: record.sudo().display_name for record in records}
            alias_domains = records.sudo()._mail_get_alias_domains(default_company=self.env.company)
            companies = records._mail_get_companies(default=self.env.company)
            reply_to = self._cgsms_reply_to(records, first)
            # 18.0 stores the document's name on the message, 19.0 refuses it
            named = "record_name" in records._get_message_create_valid_field_names()
            for record in records:
                email_from, author = first[record.id]
                values = {
                    "record_alias_domain_id": alias_domains[record.id].id,
                    "record_company_id": companies[record.id].id,
                }
                if named:
                    values["record_name"] = names[record.id]
                result[(model, record.id)] = {
                    "values": values,
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
