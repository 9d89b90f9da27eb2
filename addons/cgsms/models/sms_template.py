from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.sms_segments import count_segments
from .cgsms_message import MAX_SEGMENTS


class SmsTemplate(models.Model):
    _inherit = "sms.template"

    cgsms_company_id = fields.Many2one(
        "res.company",
        "Company",
        index="btree_not_null",
        default=lambda self: self._default_cgsms_company_id(),
        help="The company whose SMS users may use and change this template. Empty: every "
        "company may use it and only SMS managers change it.",
    )

    @api.model
    def _default_cgsms_company_id(self):
        # SMS users write templates of their company only; managers share theirs by default.
        if self.env.su or self.env.user.has_group("cgsms.group_cgsms_manager"):
            return False
        return self.env.company

    @api.constrains("body")
    def _check_cgsms_length(self):
        for template in self:
            segments = count_segments(template.body or "").segments
            if segments > MAX_SEGMENTS:
                raise ValidationError(
                    self.env._(
                        "The template %(name)s is too long: %(segments)s SMS per recipient, "
                        "at most %(max)s are allowed. Shorten the text.",
                        name=template.name or "",
                        segments=segments,
                        max=MAX_SEGMENTS,
                    )
                )
