"""What an upgrade does to the accounts of an earlier release (called by migrations/)."""

import logging

import phonenumbers

from odoo import Command, api, models

_logger = logging.getLogger(__name__)

# History lines whose SMS really left through the account.
SENT_STATES = ("sent", "delivered")


class CgsmsAccount(models.Model):
    _inherit = "cgsms.account"

    @api.model
    def _cgsms_upgrade_destinations(self):
        """Accounts without destinations send to any country at their flat price (releases
        before the sending policy had none). Each gets its company's country plus the
        countries it really sent to, from its history; the SMS managers are told on the
        account. Accounts that have destinations are left as they are, so running it again
        changes nothing."""
        accounts = self.sudo().with_context(active_test=False).search([])
        for account in accounts.filtered(lambda a: not a.allowed_country_ids):
            codes = account._cgsms_countries_sent_to()
            country = account.company_id.country_id
            if country:
                codes.add(country.code)
            countries = self.env["res.country"].search([("code", "in", sorted(codes))])
            if not countries:
                continue  # a company without a country that never sent: nothing to go on
            account.allowed_country_ids = [Command.set(countries.ids)]
            account._cgsms_post_upgraded_destinations(countries)
            _logger.info(
                "SMS account %s: destinations set on upgrade to %s",
                account.id,
                ", ".join(countries.mapped("code")),
            )

    def _cgsms_countries_sent_to(self):
        """ISO codes of the countries this account's SMS really went to."""
        self.ensure_one()
        self.env["cgsms.recipient"].flush_model(["account_id", "number", "state"])
        self.env.cr.execute(
            "SELECT DISTINCT number FROM cgsms_recipient "
            "WHERE account_id = %s AND state IN %s AND number LIKE '+%%'",
            [self.id, SENT_STATES],
        )
        codes = set()
        for (number,) in self.env.cr.fetchall():
            try:
                region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
            except phonenumbers.NumberParseException:
                continue
            if region and region != "ZZ":
                codes.add(region)
        return codes

    def _cgsms_post_upgraded_destinations(self, countries):
        managers = self._low_balance_recipients()
        lang = managers[:1].lang or self.company_id.partner_id.lang or "en_US"
        account = self.with_context(lang=lang)
        names = ", ".join(countries.with_context(lang=lang).mapped("name"))
        account.message_post(
            body=account.env._(
                "Upgrade: this account had no destinations and could send to any country. It "
                "now sends to %(countries)s (its company's country and the countries it sent "
                "to). Add other countries under Destinations and prices if it must reach them.",
                countries=names,
            ),
            partner_ids=managers.partner_id.ids,
            subtype_xmlid="mail.mt_note",
        )
