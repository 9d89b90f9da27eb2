import logging
import secrets
import threading
from urllib.parse import urlsplit

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import formatLang

from .. import compat
from ..providers import (
    PROVIDERS,
    ProviderConfig,
    ProviderError,
    get_provider_class,
    make_session,
)
from ..tools.transliterate import clean_formatting, to_gsm7
from .cgsms_delivery_stat import REFUSALS

_logger = logging.getLogger(__name__)

# One HTTP session per account and process: keeps connections to the provider alive.
_SESSIONS = {}
_SESSIONS_LOCK = threading.Lock()

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

    # ------------------------------------------------------------------ actions

    def action_test_connection(self):
        self.ensure_one()
        # Before anything is read as superuser (that would fill the cache and let the plain
        # reads below skip the rules): only who may change this account tests it.
        self.check_access("write")
        if not _valid_base_url(self._provider_config().base_url):
            message = self._base_url_error()
            self.sudo().write(
                {
                    "state": "error",
                    "last_check_date": fields.Datetime.now(),
                    "last_check_message": message,
                }
            )
            return self._notify(_("Connection failed"), message, "danger")
        try:
            balance = self._provider().check_credentials()
        except ProviderError as exc:
            message = self._error_message(exc)
            self.sudo().write(
                {
                    "state": "error",
                    "last_check_date": fields.Datetime.now(),
                    "last_check_message": message,
                }
            )
            return self._notify(_("Connection failed"), message, "danger")
        vals = {
            "state": "ok",
            "last_check_date": fields.Datetime.now(),
            # the status says "Connected", in the reader's language
            "last_check_message": False,
        }
        if balance is not None:
            vals.update(provider_balance=balance.amount, provider_currency=balance.currency)
            # Both figures side by side: the provider's own count and our ledger differ
            # unless every pack bought there is recorded here.
            message = _(
                "Connected to %(provider)s. Balance at the provider: %(balance)s. Available "
                "credits here (the packs recorded in SMS > Credits minus what was sent): "
                "%(credits)s.",
                provider=dict(_provider_selection(self))[self.provider],
                balance=self._format_balance(balance.amount, balance.currency),
                credits=self.env["cgsms.credit.line"]._format_credits(self.credit_available),
            )
        else:
            message = _("Connected to %(provider)s.", provider=self.provider)
        self.sudo().write(vals)
        return self._notify(_("Connection successful"), message, "success")

    def action_add_credits(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Add credits"),
            "res_model": "cgsms.credit.line",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id, "default_kind": "topup"},
        }

    def action_view_credit_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cgsms.cgsms_credit_line_action")
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        return action

    # ------------------------------------------------------------------ helpers

    def _cgsms_allowed_country_codes(self):
        """ISO codes of the countries the account sends to (empty: no restriction, for an
        account of a company without a country that nobody restricted)."""
        return self._cgsms_policy_rules(self.id)[0]

    def _cgsms_price_for(self, e164, country_code):
        """Credits per segment for ``e164``: the longest matching prefix, else the country's
        price, else the account's."""
        _countries, prefixes, by_country, default = self._cgsms_policy_rules(self.id)
        for prefix, price in prefixes:  # longest first
            if e164.startswith(prefix):
                return price
        return by_country.get(country_code, default)

    @api.model
    @tools.ormcache("account_id")
    def _cgsms_policy_rules(self, account_id):
        """(allowed country codes, ((prefix, price) longest first), {country code: price},
        the account's price): read once per process and change, not once per number."""
        account = self.sudo().browse(account_id)
        prices = account.price_ids
        prefixes = sorted(
            ((p.prefix, p.cost_per_segment) for p in prices if p.prefix),
            key=lambda item: -len(item[0]),
        )
        by_country = {p.country_id.code: p.cost_per_segment for p in prices if p.country_id}
        codes = frozenset(account.allowed_country_ids.mapped("code"))
        return codes, tuple(prefixes), by_country, account.cost_per_segment

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

    def _callback_url(self):
        self.ensure_one()
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return f"{base.rstrip('/')}/cgsms/dlr/{self.provider}/{self.id}"

    def _provider_config(self):
        self.ensure_one()
        account = self.sudo()
        return ProviderConfig(
            base_url=account.base_url or DEFAULT_BASE_URLS.get(account.provider, ""),
            username=account.username or "",
            password=account.password or "",
            sender=account.sender or "",
            callback_url=account._callback_url(),
            webhook_secret=account.webhook_secret or "",
        )

    def _cgsms_prepare_body(self, body):
        """The text as it leaves through this account (what is counted, charged and sent)."""
        self.ensure_one()
        body = body or ""
        return to_gsm7(body) if self.gsm7_safe else body

    def _cgsms_prepare_rendered(self, body):
        """A text rendered from a template (amounts, dates) as it leaves: the no-break spaces,
        quotes and dashes of Odoo's formatting made plain whatever the setting, then the
        account's own preparation. ``self`` may be empty (no active account)."""
        body = clean_formatting(body)
        return self._cgsms_prepare_body(body) if self else body

    def _provider(self):
        self.ensure_one()
        # One connection kept alive per call in flight.
        size = max(1, self.sudo().cgsms_in_flight or 1)
        key = (self.env.cr.dbname, self.id, size)
        with _SESSIONS_LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                session = _SESSIONS[key] = make_session(size)
        return get_provider_class(self.provider)(self._provider_config(), session=session)

    def _cgsms_send_provider(self):
        """The adapter for the delivery engine: no retry inside a call, the engine requeues
        what certainly did not leave and paces it with the account's shared rate."""
        provider = self._provider()
        provider.config.retries = 0
        return provider

    def init(self):
        # The token bucket of each account's messages per second: when its next SMS may leave
        # (Unix time), shared by every worker and server. A row of its own, not a column of
        # the account: it is updated for every chunk sent, and on the account's row those
        # updates would wait for the credit reservations (which lock that row) and make
        # concurrent reservations fail. Unlogged: after a crash it starts again from "now".
        self.env.cr.execute(
            """
            CREATE UNLOGGED TABLE IF NOT EXISTS cgsms_rate_bucket (
                account_id integer PRIMARY KEY
                    REFERENCES cgsms_account (id) ON DELETE CASCADE,
                next_slot double precision NOT NULL DEFAULT 0
            )
            """
        )

    def _credit_balances(self):
        if not self.ids:
            return {}
        self.env["cgsms.credit.line"].flush_model(["account_id", "amount"])
        # The folded balance plus the ledger changes not folded yet (see cgsms.credit.line).
        self.env.cr.execute(
            """
            SELECT account_id, SUM(amount) FROM (
                SELECT account_id, amount FROM cgsms_credit_balance WHERE account_id IN %s
                UNION ALL
                SELECT account_id, amount FROM cgsms_credit_delta WHERE account_id IN %s
            ) moves
            GROUP BY account_id
            """,
            [tuple(self.ids), tuple(self.ids)],
        )
        return {account_id: float(amount) for account_id, amount in self.env.cr.fetchall()}

    def _credit_fold(self):
        """Fold the committed ledger changes of these accounts into their balance row. Only in
        a READ COMMITTED transaction (a claim of the delivery engine): there a delta folded
        meanwhile by another worker is skipped, not a serialization failure. Those not
        committed yet stay deltas until the next fold."""
        for account_id in self.ids:
            self.env.cr.execute(
                """
                WITH folded AS (
                    DELETE FROM cgsms_credit_delta WHERE account_id = %(id)s RETURNING amount
                )
                INSERT INTO cgsms_credit_balance AS b (account_id, amount)
                SELECT %(id)s, COALESCE(SUM(amount), 0) FROM folded
                ON CONFLICT (account_id) DO UPDATE SET amount = b.amount + EXCLUDED.amount
                """,
                {"id": account_id},
            )

    def _lock(self):
        """Serialise credit reservations of concurrent sends on this account.

        Odoo runs transactions in REPEATABLE READ: a plain row lock would let a second send,
        whose snapshot predates the first one's commit, read a stale balance and overdraw. By
        *updating* the row, the second send waits for the first and then fails with a
        serialization error (Odoo retries the request or the cron job), reading the new
        balance on its next try. The balance can therefore never go below zero."""
        self.env.cr.execute(
            "UPDATE cgsms_account SET credit_sequence = COALESCE(credit_sequence, 0) + 1 "
            "WHERE id IN %s",
            [tuple(self.ids)],
        )
        self.invalidate_recordset(["credit_sequence"])

    def _check_low_balance(self):
        for account in self.sudo():
            available = account._credit_balances().get(account.id, 0.0)
            if available < account.low_balance_threshold and not account.low_balance_notified:
                account.low_balance_notified = True
                managers = account._low_balance_recipients()
                for user in managers:
                    account.activity_schedule(
                        "cgsms.mail_activity_type_low_balance",
                        user_id=user.id,
                        summary=_("SMS credits running low"),
                        note=_(
                            "Only %(available)s SMS credits left for %(company)s. Buy a pack "
                            "to keep sending.",
                            available=round(available, 2),
                            company=account.company_id.name,
                        ),
                    )
            elif available >= account.low_balance_threshold and account.low_balance_notified:
                account.low_balance_notified = False

    def _base_url_error(self):
        return self.env._(
            "The API URL %(url)s is not a valid web address. Write it as "
            "https://host/path (or http://host:port for a self-hosted gateway), or empty it "
            "to use the provider's.",
            url=self.sudo().base_url or "",
        )

    def _format_balance(self, amount, currency):
        """A provider balance in the reader's language: "100,00 créditos", "12.50 EUR"."""
        currency = currency or ""
        # the sandbox and LusoSMS-style APIs count in credits; others give a currency code
        unit = _("credits") if currency.lower() == "credits" else currency
        return f"{formatLang(self.env, amount or 0.0, digits=2)} {unit}".strip()

    def _low_balance_recipients(self):
        """The people told about a low balance: active internal SMS managers of the account's
        company, never OdooBot or the superuser, each of them once."""
        self.ensure_one()
        return (
            self.env.ref("cgsms.group_cgsms_manager")[compat.GROUP_USERS_FIELD]
            .filtered(
                lambda u: (
                    u.active
                    and not u.share
                    and not u._is_superuser()
                    and self.company_id in u.company_ids
                )
            )
            .sorted("id")
        )

    def _error_message(self, exc):
        """A translated sentence for a provider error: what happened and what to do."""
        messages = {
            "auth": _(
                "The provider refused the credentials. Check the username and password "
                "(or token) in the SMS settings."
            ),
            "insufficient_credit": _(
                "Your account at the provider has no credit left. Top it up at the provider."
            ),
            "invalid_number": _("The provider considers the number invalid."),
            "rate_limited": _("The provider is limiting the sending rate. Try again in a minute."),
            "temporary": _(
                "The provider could not be reached or had a temporary failure. Try again later."
            ),
            "rejected": _("The provider rejected the message."),
            "unknown": _("The provider returned an unexpected answer."),
        }
        text = messages.get(exc.error_class, messages["unknown"])
        if exc.provider_code == "not_attempted":
            # left in the queue after an earlier SMS of the batch failed: the provider's own
            # words belong to that SMS, not to this one
            return text
        # Our own HTTP layer reports "connection" / "timeout" (the provider said nothing):
        # say where we tried to connect instead of repeating its code word.
        address = self.sudo().base_url or DEFAULT_BASE_URLS.get(self.provider, "")
        transport = {
            "connection": _("no connection to %(address)s: check the API URL", address=address),
            "timeout": _("no answer in time from %(address)s", address=address),
        }
        if exc.provider_code in transport:
            return f"{text} ({transport[exc.provider_code]})"
        detail = " ".join(p for p in (exc.provider_code, exc.provider_text) if p)
        return f"{text} ({detail})" if detail else text

    def _notify(self, title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind == "danger",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _ensure_usable(self):
        """Raise a clear error when this account cannot send."""
        if not self:
            raise UserError(
                _(
                    "No active SMS account for this company. Configure one in Settings > SMS "
                    "(provider, sender name, username and password)."
                )
            )
