from odoo import _, api, fields, models

from .. import compat

STATES = [
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("unknown", "To check"),
]

ERROR_CLASSES = [
    ("auth", "Provider refused the credentials"),
    ("insufficient_credit", "Insufficient credits"),
    ("invalid_number", "Invalid number"),
    ("missing_number", "No mobile number"),
    ("blacklisted", "Opted out"),
    ("duplicate", "Duplicate"),
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
    _description = "SMS sent through a provider"
    _order = "id desc"
    _rec_name = "number"

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    account_id = fields.Many2one("cgsms.account", index=True, readonly=True, ondelete="restrict")
    partner_id = fields.Many2one("res.partner", "Contact", index="btree_not_null", readonly=True)
    number = fields.Char(readonly=True, help="Number in international format (E.164)")
    body = fields.Text("Message", readonly=True)
    sms_uuid = fields.Char("SMS UUID", readonly=True, copy=False, index=True)
    mail_message_id = fields.Many2one("mail.message", index="btree_not_null", readonly=True)
    res_model = fields.Char("Document model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)
    state = fields.Selection(STATES, default="queued", required=True, index=True, readonly=True)
    error_class = fields.Selection(ERROR_CLASSES, "Failure", readonly=True)
    failure_reason = fields.Char(readonly=True)
    provider_message_id = fields.Char("Provider id", readonly=True, index="btree_not_null")
    encoding = fields.Char(readonly=True)
    segments = fields.Integer("Messages", readonly=True)
    cost = fields.Float("Credits", digits=(12, 4), readonly=True)
    attempts = fields.Integer(readonly=True)
    date_sent = fields.Datetime("Sent on", readonly=True)
    date_done = fields.Datetime("Delivered on", readonly=True)

    locals().update(
        compat.sql_constraints(
            ("sms_uuid_unique", "unique(sms_uuid)", "An SMS is recorded only once."),
        )
    )

    @api.depends("number", "partner_id")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = (
                f"{rec.partner_id.name} ({rec.number})" if rec.partner_id else rec.number or ""
            )

    def action_open_document(self):
        self.ensure_one()
        if not self.res_model or not self.res_id:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "name": _("Document"),
        }

    def _apply_delivery_reports(self, account, reports):
        """Apply provider delivery reports. Unknown ids are ignored and a replayed or late
        report never moves a final state backwards. Returns the number of records updated."""
        by_id = {r.message_id: r for r in reports if r.message_id}
        if not by_id:
            return 0
        recipients = self.sudo().search(
            [("account_id", "=", account.id), ("provider_message_id", "in", list(by_id))]
        )
        updated = 0
        now = fields.Datetime.now()
        trackers = self.env["sms.tracker"].sudo()
        for rec in recipients:
            report = by_id[rec.provider_message_id]
            if rec.state in ("delivered", "failed", "cancelled"):
                continue
            tracker = (
                trackers.search([("sms_uuid", "=", rec.sms_uuid)]) if rec.sms_uuid else trackers
            )
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
                if account.refund_undelivered and rec.cost:
                    rec._refund(_("Undelivered SMS"))
            else:
                continue
            updated += 1
        return updated

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
