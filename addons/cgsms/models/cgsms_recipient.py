from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import compat
from ..engine import handoff
from .cgsms_message import _STATE_TOKEN, DIRECT_SEND_LIMIT

STATES = [
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("checking", "Checking with the provider"),
    ("unknown", "To check"),
]

ERROR_CLASSES = [
    ("auth", "Provider refused the credentials"),
    ("insufficient_credit", "Insufficient credits"),
    ("invalid_number", "Invalid number"),
    ("missing_number", "No mobile number"),
    ("blacklisted", "Opted out"),
    ("duplicate", "Duplicate"),
    ("no_access", "Not visible to the sender"),
    ("rate_limited", "Rate limited"),
    ("temporary", "Provider unavailable"),
    ("rejected", "Rejected"),
    ("undelivered", "Not delivered"),
    ("unknown", "Unknown"),
]


class CgsmsRecipient(models.Model):
    """One SMS to one number through a CgSMS account: history, cost and delivery status.

    Odoo's ``sms.sms`` rows are garbage-collected once sent; these records are kept."""

    _name = "cgsms.recipient"
    _inherit = ["cgsms.number.document"]
    _description = "SMS sent through a provider"
    _order = "id desc"
    _rec_name = "number"

    # Not indexed, nor is state: every line is written twice as it leaves (claimed, then
    # sent), never in place (its state changes), so each index costs two entries per SMS.
    # A company or an account holds most lines (an index would not be used); the lines in
    # flight of an account have a partial index of their own (see init).
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    account_id = fields.Many2one("cgsms.account", readonly=True, ondelete="restrict")
    partner_id = fields.Many2one("res.partner", "Contact", index="btree_not_null", readonly=True)
    number = fields.Char(readonly=True, help="Number in international format (E.164)")
    typed_number = fields.Char(
        "As typed",
        readonly=True,
        help="The number as it was typed on the send or on the contact: two entries of the "
        "same number typed differently are told apart here.",
    )
    body = fields.Text("Message", readonly=True)
    # Indexed by its unique constraint (sms_uuid_unique): no second index.
    sms_uuid = fields.Char("SMS UUID", readonly=True, copy=False)
    mail_message_id = fields.Many2one("mail.message", index="btree_not_null", readonly=True)
    res_model = fields.Char("Document model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)
    state = fields.Selection(STATES, default="queued", required=True, readonly=True)
    error_class = fields.Selection(ERROR_CLASSES, "Failure", readonly=True)
    failure_reason = fields.Char(readonly=True)
    provider_message_id = fields.Char("Provider id", readonly=True, index="btree_not_null")
    encoding = fields.Char(readonly=True)
    segments = fields.Integer("Messages", readonly=True)
    cost = fields.Float("Credits", digits=(12, 4), readonly=True)
    attempts = fields.Integer(readonly=True)
    date_sent = fields.Datetime("Sent on", readonly=True)
    date_attempt = fields.Datetime(
        "Handed over on", readonly=True, help="When the SMS was last handed to the provider."
    )
    lookup_count = fields.Integer(
        "Lookups", readonly=True, help="Failed attempts to check this SMS at the provider."
    )
    date_done = fields.Datetime("Delivered on", readonly=True)

    locals().update(
        compat.sql_constraints(
            ("sms_uuid_unique", "unique(sms_uuid)", "An SMS is recorded only once."),
        )
    )

    def init(self):
        # The numbers of a send still waiting to leave, found without reading those that left
        # (a send is complete when there are none; checked at each commit of the delivery
        # engine). By line too: the check reads a send's newest lines first (engine/compose.py,
        # SENDS_DONE), where the entries of the lines that left since the last vacuum are not.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS cgsms_recipient_waiting_idx
                ON cgsms_recipient (message_id, id)
             WHERE state IN ('queued', 'sending', 'checking')
            """
        )
        self.env.cr.execute("DROP INDEX IF EXISTS cgsms_recipient_waiting_message_id_idx")
        # The lines that may have left, per account: looked up at the provider when stale
        # (engine/reconcile.py). Partial: a line claimed gets an entry, a line sent does not.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS cgsms_recipient_inflight_idx
                ON cgsms_recipient (account_id)
             WHERE state IN ('sending', 'checking')
            """
        )
        # Every line is written twice as it leaves (claimed, then sent), never in place (its
        # state is in the partial indexes above), and each write adds an entry to every index
        # whose condition the new row meets: the indexes below cost more than they served.
        # The plain index of sms_uuid repeated its unique constraint's; those of the company,
        # the account and the state were never chosen (few distinct values; the lines in
        # flight have the partial index above).
        self.env.cr.execute(
            "DROP INDEX IF EXISTS cgsms_recipient__sms_uuid_index, "
            "cgsms_recipient__company_id_index, cgsms_recipient__account_id_index, "
            "cgsms_recipient__state_index"
        )

    @api.model_create_multi
    def create(self, vals_list):
        self._cgsms_check_history_write()
        return super().create(vals_list)

    def write(self, vals):
        self._cgsms_check_history_write()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            _(
                "The SMS history is kept: an SMS line cannot be deleted, it is the record "
                "behind the credits it consumed."
            )
        )

    def action_cgsms_check_resend(self):
        """For an SMS nobody could tell whether it left: check once more at the provider,
        then send it again if the provider does not have it."""
        if not self.env.user.has_group("cgsms.group_cgsms_manager"):
            raise AccessError(_("Only SMS managers can send an SMS again."))
        lines = self.filtered(lambda r: r.state == "unknown")
        if not lines:
            return False
        queued = self.env["sms.sms"]._cgsms_check_and_resend(lines)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Check and resend"),
                "message": _(
                    "%(queued)s SMS sent again, %(found)s had already left.",
                    queued=queued,
                    found=len(lines) - queued,
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _cgsms_check_history_write(self):
        """The history is append-only: only the delivery engine (as superuser) and the actions
        of the sends (with their private token, which a client request cannot carry) record
        what happened to an SMS. Corrections go through actions that leave a trace (Resend,
        Retry now, Check and resend)."""
        if self.env.su or self.env.context.get("cgsms_state_token") == _STATE_TOKEN:
            return
        raise AccessError(
            _(
                "The SMS history cannot be changed by hand. To correct an SMS, send it again "
                "with Resend failed, Retry now or Check and resend."
            )
        )

    def _cgsms_left_queue(self, message_ids=None):
        """Hook called after the engine saved these lines as sent in bulk (no ORM write):
        tells the sends they belong to that they may be complete (``message_ids``: those
        sends, when the caller knows them)."""
        if "message_id" not in self._fields or not self:
            return
        if message_ids is None:
            # Only the sends (the records would read every column of the lines again).
            self.flush_recordset(["message_id"])
            self.env.cr.execute(
                "SELECT DISTINCT message_id FROM cgsms_recipient"
                " WHERE id = ANY(%s) AND message_id IS NOT NULL",
                [self.ids],
            )
            message_ids = [row[0] for row in self.env.cr.fetchall()]
        if message_ids:
            self.env["cgsms.message"]._cgsms_check_done_later(message_ids)

    def _cgsms_resolve_refs(self, account, reports):
        """A receipt carrying our reference (Vonage client-ref) resolves an SMS whose send
        answer was lost: its provider id is saved so that the receipt applies to it."""
        refs = {r.ref: r.message_id for r in reports if r.ref and r.message_id}
        if not refs:
            return
        lines = self.sudo().search(
            [
                ("account_id", "=", account.id),
                ("sms_uuid", "in", list(refs)),
                ("state", "in", ("sending", "checking", "unknown")),
                ("provider_message_id", "=", False),
            ]
        )
        for line in lines:
            line.write(
                {
                    "state": "sent",
                    "provider_message_id": refs[line.sms_uuid],
                    "date_sent": line.date_attempt or fields.Datetime.now(),
                    "error_class": False,
                    "failure_reason": False,
                }
            )
            sms = self.env["sms.sms"].sudo().search([("uuid", "=", line.sms_uuid)], limit=1)
            if sms:
                sms.sms_tracker_id._action_update_from_sms_state("pending")
                sms.write({"state": "pending", "failure_type": False, "to_delete": True})

    def action_retry_now(self):
        """Send now the SMS waiting in the queue (provider down, rate limited) instead of
        waiting for the queue's next try."""
        self.check_access("read")
        queued = self.filtered(lambda r: r.state == "queued")
        sms = (
            self.env["sms.sms"]
            .sudo()
            .search([("cgsms_recipient_id", "in", queued.ids), ("state", "=", "outgoing")])
        )
        if not sms:
            raise UserError(_("No SMS is waiting to be sent again: they have all left."))
        limit = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("cgsms.direct_send_limit", DIRECT_SEND_LIMIT)
        )
        if len(sms) > limit:
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
            return self._retry_notification(
                _("%(count)s SMS are being sent again in the background.", count=len(sms)),
                "info",
            )
        sms.send(unlink_failed=True, unlink_sent=True, auto_commit=False, raise_exception=False)
        if handoff.deferred(self.env):
            return self._retry_notification(
                _("%(count)s SMS are leaving now.", count=len(sms)), "success"
            )
        queued.message_id._cgsms_check_done()
        waiting = queued.filtered(lambda r: r.state == "queued")
        if not waiting:
            return self._retry_notification(_("The waiting SMS have left."), "success")
        return self._retry_notification(
            _(
                "Still waiting for the provider: %(reason)s",
                reason=waiting[0].failure_reason or "",
            ),
            "warning",
        )

    def _retry_notification(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Retry now"),
                "message": message,
                "type": kind,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _apply_delivery_reports(self, account, reports):
        """Apply provider delivery reports (``DeliveryReport`` list) of ``account``.

        A report applies to the SMS of that account that has its provider id (or, when the
        provider echoes it, our reference) and whose send result is saved. A replayed or late
        report never moves a final state backwards, so it never refunds twice. Reports with a
        final status that match no SMS yet (a report can arrive before the send's transaction
        commits) are kept in ``cgsms.delivery.report`` and applied once the SMS gets its
        provider id (see ``_cgsms_apply_pending_reports``).

        Returns the number of SMS whose state changed."""
        self._cgsms_resolve_refs(account, reports)
        matched = self._cgsms_match_reports(account, reports)
        updated = 0
        for report, rec in matched:
            updated += rec._cgsms_apply_report(report)
        matched_ids = {id(report) for report, _rec in matched}
        unmatched = [r for r in reports if id(r) not in matched_ids]
        if unmatched:
            Report = self.env["cgsms.delivery.report"].sudo()
            Report._cgsms_keep(account, unmatched)
            Report._cgsms_recheck_after_commit(
                account, [r.message_id for r in unmatched], [r.ref for r in unmatched]
            )
        return updated

    def _cgsms_match_reports(self, account, reports):
        """``[(report, recipient)]`` for the reports that match an SMS of ``account`` whose
        provider id is saved: by provider id first, else by our reference."""
        reports = [r for r in reports if r.message_id]
        if not reports:
            return []
        Recipient = self.sudo()
        by_message = {
            rec.provider_message_id: rec
            for rec in Recipient.search(
                [
                    ("account_id", "=", account.id),
                    ("provider_message_id", "in", list({r.message_id for r in reports})),
                ]
            )
        }
        refs = list({r.ref for r in reports if r.ref and r.message_id not in by_message})
        by_ref = {}
        if refs:
            by_ref = {
                rec.sms_uuid: rec
                for rec in Recipient.search(
                    [
                        ("account_id", "=", account.id),
                        ("sms_uuid", "in", refs),
                        ("provider_message_id", "!=", False),
                    ]
                )
            }
        matched = []
        for report in reports:
            rec = by_message.get(report.message_id) or by_ref.get(report.ref)
            if rec:
                matched.append((report, rec))
        return matched

    def _cgsms_apply_report(self, report):
        """Apply one delivery report to this SMS; 1 if its state changed, else 0."""
        self.ensure_one()
        rec = self.sudo()
        if rec.state in ("delivered", "failed", "cancelled") or not rec.provider_message_id:
            return 0
        now = fields.Datetime.now()
        trackers = self.env["sms.tracker"].sudo()
        tracker = trackers.search([("sms_uuid", "=", rec.sms_uuid)]) if rec.sms_uuid else trackers
        if report.status == "delivered":
            rec.write({"state": "delivered", "date_done": now})
            tracker._action_update_from_sms_state("sent")
        elif report.status == "failed":
            reason = " ".join(p for p in (report.provider_code, report.provider_text) if p)
            rec.write(
                {
                    "state": "failed",
                    "error_class": "undelivered",
                    "failure_reason": reason or _("Not delivered"),
                    "date_done": now,
                }
            )
            tracker._action_update_from_provider_error("not_delivered")
            if rec.account_id.refund_undelivered and rec.cost:
                rec._refund(_("Undelivered SMS"))
        else:
            return 0
        return 1

    def _cgsms_apply_pending_reports(self):
        """Apply the delivery reports kept for these SMS because they arrived before their
        provider id was saved. Call it on the SMS whose provider ids were just saved (the
        sending engine does, right after saving them); the delivery-report cron catches the
        rest. Returns the number of SMS whose state changed."""
        recipients = self.sudo().filtered("provider_message_id")
        if not recipients:
            return 0
        return (
            self.env["cgsms.delivery.report"]
            .sudo()
            ._cgsms_apply_pending(
                recipients.account_id.ids,
                recipients.mapped("provider_message_id"),
                recipients.mapped("sms_uuid"),
            )
        )

    def _refund(self, reason):
        lines = []
        for rec in self.filtered(lambda r: r.cost and r.account_id):
            lines.append(
                {
                    "account_id": rec.account_id.id,
                    "kind": "refund",
                    "amount": rec.cost,
                    "recipient_id": rec.id,
                    "segments": rec.segments,
                    "reference": reason,
                }
            )
            rec.cost = 0.0
        if lines:
            self.env["cgsms.credit.line"].sudo().create(lines)
