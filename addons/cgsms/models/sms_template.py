from odoo import api, fields, models
from odoo.tools.rendering_tools import parse_inline_template

from ..tools.placeholders import render_without_contact


class SmsTemplate(models.Model):
    _inherit = "sms.template"

    cgsms_body_without_contact = fields.Char(
        "For a number typed by hand",
        compute="_compute_cgsms_body_without_contact",
        help="What a number typed by hand (with no contact to fill the placeholders) receives.",
    )

    @api.depends("body")
    def _compute_cgsms_body_without_contact(self):
        for template in self:
            body = template.body or ""
            try:
                instructions = parse_inline_template(body)
            except Exception:  # a half-typed placeholder: show the text as is
                instructions = [(body, "", "")]
            has_placeholder = any(expression for _literal, expression, _default in instructions)
            template.cgsms_body_without_contact = (
                render_without_contact(instructions) if has_placeholder else False
            )
