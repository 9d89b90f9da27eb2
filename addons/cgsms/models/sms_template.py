from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.rendering_tools import parse_inline_template

from ..engine.policy import MAX_SEGMENTS
from ..tools.placeholders import render_without_contact
from ..tools.sms_segments import count_segments


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

    # The account's "replace accented letters": the form counts the text as it will leave.
    cgsms_gsm7_safe = fields.Boolean("Replace accented letters", compute="_compute_cgsms_gsm7_safe")

    # "body": a new template's form (18.0) computes it again as the text is typed
    @api.depends("cgsms_company_id", "body")
    @api.depends_context("company")
    def _compute_cgsms_gsm7_safe(self):
        Account = self.env["cgsms.account"]
        for template in self:
            account = Account._get_active(template.cgsms_company_id or self.env.company)
            template.cgsms_gsm7_safe = account.gsm7_safe

    @api.constrains("body")
    def _check_cgsms_length(self):
        for template in self:
            account = self.env["cgsms.account"]._get_active(
                template.cgsms_company_id or self.env.company
            )
            body = account._cgsms_prepare_body(template.body) if account else template.body
            segments = count_segments(body or "").segments
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
