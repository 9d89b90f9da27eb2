from odoo import api, fields, models

from .cgsms_account import DEFAULT_BASE_URLS, _provider_selection

# settings field -> account field
_ACCOUNT_FIELDS = {
    "cgsms_provider": "provider",
    "cgsms_sender": "sender",
    "cgsms_username": "username",
    "cgsms_password": "password",
    "cgsms_base_url": "base_url",
    "cgsms_cost_per_segment": "cost_per_segment",
    "cgsms_low_balance_threshold": "low_balance_threshold",
    "cgsms_gsm7_safe": "gsm7_safe",
}


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    cgsms_active = fields.Boolean("Send SMS through my provider")
    cgsms_provider = fields.Selection(_provider_selection, "SMS provider", default="sandbox")
    cgsms_sender = fields.Char("Sender name")
    cgsms_username = fields.Char("Username / API key")
    cgsms_password = fields.Char("Password / token")
    cgsms_base_url = fields.Char("API URL")
    cgsms_cost_per_segment = fields.Float("Credits per SMS", digits=(12, 4), default=1.44)
    cgsms_low_balance_threshold = fields.Float("Low-balance alert", digits=(12, 4), default=50.0)
    cgsms_gsm7_safe = fields.Boolean(
        "Replace accented letters",
        default=True,
        help="Replace accented letters (á→a, ç→c) so an SMS holds 160 characters instead of 70.",
    )
    cgsms_account_id = fields.Many2one("cgsms.account", readonly=True)
    cgsms_state = fields.Selection(related="cgsms_account_id.state")
    cgsms_credit_available = fields.Float(
        related="cgsms_account_id.credit_available", digits=(12, 4)
    )
    cgsms_last_check_message = fields.Char(related="cgsms_account_id.last_check_message")
    cgsms_provider_balance_display = fields.Char(
        related="cgsms_account_id.provider_balance_display"
    )
    # Delivery reports: what to give the provider (read-only here, edited on the account)
    cgsms_callback_url = fields.Char(
        related="cgsms_account_id.callback_url", groups="cgsms.group_cgsms_manager"
    )
    cgsms_webhook_secret = fields.Char(
        related="cgsms_account_id.webhook_secret", groups="cgsms.group_cgsms_manager"
    )
    cgsms_account_provider = fields.Selection(related="cgsms_account_id.provider")
    # Invoicing SMS (per company)
    # The templates in use: the company's, else the module's default (what the wizards and
    # the scheduled reminders fall back to), so that Settings never shows an empty field.
    cgsms_reminder_template_id = fields.Many2one(
        "sms.template",
        "Reminder template",
        domain=[("model", "=", "account.move")],
        compute="_compute_cgsms_templates",
        inverse="_inverse_cgsms_templates",
        readonly=False,
    )
    cgsms_reminder_auto = fields.Boolean(related="company_id.cgsms_reminder_auto", readonly=False)
    cgsms_reminder_first_delay = fields.Integer(
        related="company_id.cgsms_reminder_first_delay", readonly=False
    )
    cgsms_reminder_interval = fields.Integer(
        related="company_id.cgsms_reminder_interval", readonly=False
    )
    cgsms_reminder_max = fields.Integer(related="company_id.cgsms_reminder_max", readonly=False)
    cgsms_reminder_hour_from = fields.Float(
        related="company_id.cgsms_reminder_hour_from", readonly=False
    )
    cgsms_reminder_hour_to = fields.Float(
        related="company_id.cgsms_reminder_hour_to", readonly=False
    )
    cgsms_reminder_workdays_only = fields.Boolean(
        related="company_id.cgsms_reminder_workdays_only", readonly=False
    )
    cgsms_reminder_tz = fields.Selection(related="company_id.cgsms_reminder_tz", readonly=False)
    cgsms_invoice_post_sms = fields.Boolean(
        related="company_id.cgsms_invoice_post_sms", readonly=False
    )
    cgsms_invoice_post_template_id = fields.Many2one(
        "sms.template",
        "Issued invoice template",
        domain=[("model", "=", "account.move")],
        compute="_compute_cgsms_templates",
        inverse="_inverse_cgsms_templates",
        readonly=False,
    )

    @api.depends("company_id")
    def _compute_cgsms_templates(self):
        for settings in self:
            company = settings.company_id
            settings.cgsms_reminder_template_id = company._cgsms_reminder_template()
            settings.cgsms_invoice_post_template_id = company._cgsms_invoice_post_template()

    def _inverse_cgsms_templates(self):
        for settings in self:
            settings.company_id.write(
                {
                    "cgsms_reminder_template_id": settings.cgsms_reminder_template_id.id,
                    "cgsms_invoice_post_template_id": settings.cgsms_invoice_post_template_id.id,
                }
            )

    @api.onchange("cgsms_provider")
    def _onchange_cgsms_provider(self):
        # Show the new provider's standard address, unless the user typed their own.
        if not self.cgsms_base_url or self.cgsms_base_url in DEFAULT_BASE_URLS.values():
            self.cgsms_base_url = DEFAULT_BASE_URLS.get(self.cgsms_provider, "")

    def _cgsms_account(self, company=None):
        company = company or self.env.company
        return (
            self.env["cgsms.account"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", company.id)], order="active desc, id desc", limit=1)
        )

    @api.model
    def get_values(self):
        res = super().get_values()
        if not self.env.user.has_group("cgsms.group_cgsms_manager"):
            return res
        account = self._cgsms_account()
        res["cgsms_account_id"] = account.id
        res["cgsms_active"] = bool(account.active)
        for setting, fname in _ACCOUNT_FIELDS.items():
            if account:
                res[setting] = account[fname]
        return res

    def set_values(self):
        super().set_values()
        if not self.env.user.has_group("cgsms.group_cgsms_manager"):
            return
        account = self._cgsms_account(self.company_id)
        vals = {fname: self[setting] or False for setting, fname in _ACCOUNT_FIELDS.items()}
        vals["gsm7_safe"] = self.cgsms_gsm7_safe
        vals["cost_per_segment"] = self.cgsms_cost_per_segment
        vals["low_balance_threshold"] = self.cgsms_low_balance_threshold
        # An emptied address means the provider's standard one.
        vals["base_url"] = vals.get("base_url") or DEFAULT_BASE_URLS.get(vals["provider"], "")
        if account:
            changed = {k: v for k, v in vals.items() if account[k] != v}
            if "provider" in changed:
                # Written together, so that the new provider does not reset the address.
                changed["base_url"] = vals["base_url"]
            if changed:
                account.write(changed)
            if account.active != self.cgsms_active:
                account.active = self.cgsms_active
        elif self.cgsms_active:
            self.env["cgsms.account"].sudo().create(
                dict(vals, company_id=self.company_id.id, active=True)
            )

    def action_cgsms_test_connection(self):
        self.set_values()
        account = self._cgsms_account(self.company_id)
        if not account:
            account = (
                self.env["cgsms.account"]
                .sudo()
                .create(
                    {
                        "company_id": self.company_id.id,
                        "active": False,
                        **{
                            fname: self[s] or False
                            for s, fname in _ACCOUNT_FIELDS.items()
                            if self[s]
                        },
                    }
                )
            )
        return account.action_test_connection()

    def action_cgsms_open_account(self):
        self.set_values()
        account = self._cgsms_account(self.company_id)
        return {
            "type": "ir.actions.act_window",
            "res_model": "cgsms.account",
            "res_id": account.id,
            "view_mode": "form",
        }
