from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError


class CgsmsCreditLine(models.Model):
    _name = "cgsms.credit.line"
    _description = "SMS credit movement"
    _order = "date desc, id desc"

    account_id = fields.Many2one("cgsms.account", required=True, ondelete="restrict", index=True)
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    kind = fields.Selection(
        [
            ("topup", "Pack bought"),
            ("debit", "SMS sent"),
            ("refund", "Refund"),
            ("adjustment", "Adjustment"),
        ],
        required=True,
        default="topup",
    )
    amount = fields.Float(
        "Credits",
        digits=(12, 4),
        required=True,
        help="Positive for credits added, negative for credits consumed.",
    )
    reference = fields.Char(help="Pack or invoice reference, or the reason of an adjustment.")
    recipient_id = fields.Many2one("cgsms.recipient", "SMS", index="btree_not_null", readonly=True)
    segments = fields.Integer(readonly=True)
    user_id = fields.Many2one("res.users", default=lambda self: self.env.user, readonly=True)

    @api.constrains("kind", "amount")
    def _check_amount_sign(self):
        for line in self:
            if line.kind == "topup" and line.amount <= 0:
                raise ValidationError(_("A pack bought must add a positive number of credits."))
            if line.kind == "debit" and line.amount > 0:
                raise ValidationError(_("A debit cannot add credits."))

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        if not self.env.context.get("cgsms_skip_low_balance"):
            lines.account_id._check_low_balance()
        return lines

    def write(self, vals):  # pylint: disable=method-required-super
        # The ledger is append-only: a mistake is corrected with an adjustment line.
        raise UserError(
            _("Credit movements cannot be changed. Record an adjustment to correct a mistake.")
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            _("Credit movements cannot be deleted. Record an adjustment to correct a mistake.")
        )

    def action_record_pack(self):
        """Header button of the credits screens: record a pack bought for the company's
        active account (the account's own "Add credits")."""
        if not self.env.user.has_group("cgsms.group_cgsms_manager"):
            raise AccessError(_("Only SMS managers can record the packs of credits bought."))
        account = self.env["cgsms.account"]._get_active()
        if not account:
            raise UserError(
                _(
                    "No active SMS account for this company. Configure one in SMS > "
                    "Configuration > Provider accounts, then record the pack."
                )
            )
        return account.sudo(False).action_add_credits()
