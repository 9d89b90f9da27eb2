import secrets
from urllib.parse import urlsplit

from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from .. import compat
from ..providers import PROVIDERS, ProviderConfig, get_provider_class
from .cgsms_delivery_stat import REFUSALS

DEFAULT_BASE_URLS = {
    "twilio": "https://api.twilio.com",
    "vonage": "https://rest.nexmo.com",
    "lusosms": "https://www.lusosms.com",
    "sandbox": "http://127.0.0.1:8070",
}
# Messages per second an account sends by default (the provider's usual API limit).
DEFAULT_RATES = {
    "twilio": 25.0,
    "vonage": 30.0,
    "lusosms": 10.0,
    "sandbox": 200.0,
}
DEFAULT_IN_FLIGHT = 40
ACCOUNT_STATES = [("not_checked", "Not checked"), ("ok", "Connected"), ("error", "Error")]


def _valid_base_url(url):
    """Whether ``url`` is an http(s) address requests can call (host, optional port)."""
    if not url or any(ord(char) < 33 for char in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _provider_selection(self):
    return [(code, cls.label or code) for code, cls in PROVIDERS.items()]


class CgsmsAccount(models.Model):
    """A company's account at an SMS provider: its fields, checks and which one is active.
    The provider calls are in cgsms_account_provider.py, the credits in
    cgsms_account_credit.py, routing and health in cgsms_account_routing.py."""

    _name = "cgsms.account"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "SMS provider account"
    _order = "company_id, id"

    name = fields.Char(
        compute="_compute_name", store=True, readonly=False, required=True, precompute=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    active = fields.Boolean(
        default=True,
        tracking=True,
        help="Only an active account sends SMS. One active account per company.",
    )
    provider = fields.Selection(
        _provider_selection, required=True, default="sandbox", tracking=True
    )
    sender = fields.Char(
        "Sender name",
        tracking=True,
        help="What the recipient sees as the sender: up to 11 letters and digits, or a phone "
        "number in international format, as your provider allows.",
    )
    username = fields.Char(
        "Username / API key",
        tracking=True,
        groups="cgsms.group_cgsms_manager",
        help="Twilio: Account SID. Vonage: API key. LusoSMS: username. Sandbox: not used.",
    )
    password = fields.Char(
        "Password / token",
        groups="cgsms.group_cgsms_manager",
        copy=False,
        help="Twilio: Auth Token. Vonage: API secret. LusoSMS: password. Sandbox: token.",
    )
    webhook_secret = fields.Char(
        "Delivery report secret",
        groups="cgsms.group_cgsms_manager",
        copy=False,
        default=lambda self: secrets.token_hex(16),
        help="Secret used to sign delivery reports (Vonage signature secret, LusoSMS and "
        "sandbox HMAC key). Twilio signs with the Auth Token.",
    )
    callback_url = fields.Char(
        "Delivery report URL",
        compute="_compute_callback_url",
        groups="cgsms.group_cgsms_manager",
        help="Give this address to your provider as the delivery report (status callback) "
        "URL, with the delivery report secret.",
    )
    dlr_last_date = fields.Datetime(
        "Last delivery report", compute="_compute_dlr_stats", groups="cgsms.group_cgsms_manager"
    )
    dlr_refused_count = fields.Integer(
        "Refused delivery reports",
        compute="_compute_dlr_stats",
        groups="cgsms.group_cgsms_manager",
        help="Reports refused because of a bad signature (check the secret at the provider) "
        "or because they could not be read.",
    )
    dlr_last_refused_date = fields.Datetime(
        "Last refused report", compute="_compute_dlr_stats", groups="cgsms.group_cgsms_manager"
    )
    dlr_last_refusal = fields.Selection(
        REFUSALS,
        "Why it was refused",
        compute="_compute_dlr_stats",
        groups="cgsms.group_cgsms_manager",
    )
    base_url = fields.Char(
        "API URL",
        compute="_compute_base_url",
        store=True,
        precompute=True,
        readonly=False,
        help="Address of the provider's API. Change it only for a self-hosted gateway.",
    )
    cost_per_segment = fields.Float(
        "Credits per SMS",
        digits=(12, 4),
        default=1.44,
        required=True,
        help="Credits consumed by each SMS segment (160 plain characters, or 70 with accents "
        "or emoji).",
    )
    allowed_country_ids = fields.Many2many(
        "res.country",
        "cgsms_account_country_rel",
        "account_id",
        "country_id",
        "Destinations",
        help="The countries this account sends SMS to; numbers of other countries are refused "
        "before sending. A new account sends to its company's country. Premium-rate, "
        "satellite, personal and other non-mobile numbers are always refused.",
    )
    price_ids = fields.One2many(
        "cgsms.price",
        "account_id",
        "Prices per destination",
        help="Credits per SMS for a country or a prefix; the others cost the account's price.",
    )
    low_balance_threshold = fields.Float(
        "Low-balance alert",
        digits=(12, 4),
        default=50.0,
        help="When the available credits fall below this, the SMS managers get an activity.",
    )
    low_balance_notified = fields.Boolean(copy=False, readonly=True)
    gsm7_safe = fields.Boolean(
        "Replace accented letters",
        default=True,
        help="Replace accented letters (á→a, ç→c) and typographic punctuation so that an SMS "
        "holds 160 characters instead of 70. Emoji and other characters without a plain "
        "equivalent still make the SMS Unicode.",
    )
    refund_undelivered = fields.Boolean(
        "Refund undelivered SMS",
        help="Give the credits back when the provider reports an SMS as undelivered (only if "
        "your provider refunds them too).",
    )
    cgsms_in_flight = fields.Integer(
        "Calls in flight",
        default=DEFAULT_IN_FLIGHT,
        help="How many SMS one Odoo worker hands to the provider at the same time. With "
        "40, a provider answering in 250 ms takes up to 160 SMS per second.",
    )
    cgsms_rate_limit = fields.Float(
        "Messages per second",
        compute="_compute_cgsms_rate_limit",
        store=True,
        precompute=True,
        readonly=False,
        digits=(12, 2),
        help="Never send faster than this, all Odoo workers and servers together. Set it to "
        "the limit of your provider contract (0: no limit).",
    )
    credit_available = fields.Float(
        "Available credits", digits=(12, 4), compute="_compute_credit_available"
    )
    credit_sequence = fields.Integer(
        readonly=True, copy=False, help="Technical: bumped by every credit reservation."
    )
    credit_line_ids = fields.One2many("cgsms.credit.line", "account_id", "Credit movements")
    state = fields.Selection(
        ACCOUNT_STATES,
        default="not_checked",
        readonly=True,
        copy=False,
        tracking=True,
    )
    last_check_date = fields.Datetime(readonly=True, copy=False)
    last_check_message = fields.Char(readonly=True, copy=False)
    provider_balance = fields.Float(readonly=True, copy=False, digits=(12, 4))
    provider_currency = fields.Char(readonly=True, copy=False)
    provider_balance_display = fields.Char(
        "Balance at the provider", compute="_compute_provider_balance_display"
    )

    locals().update(
        compat.sql_constraints(
            (
                "cost_positive",
                "CHECK(cost_per_segment >= 0)",
                "The credits per SMS cannot be negative.",
            ),
            (
                "in_flight_range",
                "CHECK(cgsms_in_flight >= 1 AND cgsms_in_flight <= 200)",
                "The calls in flight must be between 1 and 200.",
            ),
            (
                "rate_limit_positive",
                "CHECK(cgsms_rate_limit >= 0)",
                "The messages per second cannot be negative (0: no limit).",
            ),
        )
    )

    @api.constrains("provider", "sender")
    def _check_sender(self):
        for account in self:
            if not account.sender:
                continue
            error = get_provider_class(account.provider)(
                ProviderConfig(base_url="")
            ).validate_sender(account.sender)
            if error:
                raise ValidationError(
                    _(
                        "Invalid sender name %(sender)r: %(error)s",
                        sender=account.sender,
                        error=error,
                    )
                )

    @api.constrains("base_url")
    def _check_base_url(self):
        for account in self:
            if account.base_url and not _valid_base_url(account.base_url):
                raise ValidationError(account._base_url_error())

    @api.depends("provider", "company_id")
    def _compute_name(self):
        labels = dict(_provider_selection(self))
        for account in self:
            account.name = f"{labels.get(account.provider, '')} - {account.company_id.name or ''}"

    @api.depends("provider")
    def _compute_base_url(self):
        # A new provider brings its standard address, but never replaces an address the
        # user typed (a self-hosted gateway, the project's fake gateway).
        standard = set(DEFAULT_BASE_URLS.values())
        for account in self:
            if not account.base_url or account.base_url in standard:
                account.base_url = DEFAULT_BASE_URLS.get(account.provider, "")

    def _compute_callback_url(self):
        for account in self:
            account.callback_url = account._callback_url() if account.id else False

    def _compute_dlr_stats(self):
        stats = {
            stat.account_id.id: stat
            for stat in self.env["cgsms.delivery.stat"]
            .sudo()
            .search([("account_id", "in", self.ids)])
        }
        for account in self:
            stat = stats.get(account.id)
            account.dlr_last_date = stat.last_date if stat else False
            account.dlr_refused_count = stat.refused_count if stat else 0
            account.dlr_last_refused_date = stat.last_refused_date if stat else False
            account.dlr_last_refusal = stat.last_refusal if stat else False

    @api.depends("provider_balance", "provider_currency", "last_check_date")
    def _compute_provider_balance_display(self):
        for account in self:
            if not account.last_check_date and not account.provider_balance:
                account.provider_balance_display = False
                continue
            account.provider_balance_display = account._format_balance(
                account.provider_balance, account.provider_currency
            )

    @api.depends("provider")
    def _compute_cgsms_rate_limit(self):
        for account in self:
            account.cgsms_rate_limit = DEFAULT_RATES.get(account.provider, 10.0)

    @api.depends("credit_line_ids.amount")
    def _compute_credit_available(self):
        balances = self._credit_balances()
        for account in self:
            account.credit_available = balances.get(account.id, 0.0)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            # every account has a secret, so that its delivery reports can always be verified
            if not vals.get("webhook_secret"):
                vals["webhook_secret"] = secrets.token_hex(16)
            if "allowed_country_ids" not in vals:
                # A new account sends to its company's country until a manager adds others.
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                if company.sudo().country_id:
                    vals["allowed_country_ids"] = [
                        fields.Command.set(company.sudo().country_id.ids)
                    ]
        accounts = super().create(vals_list)
        self.env.registry.clear_cache()
        return accounts

    def write(self, vals):
        if "webhook_secret" in vals and not vals["webhook_secret"]:
            vals = dict(vals, webhook_secret=secrets.token_hex(16))
        if {"provider", "username", "password", "base_url"} & set(vals):
            vals.setdefault("state", "not_checked")
        res = super().write(vals)
        if {
            "active",
            "company_id",
            "allowed_country_ids",
            "price_ids",
            "cost_per_segment",
            "sequence",
            "route_prefixes",
        } & set(vals):
            self.env.registry.clear_cache()  # the routing table and the policy rules
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()
        return res

    @api.model
    def _get_active(self, company=None):
        """The active account of ``company`` (default: the current company), or an empty set."""
        company = company or self.env.company
        return self.sudo().search([("company_id", "=", company.id), ("active", "=", True)], limit=1)

    @api.model
    def _get_active_by_company(self, company_ids):
        """{company id: active account} for those of ``company_ids`` that have one. Cached:
        every SMS sent in Odoo asks, most of the time for companies without an account."""
        active = self._active_account_ids()
        accounts = self.sudo().browse([active[cid] for cid in company_ids if cid in active])
        return {account.company_id.id: account for account in accounts.exists() if account.active}

    @api.model
    @tools.ormcache()
    def _active_account_ids(self):
        """{company id: primary account id}: the active account of lowest sequence (a company
        may have several, see cgsms_account_routing.py)."""
        self.flush_model(["active", "company_id", "sequence"])
        self.env.cr.execute(
            "SELECT company_id, id FROM cgsms_account WHERE active "
            "ORDER BY company_id, sequence DESC, id DESC"
        )
        return dict(self.env.cr.fetchall())
