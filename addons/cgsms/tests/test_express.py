from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestExpressWizard(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pt = cls.env.ref("base.pt")
        cls.maria = cls.env["res.partner"].create(
            {"name": "Maria Costa", MOBILE: "912 345 678", "country_id": pt.id}
        )
        cls.joao = cls.env["res.partner"].create(
            {"name": "João Silva", MOBILE: "+351 931 234 567", "country_id": pt.id}
        )
        cls.no_mobile = cls.env["res.partner"].create(
            {"name": "Sem Telemóvel", "country_id": pt.id}
        )
        cls.user = new_test_user(
            cls.env, login="cgsms_express_user", groups="base.group_user,cgsms.group_cgsms_user"
        )
        cls.Wizard = cls.env["cgsms.express.wizard"].with_user(cls.user)

    def _balance(self):
        self.account.invalidate_recordset(["credit_available"])
        return self.account.credit_available

    def _sent_to(self):
        return sorted(message["to"] for message in self._gateway_messages())

    def test_typed_numbers_are_sent_at_once(self):
        summary = self.Wizard.express_send("912 345 678; 00351 931-234-567", [], "Hello")
        self.assertEqual(self._sent_to(), ["+351912345678", "+351931234567"])
        self.assertEqual(summary["sent"], 2)
        self.assertEqual(summary["message"], "SMS sent to 2 numbers.")
        self.assertEqual({r["status"] for r in summary["results"]}, {"sent"})

    def test_contact_receives_on_mobile_and_history_links_contact(self):
        summary = self.Wizard.express_send("", [self.maria.id], "Olá Maria")
        self.assertEqual(self._sent_to(), ["+351912345678"])
        self.assertEqual(summary["message"], "SMS sent to 1 number.")
        recipient = self.env["cgsms.recipient"].search([("partner_id", "=", self.maria.id)])
        self.assertEqual(recipient.state, "sent")
        self.assertEqual(recipient.body, "Ola Maria", "accented letters replaced")

    def test_sending_consumes_credits_per_segment_and_number(self):
        before = self._balance()
        summary = self.Wizard.express_send("912345678", [self.joao.id], "a" * 161)
        self.assertAlmostEqual(summary["cost"], 2 * 2 * 1.44, places=4)
        self.assertAlmostEqual(self._balance(), before - 2 * 2 * 1.44, places=4)

    def test_number_typed_and_contact_with_same_mobile_sent_once(self):
        summary = self.Wizard.express_send("+351912345678; 912 345 678", [self.maria.id], "Hi")
        self.assertEqual(self._sent_to(), ["+351912345678"])
        self.assertEqual(summary["sent"], 1)
        self.assertEqual(summary["duplicates"], 2)

    def test_invalid_number_reported_and_nothing_sent(self):
        before = self._balance()
        with self.assertRaisesRegex(UserError, r"12 is not a valid phone number"):
            self.Wizard.express_send("912345678; 12", [], "Hello")
        self.assertFalse(self._gateway_messages())
        self.assertAlmostEqual(self._balance(), before, places=4)

    def test_fixed_line_number_refused(self):
        with self.assertRaisesRegex(UserError, r"213 456 789 is not a mobile number"):
            self.Wizard.express_send("213 456 789", [], "Hello")
        self.assertFalse(self._gateway_messages())

    def test_contact_without_mobile_refused(self):
        with self.assertRaisesRegex(UserError, r"Sem Telemóvel has no mobile number"):
            self.Wizard.express_send("", [self.maria.id, self.no_mobile.id], "Hello")
        self.assertFalse(self._gateway_messages())

    def test_blacklisted_number_refused(self):
        self.env["phone.blacklist"].sudo().add("+351912345678")
        with self.assertRaisesRegex(UserError, r"blacklist"):
            self.Wizard.express_send("912345678", [], "Hello")
        self.assertFalse(self._gateway_messages())

    def test_refused_when_short_of_credits(self):
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -self._balance() + 2.0}
        )
        with self.assertRaisesRegex(UserError, r"Not enough SMS credits"):
            self.Wizard.express_send("912345678; 931234567", [], "Hello")
        self.assertFalse(self._gateway_messages())
        self.assertAlmostEqual(self._balance(), 2.0, places=4)

    def test_refused_without_active_account(self):
        self.account.active = False
        with self.assertRaisesRegex(UserError, r"No active SMS account"):
            self.Wizard.express_send("912345678", [], "Hello")
        self.assertFalse(self._gateway_messages())

    def test_empty_message_refused(self):
        with self.assertRaisesRegex(UserError, r"Write the message"):
            self.Wizard.express_send("912345678", [], "   ")

    def test_no_recipient_refused(self):
        with self.assertRaisesRegex(UserError, r"at least one mobile number"):
            self.Wizard.express_send(" ; ", [], "Hello")

    def test_provider_rejection_reported_per_number(self):
        self.gateway.fail_next("sandbox", "invalid_number", count=1)
        summary = self.Wizard.express_send("912345678", [], "Hello")
        self.assertEqual(summary["sent"], 0)
        self.assertEqual(summary["failed"], 1)
        self.assertEqual(summary["results"][0]["status"], "failed")
        self.assertIn("+351912345678", summary["message"])

    def test_user_without_sms_group_cannot_send(self):
        clerk = new_test_user(self.env, login="cgsms_no_sms", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.env["cgsms.express.wizard"].with_user(clerk).express_send("912345678", [], "Hi")
        self.assertFalse(self._gateway_messages())

    def test_form_sends_and_shows_cost(self):
        form = Form(self.Wizard)
        form.numbers = "912345678; 931234567"
        form.body = "Hello"
        self.assertEqual(form.recipient_count, 2)
        self.assertAlmostEqual(form.cost_per_segment, 1.44, places=4)
        wizard = form.save()
        action = wizard.action_send()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(len(self._gateway_messages()), 2)

    def test_express_info_shown_to_sms_user_with_account(self):
        info = self.Wizard.express_info()
        self.assertTrue(info["visible"])
        self.assertAlmostEqual(info["cost_per_segment"], 1.44, places=4)
        self.assertAlmostEqual(info["credit_available"], self._balance(), places=4)

    def test_express_info_hidden_without_account(self):
        self.account.active = False
        self.assertFalse(self.Wizard.express_info()["visible"])

    def test_express_info_hidden_for_user_without_sms_group(self):
        clerk = new_test_user(self.env, login="cgsms_no_sms_info", groups="base.group_user")
        info = self.env["cgsms.express.wizard"].with_user(clerk).express_info()
        self.assertFalse(info["visible"])
