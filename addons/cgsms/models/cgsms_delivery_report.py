import functools
import logging
import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..engine import sql, transaction
from ..providers import DeliveryReport
from .cgsms_account import _provider_selection

_logger = logging.getLogger(__name__)

# Applied reports are kept this long (to answer "when did the report come?"), then deleted.
KEEP_APPLIED = timedelta(days=30)
# The reports kept for some provider ids or references of some accounts, written once for
# the query that applies them and the engine's look (``_cgsms_any_pending``).
_PENDING = (
    "state = 'pending' AND account_id = ANY({accounts})"
    " AND (provider_message_id = ANY({ids}) OR ref = ANY({refs}))"
)
# The engine looks after each batch of results: planned once per connection.
REPORTS_KEPT = sql.function(
    "cgsms_reports_kept",
    "p_accounts integer[], p_ids text[], p_refs text[]",
    "boolean",
    "RETURN EXISTS (SELECT 1 FROM cgsms_delivery_report WHERE "
    + _PENDING.format(accounts="p_accounts", ids="p_ids", refs="p_refs")
    + ");",
)
# A kept report still unmatched after this long is shown to the managers.
UNMATCHED_AFTER = timedelta(days=1)
# At most one early run of the cron per process and this many seconds.
_TRIGGER_EVERY = 10.0
_last_trigger = {}


class CgsmsDeliveryReport(models.Model):
    """A signed delivery report that matched no SMS when it arrived.

    A provider can report faster than the send's transaction commits: such a report is kept
    here (its signature was checked first) and applied as soon as its SMS gets its provider
    id, by ``cgsms.recipient._cgsms_apply_pending_reports`` or by the cron."""

    _name = "cgsms.delivery.report"
    _description = "Delivery report kept until its SMS is known"
    _order = "received_date desc, id desc"
    _rec_name = "provider_message_id"

    account_id = fields.Many2one(
        "cgsms.account", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, readonly=True
    )
    provider = fields.Selection(_provider_selection, readonly=True)
    provider_message_id = fields.Char("Provider id", required=True, readonly=True, index=True)
    ref = fields.Char("Our reference", readonly=True, index="btree_not_null")
    status = fields.Selection(
        [("sent", "Sent"), ("delivered", "Delivered"), ("failed", "Not delivered")],
        required=True,
        readonly=True,
    )
    summary = fields.Char("Report", readonly=True, help="Status and code given by the provider.")
    error_class = fields.Char(readonly=True)
    provider_code = fields.Char(readonly=True)
    provider_text = fields.Char(readonly=True)
    received_date = fields.Datetime(
        "Received on", required=True, readonly=True, default=fields.Datetime.now, index=True
    )
    state = fields.Selection(
        [("pending", "Waiting for its SMS"), ("applied", "Applied")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    recipient_id = fields.Many2one("cgsms.recipient", "SMS", readonly=True, ondelete="set null")
    applied_date = fields.Datetime("Applied on", readonly=True)

    @api.model
    def _cgsms_keep(self, account, reports):
        """Keep the reports of ``account`` that matched no SMS. Only final statuses are worth
        keeping; a report already kept is not kept twice (providers retry and replay)."""
        reports = [r for r in reports if r.message_id and r.status in ("delivered", "failed")]
        if not reports:
            return self.browse()
        existing = {
            (r.provider_message_id, r.status)
            for r in self.sudo().search(
                [
                    ("account_id", "=", account.id),
                    ("state", "=", "pending"),
                    ("provider_message_id", "in", [r.message_id for r in reports]),
                ]
            )
        }
        vals_list = []
        for report in reports:
            key = (report.message_id, report.status)
            if key in existing:
                continue
            existing.add(key)
            vals_list.append(
                {
                    "account_id": account.id,
                    "provider": account.provider,
                    "provider_message_id": report.message_id[:256],
                    "ref": (report.ref or "")[:256] or False,
                    "status": report.status,
                    "summary": " ".join(
                        p for p in (report.provider_text, report.provider_code) if p
                    )[:256],
                    "error_class": report.error_class or False,
                    "provider_code": (report.provider_code or "")[:256] or False,
                    "provider_text": (report.provider_text or "")[:256] or False,
                }
            )
        kept = self.sudo().create(vals_list)
        if kept:
            self._cgsms_trigger_cron()
        return kept

    def _cgsms_report(self):
        self.ensure_one()
        return DeliveryReport(
            message_id=self.provider_message_id,
            status=self.status,
            error_class=self.error_class or "",
            provider_code=self.provider_code or "",
            provider_text=self.provider_text or "",
            ref=self.ref or "",
        )

    def _cgsms_apply(self):
        """Apply the pending reports of ``self`` whose SMS is now known; returns the number of
        SMS whose state changed. The others stay pending."""
        updated = 0
        Recipient = self.env["cgsms.recipient"].sudo()
        now = fields.Datetime.now()
        pending = self.filtered(lambda r: r.state == "pending").sorted("received_date")
        for account, kept in pending.grouped("account_id").items():
            # oldest first: the first final status reported is the one that stands
            records = {}
            for report in kept:
                dataclass = report._cgsms_report()
                records[id(dataclass)] = (report, dataclass)
            dataclasses = [dataclass for _report, dataclass in records.values()]
            for dataclass, recipient in Recipient._cgsms_match_reports(account, dataclasses):
                updated += recipient._cgsms_apply_report(dataclass)
                records[id(dataclass)][0].write(
                    {"state": "applied", "recipient_id": recipient.id, "applied_date": now}
                )
        return updated

    @api.model
    def _cgsms_recheck_after_commit(self, accounts, message_ids, refs=()):
        """Once the current transaction commits, apply the pending reports of ``accounts``
        for these provider ids / references, in a transaction of its own.

        Called by both sides of a race: the engine saving provider ids, and a report that
        matched no SMS. Each looked in a snapshot taken before the other committed; whichever
        commits last then sees the other's work here, within a moment of its commit instead
        of at the next cron."""
        cr = self.env.cr
        message_ids = [m for m in message_ids if m]
        refs = [r for r in refs if r]
        if not accounts or not (message_ids or refs) or transaction.shares_transaction(cr):
            return  # a test's single transaction sees everything already
        cr.postcommit.add(
            functools.partial(self._cgsms_recheck_now, accounts.ids, message_ids, refs)
        )

    @api.model
    def _cgsms_recheck_now(self, account_ids, message_ids, refs):
        """Apply the pending reports of ``account_ids`` for these provider ids / references,
        in a transaction of its own (those another transaction is applying are left to it).
        Never fails the caller: the cron applies them later, the sender's work is
        committed."""
        if not (message_ids or refs):
            return
        try:
            with transaction.read_committed(self.env) as own:
                own["cgsms.delivery.report"]._cgsms_apply_unlocked(account_ids, message_ids, refs)
        except Exception:
            _logger.exception("Early delivery reports not applied; the cron will")

    @api.model
    def _cgsms_apply_unlocked(self, account_ids, message_ids, refs):
        """Apply the pending reports of these ids that no other transaction is applying
        (the others are theirs). Returns the number of SMS whose state changed."""
        updated = self._cgsms_apply_pending(account_ids, message_ids, refs, lock=True)
        if updated:
            _logger.info("%s early delivery report(s) applied after a commit", updated)
        return updated

    @api.model
    def _cgsms_apply_pending(self, account_ids, message_ids, refs, lock=False):
        """Apply the reports kept for these provider ids or references of ``account_ids``
        (they arrived before the SMS's provider id was saved); with ``lock``, only those no
        other transaction is applying. One query, and nothing read when none is kept: the
        delivery engine asks after each batch of results. Returns the number of SMS whose
        state changed."""
        where = self._cgsms_pending_where(account_ids, message_ids, refs)
        if where is None:
            return 0
        self.env.cr.execute(
            SQL(
                "SELECT id FROM cgsms_delivery_report WHERE %s ORDER BY id %s",
                where,
                SQL("FOR UPDATE SKIP LOCKED" if lock else ""),
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        return self.browse(ids)._cgsms_apply() if ids else 0

    @api.model
    def _cgsms_any_pending(self, account_ids, message_ids, refs):
        """Whether a report is kept for one of these provider ids or references of
        ``account_ids`` (one read, nothing applied)."""
        args = self._cgsms_pending_args(account_ids, message_ids, refs)
        if args is None:
            return False
        self.env.cr.execute(f"SELECT {REPORTS_KEPT}(%s, %s, %s)", args)
        return self.env.cr.fetchone()[0]

    def _cgsms_pending_where(self, account_ids, message_ids, refs):
        """The condition of the reports kept for these ids (None when there is nothing to
        look for)."""
        args = self._cgsms_pending_args(account_ids, message_ids, refs)
        if args is None:
            return None
        return SQL(_PENDING.format(accounts="%s", ids="%s", refs="%s"), *args)

    def _cgsms_pending_args(self, account_ids, message_ids, refs):
        """(accounts, provider ids, references) of ``_PENDING``, None when there is nothing
        to look for."""
        message_ids = [m for m in message_ids if m]
        refs = [r for r in refs if r]
        if not account_ids or not (message_ids or refs):
            return None
        self.flush_model(["state", "account_id", "provider_message_id", "ref"])
        return list(account_ids), message_ids, refs

    @api.model
    def _cron_apply_pending(self):
        """Apply every kept report whose SMS is known by now; forget old applied ones."""
        pending = self.sudo().search([("state", "=", "pending")])
        updated = pending._cgsms_apply()
        if updated:
            _logger.info("%s delivery report(s) applied after their SMS was saved", updated)
        self.sudo().search(
            [("state", "=", "applied"), ("applied_date", "<", fields.Datetime.now() - KEEP_APPLIED)]
        ).unlink()
        return updated

    @api.model
    def _cgsms_trigger_cron(self):
        """Run the cron soon, so that a report that came before its SMS was saved is applied
        within seconds even if the sending code did not apply it."""
        key = self.env.cr.dbname
        now = time.monotonic()
        if now - _last_trigger.get(key, -_TRIGGER_EVERY) < _TRIGGER_EVERY:
            return
        _last_trigger[key] = now
        cron = self.env.ref("cgsms.ir_cron_cgsms_delivery_reports", raise_if_not_found=False)
        if cron:
            at = fields.Datetime.now()
            cron.sudo()._trigger([at + timedelta(seconds=5), at + timedelta(seconds=60)])
