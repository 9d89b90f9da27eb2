from odoo import models


class CgsmsReply(models.Model):
    """A customer's answer to a mailing's SMS lands on the contact it was sent to (CgSMS's
    reply matching) and counts as a reply in the mailing's statistics."""

    _inherit = "cgsms.reply"

    def _cgsms_post(self, sms, post_values=None):
        super()._cgsms_post(sms, post_values=post_values)
        if sms.sms_uuid:
            trackers = (
                self.env["sms.tracker"]
                .sudo()
                .search([("sms_uuid", "=", sms.sms_uuid), ("mailing_trace_id", "!=", False)])
            )
            trackers.mailing_trace_id.set_replied()
