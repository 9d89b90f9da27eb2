from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    cgsms_inbound_url = fields.Char(
        "Replies URL",
        compute="_compute_cgsms_inbound_url",
        groups="cgsms.group_cgsms_manager",
        help="Give this address to your provider as the incoming messages (inbound SMS) URL: "
        "the SMS your customers send back then appear in SMS > Replies.",
    )

    @api.depends("company_id")
    @api.depends_context("uid", "allowed_company_ids")
    def _compute_cgsms_inbound_url(self):
        for settings in self:
            account = settings._cgsms_account(settings.company_id)
            # like the delivery report URL: only for whoever may change the account
            if account and account.has_access("write"):
                settings.cgsms_inbound_url = account.inbound_url
            else:
                settings.cgsms_inbound_url = False
