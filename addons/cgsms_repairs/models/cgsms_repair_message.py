from odoo import api, fields, models
from odoo.addons.cgsms.models.cgsms_recipient import STATES


class CgsmsRepairMessage(models.Model):
    """A message written on a repair for its customer: kept as a note in the chatter and,
    when it was sent by SMS, linked to the SMS history for its delivery status."""

    _name = "cgsms.repair.message"
    _description = "Repair message"
    _order = "date desc, id desc"
    _rec_name = "body"

    repair_id = fields.Many2one(
        "repair.order", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="repair_id.company_id", store=True, index=True)
    message_id = fields.Many2one(
        "mail.message",
        "Chatter message",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    author_id = fields.Many2one(
        "res.users", "Written by", default=lambda self: self.env.user, readonly=True
    )
    body = fields.Text("Message", required=True, readonly=True)
    is_sms = fields.Boolean("Sent by SMS", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    number = fields.Char("Mobile", readonly=True)
    sms_state = fields.Selection(
        STATES, "Delivery", compute="_compute_sms_state", help="Delivery status of the SMS."
    )
    sms_failure_reason = fields.Char("Delivery problem", compute="_compute_sms_state")
    sms_body = fields.Text(
        "As sent",
        compute="_compute_sms_state",
        help="The text as it left (the SMS account may replace accented letters).",
    )

    @api.depends("message_id", "is_sms")
    def _compute_sms_state(self):
        # The SMS history is readable by SMS users only; the status itself is not sensitive.
        sms_messages = self.filtered("is_sms").message_id
        recipients = (
            self.env["cgsms.recipient"]
            .sudo()
            .search([("mail_message_id", "in", sms_messages.ids)], order="id")
        )
        by_message = {recipient.mail_message_id.id: recipient for recipient in recipients}
        for line in self:
            recipient = by_message.get(line.message_id.id) if line.is_sms else None
            line.sms_state = recipient.state if recipient else False
            line.sms_body = recipient.body if recipient else False
            line.sms_failure_reason = (
                recipient.failure_reason if recipient and recipient.state == "failed" else False
            )
