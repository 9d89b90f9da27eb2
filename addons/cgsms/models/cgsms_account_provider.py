"""The provider behind an account: its adapter and HTTP session, *Test connection*, and the
translated sentence for each provider error."""

import threading

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import formatLang

from ..providers import ProviderConfig, ProviderError, get_provider_class, make_session
from ..tools.transliterate import clean_formatting, to_gsm7
from .cgsms_account import DEFAULT_BASE_URLS, _provider_selection, _valid_base_url

# One HTTP session per account and process: keeps connections to the provider alive.
_SESSIONS = {}
_SESSIONS_LOCK = threading.Lock()


class CgsmsAccount(models.Model):
    _inherit = "cgsms.account"

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
