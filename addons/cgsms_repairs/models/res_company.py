from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    def _default_cgsms_repair_done_template(self):
        return self.env.ref("cgsms_repairs.sms_template_repair_done", raise_if_not_found=False)

    cgsms_repair_done_sms = fields.Boolean(
        "SMS when a repair is done",
        default=True,
        help="Tell the customer by SMS that the equipment can be collected when a repair ends.",
    )
    cgsms_repair_done_template_id = fields.Many2one(
        "sms.template",
        "Repair done SMS template",
        domain="[('model', '=', 'repair.order')]",
        default=lambda self: self._default_cgsms_repair_done_template(),
        help="SMS sent to the customer when a repair is done.",
    )

    @api.model
    def _cgsms_repairs_set_done_template(self):
        """Give the default template to the companies created before the module was installed
        (the field's default only applies to new companies)."""
        template = self._default_cgsms_repair_done_template()
        if template:
            companies = self.search([("cgsms_repair_done_template_id", "=", False)])
            companies.write({"cgsms_repair_done_template_id": template.id})
