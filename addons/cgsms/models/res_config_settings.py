from odoo import api, fields, models

from .cgsms_account import ACCOUNT_STATES, DEFAULT_BASE_URLS, _provider_selection

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
    # The account of the settings' company, as the user may see it: computed from the
    # company, never from an account id a client sends (see _compute_cgsms_account).
    cgsms_account_id = fields.Many2one("cgsms.account", compute="_compute_cgsms_account")
    cgsms_neutralized = fields.Boolean(related="company_id.cgsms_neutralized")
    cgsms_state = fields.Selection(ACCOUNT_STATES, "State", compute="_compute_cgsms_account")
    cgsms_credit_available = fields.Float(
        "Available credits", digits=(12, 4), compute="_compute_cgsms_account"
    )
    cgsms_last_check_message = fields.Char("Last Check Message", compute="_compute_cgsms_account")
    cgsms_provider_balance_display = fields.Char(
        "Balance at the provider", compute="_compute_cgsms_account"
    )
    # Delivery reports: what to give the provider (read-only here, edited on the account)
    cgsms_callback_url = fields.Char(
        "Delivery report URL",
        compute="_compute_cgsms_account",
        groups="cgsms.group_cgsms_manager",
        help="Give this address to your provider as the delivery report (status callback) "
        "URL, with the delivery report secret.",
    )
    cgsms_webhook_secret = fields.Char(
        "Delivery report secret",
        compute="_compute_cgsms_account",
        groups="cgsms.group_cgsms_manager",
        help="Secret used to sign delivery reports (Vonage signature secret, LusoSMS and "
        "sandbox HMAC key). Twilio signs with the Auth Token.",
    )
    cgsms_account_provider = fields.Selection(
        _provider_selection, "Provider", compute="_compute_cgsms_account"
    )
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
    cgsms_who_may_send = fields.Selection(
        related="company_id.cgsms_who_may_send", readonly=False, required=True
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

    def onchange(self, values, field_names, fields_spec):
        # The account shown is the one of the settings' company, never one a client names.
        if "cgsms_account_id" in values or "cgsms_account_id" in field_names:
            values = {k: v for k, v in values.items() if k != "cgsms_account_id"}
            field_names = [name for name in field_names if name != "cgsms_account_id"]
        return super().onchange(values, field_names, fields_spec)

    @api.depends("company_id")
    @api.depends_context("uid", "allowed_company_ids")
    def _compute_cgsms_account(self):
        for settings in self:
            account = settings._cgsms_account(settings.company_id)
            settings.cgsms_account_id = account
            settings.cgsms_state = account.state
            settings.cgsms_credit_available = account.credit_available
            settings.cgsms_last_check_message = account.last_check_message
            settings.cgsms_provider_balance_display = account.provider_balance_display
            settings.cgsms_account_provider = account.provider
            # the secret only for whoever may change the account: its company's SMS managers
            secret = account if account and account.has_access("write") else account.browse()
            settings.cgsms_callback_url = secret.callback_url
            settings.cgsms_webhook_secret = secret.webhook_secret

    def _cgsms_account(self, company=None):
        """The (primary) SMS account of ``company`` (default: the current company) that the user
        may read, else an empty recordset: read with the user's rights and record rules, so that
        nobody sees, changes or tests the account of a company they do not work in."""
        company = company or self.env.company
        Account = self.env["cgsms.account"].with_context(active_test=False)
        if not company or not Account.has_access("read"):
            return Account
        accounts = Account.search([("company_id", "=", company.id)], order="active desc, id desc")
        # Several active accounts: the settings edit the primary one (lowest sequence).
        primary = accounts.filtered("active").sorted(lambda a: (a.sequence, a.id))
        return primary[:1] or accounts[:1]

    @api.model
    def get_values(self):
        res = super().get_values()
        if not self.env.user.has_group("cgsms.group_cgsms_manager"):
            return res
        account = self._cgsms_account()
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
            self.env["cgsms.account"].create(dict(vals, company_id=self.company_id.id, active=True))

    def action_cgsms_test_connection(self):
        self.set_values()
        account = self._cgsms_account(self.company_id)
        if not account:
            account = self.env["cgsms.account"].create(
                {
                    "company_id": self.company_id.id,
                    "active": False,
                    **{fname: self[s] or False for s, fname in _ACCOUNT_FIELDS.items() if self[s]},
                }
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
