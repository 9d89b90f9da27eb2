from odoo import fields, models

FINAL_STATES = ("sent", "delivered", "failed", "cancelled", "unknown")


class CgsmsRecipient(models.Model):
    _inherit = "cgsms.recipient"

    message_id = fields.Many2one("cgsms.message", "SMS send", index=True, ondelete="cascade")

    def write(self, vals):
        res = super().write(vals)
        if vals.get("state") in FINAL_STATES:
            message_ids = self.message_id.ids
            if message_ids:
                self.env["cgsms.message"]._cgsms_check_done_later(message_ids)
        return res
