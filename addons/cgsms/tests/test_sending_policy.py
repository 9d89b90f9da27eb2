from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .. import compat
from .common import CgsmsCase

# Example numbers of each kind (phonenumbers' own examples).
PT_MOBILE = "+351912345678"
UK_MOBILE = "+447400123456"
CUBA_MOBILE = "+5351234567"
THURAYA = "+8821612345678"
UK_PERSONAL = "+447012345678"
UK_PREMIUM = "+449012345678"
PT_FIXED = "+351212345678"


@tagged("post_install", "-at_install")
class TestSendingPolicy(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.employee = new_test_user(
            cls.env,
            login="policy_employee",
            groups="base.group_user,base.group_partner_manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.sms_user = new_test_user(
            cls.env,
            login="policy_sms_user",
            groups="base.group_user,base.group_partner_manager,cgsms.group_cgsms_user",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Rita Sousa",
                compat.PARTNER_MOBILE_FIELD: "912 000 111",
                "country_id": cls.env.ref("base.pt").id,
            }
        )

    def _composer_send(self, user, numbers):
        composer = (
            self.env["sms.composer"]
            .with_user(user)
            .create({"composition_mode": "numbers", "numbers": numbers, "body": "Olá"})
        )
        composer.action_send_sms()

    def _chatter_send(self, user):
        composer = (
            self.env["sms.composer"]
            .with_user(user)
            .with_context(default_res_model="res.partner", default_res_id=self.customer.id)
            .create({"composition_mode": "comment", "body": "Olá"})
        )
        composer.action_send_sms()

    # ------------------------------------------------------------------ who may send

    def test_user_without_sms_group_refused_on_odoo_composer(self):
        with self.assertRaisesRegex(AccessError, "only SMS users may"):
            self._composer_send(self.employee, PT_MOBILE)
        self.assertFalse(self.gateway.messages)

    def test_user_without_sms_group_refused_in_the_chatter(self):
        with self.assertRaisesRegex(AccessError, "only SMS users may"):
            self._chatter_send(self.employee)
        self.assertFalse(self.gateway.messages)

    def test_every_internal_user_may_send_when_the_company_says_so(self):
        self.company.cgsms_who_may_send = "internal"
        self._composer_send(self.employee, PT_MOBILE)
        self._chatter_send(self.employee)
        self.assertEqual(
            sorted(m["to"] for m in self.gateway.messages), sorted([PT_MOBILE, "+351912000111"])
        )

    def test_portal_user_never_sends_even_when_internal_users_may(self):
        self.company.cgsms_who_may_send = "internal"
        portal = new_test_user(self.env, login="policy_portal", groups="base.group_portal")
        with self.assertRaises(AccessError):
            self.env["sms.sms"].with_user(portal).sudo().create(
                {"number": PT_MOBILE, "body": "x", "cgsms_company_id": self.company.id}
            )

    def test_sms_user_sends_from_odoo_composer(self):
        self._composer_send(self.sms_user, PT_MOBILE)
        self.assertEqual([m["to"] for m in self.gateway.messages], [PT_MOBILE])

    def test_setting_is_in_the_settings_form(self):
        with Form(self.env["res.config.settings"]) as form:
            self.assertEqual(form.cgsms_who_may_send, "sms_users")
            form.cgsms_who_may_send = "internal"
        self.assertEqual(self.company.cgsms_who_may_send, "internal")

    # ------------------------------------------------------------------ destinations

    def _refusal(self, number):
        """The history line of an SMS to ``number`` queued through Odoo's composer."""
        self._composer_send(self.sms_user, number)
        line = self.env["cgsms.recipient"].search([("number", "=", number)], limit=1)
        if not line:  # refused before the number was normalised to E.164
            line = self.env["cgsms.recipient"].search([], order="id desc", limit=1)
        return line

    def test_new_account_sends_to_its_company_country(self):
        self.assertEqual(self.account.allowed_country_ids, self.env.ref("base.pt"))

    def test_number_of_a_country_not_allowed_is_refused_with_its_reason(self):
        line = self._refusal(CUBA_MOBILE)
        self.assertEqual(line.state, "failed")
        self.assertIn("Cuba", line.failure_reason)
        self.assertIn("does not send", line.failure_reason)
        self.assertEqual(line.cost, 0.0)
        self.assertFalse(self.gateway.messages)

    def test_country_added_by_a_manager_is_allowed(self):
        self.account.allowed_country_ids |= self.env.ref("base.uk")
        self._composer_send(self.sms_user, UK_MOBILE)
        self.assertEqual([m["to"] for m in self.gateway.messages], [UK_MOBILE])

    def test_satellite_number_is_refused(self):
        line = self._refusal(THURAYA)
        self.assertEqual(line.state, "failed")
        self.assertIn("satellite", line.failure_reason)
        self.assertFalse(self.gateway.messages)

    def test_personal_number_is_refused_even_in_an_allowed_country(self):
        self.account.allowed_country_ids |= self.env.ref("base.uk")
        line = self._refusal(UK_PERSONAL)
        self.assertIn("personal", line.failure_reason)
        self.assertFalse(self.gateway.messages)

    def test_premium_rate_number_is_refused(self):
        self.account.allowed_country_ids |= self.env.ref("base.uk")
        line = self._refusal(UK_PREMIUM)
        self.assertIn("premium-rate", line.failure_reason)
        self.assertFalse(self.gateway.messages)

    def test_fixed_line_is_refused(self):
        line = self._refusal(PT_FIXED)
        self.assertIn("not a mobile number", line.failure_reason)
        self.assertFalse(self.gateway.messages)

    def test_send_form_lists_each_refused_number_before_sending(self):
        message = self.env["cgsms.message"].create(
            {"body": "Olá", "free_numbers": f"{PT_MOBILE}; {CUBA_MOBILE}; {THURAYA}"}
        )
        self.assertEqual(message.recipient_count, 1)
        self.assertEqual(message.dropped_count, 2)
        self.assertIn("satellite", message.preview_html)
        self.assertIn("Cuba", message.preview_html)
        message.action_send()
        self.assertEqual([m["to"] for m in self.gateway.messages], [PT_MOBILE])
        cancelled = message.recipient_ids.filtered(lambda r: r.state == "cancelled")
        self.assertEqual(len(cancelled), 2)

    def test_express_refuses_a_satellite_number_with_its_reason(self):
        with self.assertRaisesRegex(UserError, "satellite"):
            self.env["cgsms.express.wizard"].with_user(self.sms_user).express_send(
                numbers=THURAYA, body="Olá"
            )

    # ------------------------------------------------------------------ prices

    def test_price_per_prefix_is_charged_and_shown(self):
        self.account.allowed_country_ids |= self.env.ref("base.uk")
        self.env["cgsms.price"].create(
            [
                {
                    "account_id": self.account.id,
                    "country_id": self.env.ref("base.uk").id,
                    "cost_per_segment": 5.0,
                },
                {"account_id": self.account.id, "prefix": "+4474", "cost_per_segment": 7.5},
            ]
        )
        message = self.env["cgsms.message"].create(
            {"body": "Hello", "free_numbers": f"{PT_MOBILE}; {UK_MOBILE}"}
        )
        # PT at the account's 1.44, +4474... at the longest prefix's 7.5 (not the UK's 5).
        self.assertAlmostEqual(message.estimated_cost, 1.44 + 7.5)
        balance = self.account.credit_available
        message.action_send()
        costs = {line.number: line.cost for line in message.recipient_ids}
        self.assertEqual(costs, {PT_MOBILE: 1.44, UK_MOBILE: 7.5})
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self.account.credit_available, balance - 8.94)

    def test_price_per_country(self):
        self.env["cgsms.price"].create(
            {
                "account_id": self.account.id,
                "country_id": self.env.ref("base.pt").id,
                "cost_per_segment": 0.9,
            }
        )
        self._composer_send(self.sms_user, PT_MOBILE)
        line = self.env["cgsms.recipient"].search([("number", "=", PT_MOBILE)])
        self.assertEqual(line.cost, 0.9)

    def test_a_price_is_for_a_country_or_a_prefix(self):
        with self.assertRaisesRegex(Exception, "exactly one"):
            self.env["cgsms.price"].create({"account_id": self.account.id, "cost_per_segment": 1})
        with self.assertRaisesRegex(Exception, "international prefix"):
            self.env["cgsms.price"].create(
                {"account_id": self.account.id, "prefix": "0044", "cost_per_segment": 1}
            )

    # ------------------------------------------------------------------ credits, opt-out

    def test_credits_sentence_is_the_same_on_every_door_with_2_decimals(self):
        self.env["cgsms.credit.line"].create(
            {
                "account_id": self.account.id,
                "kind": "adjustment",
                "amount": 1.0 - self.account.credit_available,
            }
        )
        message = self.env["cgsms.message"].create({"body": "Olá", "free_numbers": PT_MOBILE})
        expected = "Not enough SMS credits: this send needs 1.44 credits, only 1.00 are available"
        with self.assertRaisesRegex(UserError, expected):
            message.action_send()
        with self.assertRaisesRegex(UserError, expected):
            self.env["cgsms.express.wizard"].express_send(numbers=PT_MOBILE, body="Olá")

    def test_opted_out_number_is_refused_by_the_engine_whatever_the_door(self):
        self.env["phone.blacklist"].sudo().add(PT_MOBILE)
        self._composer_send(self.sms_user, PT_MOBILE)
        line = self.env["cgsms.recipient"].search([("number", "=", PT_MOBILE)])
        self.assertEqual(line.error_class, "blacklisted")
        self.assertIn("asked not to receive SMS", line.failure_reason)
        self.assertFalse(self.gateway.messages)
