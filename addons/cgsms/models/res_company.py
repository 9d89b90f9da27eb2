from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    cgsms_account_id = fields.Many2one(
        "cgsms.account",
        "SMS account",
        compute="_compute_cgsms_account_id",
        help="The active SMS provider account of the company.",
    )

    def _compute_cgsms_account_id(self):
        accounts = self.env["cgsms.account"]._get_active_by_company(self.ids)
        for company in self:
            company.cgsms_account_id = accounts.get(company.id, False)
