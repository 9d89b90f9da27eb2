from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    cgsms_repair_done_sms = fields.Boolean(
        related="company_id.cgsms_repair_done_sms", readonly=False
    )
    cgsms_repair_done_template_id = fields.Many2one(
        related="company_id.cgsms_repair_done_template_id", readonly=False
    )
