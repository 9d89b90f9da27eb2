"""Shared set-up of the replies tests: an SMS sent to a customer, who answers through the
fake gateway (which posts the reply to Odoo's replies URL, signed like the provider)."""

import contextlib

from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE

from .common import CgsmsGatewayMixin

CUSTOMER = "+351912000111"
SENDERS = {"twilio": "+15005550006"}


class CgsmsRepliesMixin(CgsmsGatewayMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())
        cls.partner = cls.env["res.partner"].create({"name": "Rui Almeida", MOBILE: CUSTOMER})
        cls.accounts = {"sandbox": cls.account}

    @classmethod
    def _cgsms_provider_account(cls, provider):
        """An account of ``provider`` in a company of its own, with credits."""
        company = cls.env["res.company"].create(
            {"name": f"Loja {provider}", "country_id": cls.env.ref("base.pt").id}
        )
        account = cls._cgsms_make_account(
            company, provider=provider, sender=SENDERS.get(provider, "CgSMS")
        )
        cls.env["cgsms.credit.line"].create(
            {"account_id": account.id, "kind": "topup", "amount": 100, "reference": "Pack"}
        )
        cls.accounts[provider] = account
        return account

    def _send_sms(self, account, number=CUSTOMER, partner=None):
        """An SMS sent to ``number`` through ``account`` (not tied to a document)."""
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                {
                    "number": number,
                    "body": "A sua reparação está pronta.",
                    "partner_id": partner.id if partner else False,
                    "cgsms_company_id": account.company_id.id,
                }
            )
        )
        sms._send(unlink_sent=False)
        recipient = sms.cgsms_recipient_id
        self.assertEqual(recipient.state, "sent", recipient.failure_reason)
        self.assertEqual(recipient.account_id, account)
        self.env.flush_all()
        return recipient

    def _customer_reply(self, account, text, number=CUSTOMER, expected=200, **options):
        """The customer at ``number`` answers ``text``; returns the new replies. The gateway
        posts from its own thread, without the test's cookie, which 19.0's HttpCase refuses
        unless every request is allowed meanwhile."""
        self.env.flush_all()
        before = self._replies(account)
        allow = getattr(self, "allow_requests", None)
        with allow(all_requests=True) if allow else contextlib.nullcontext():
            answer = self.gateway.reply(
                account.provider, number, text, url=account._inbound_url(), **options
            )
        self.assertTrue(answer["codes"])
        self.assertEqual(set(answer["codes"]), {expected}, answer)
        self.env.invalidate_all()
        return self._replies(account) - before

    def _replies(self, account):
        return self.env["cgsms.reply"].search([("account_id", "=", account.id)])

    def _blacklisted(self, number):
        return bool(self.env["phone.blacklist"].search([("number", "=", number)]))
