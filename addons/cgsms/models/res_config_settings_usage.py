from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    cgsms_credit_forecast = fields.Char("At this rate", compute="_compute_cgsms_credit_usage")
    cgsms_credit_month_comparison = fields.Char("Spending", compute="_compute_cgsms_credit_usage")

    @api.depends("company_id")
    @api.depends_context("uid", "allowed_company_ids")
    def _compute_cgsms_credit_usage(self):
        for settings in self:
            # the account of the settings' company as the user may see it (never one a
            # client names), like the other figures of the account shown here
            account = settings._cgsms_account(settings.company_id)
            settings.cgsms_credit_forecast = account.credit_forecast if account else False
            settings.cgsms_credit_month_comparison = (
                account.credit_month_comparison if account else False
            )
