from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.tests import tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestRouting(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Maria Costa",
                MOBILE: "912 345 678",
                "country_id": cls.env.ref("base.pt").id,
            }
        )

    def _balance(self):
        return self.account.credit_available

    def test_chatter_sms_goes_through_provider_and_is_charged(self):
        self.account.gsm7_safe = False  # the text leaves as typed, accents and all
        before = self._balance()
        self.partner._message_sms("Olá Maria, a sua encomenda chegou.")
        self.env["sms.sms"].sudo().search([("state", "=", "outgoing")]).send()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["to"], "+351912345678")
        self.assertEqual(sent[0]["body"], "Olá Maria, a sua encomenda chegou.")
        recipient = self.env["cgsms.recipient"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(recipient.state, "sent")
        self.assertEqual(recipient.segments, 1)
        self.assertEqual(recipient.encoding, "UCS-2")
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self._balance(), before - 1.44, places=4)
        notif = self.env["mail.notification"].search(
            [("res_partner_id", "=", self.partner.id), ("notification_type", "=", "sms")]
        )
        self.assertEqual(notif.notification_status, "pending")

    def test_company_without_account_keeps_odoo_path(self):
        self.account.active = False
        sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "x"})
        # Odoo's IAP path is blocked in tests: it must be reached (server error), not ours.
        sms._send()
        self.assertFalse(self._gateway_messages())
        self.assertFalse(self.env["cgsms.recipient"].search([("sms_uuid", "=", sms.uuid)]))

    def test_insufficient_credits_refused_before_sending(self):
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -self._balance() + 1.0}
        )
        sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "Hello"})
        sms._send(unlink_sent=False, unlink_failed=False)
        self.assertFalse(self._gateway_messages())
        self.assertEqual(sms.state, "error")
        self.assertEqual(sms.failure_type, "sms_credit")
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self._balance(), 1.0, places=4)

    def test_invalid_number_fails_with_reason_and_costs_nothing(self):
        before = self._balance()
        sms = self.env["sms.sms"].sudo().create({"number": "12", "body": "Hello"})
        sms._send(unlink_failed=False)
        self.assertEqual(sms.state, "error")
        self.assertEqual(sms.failure_type, "sms_number_format")
        self.assertFalse(self._gateway_messages())
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self._balance(), before, places=4)

    def test_provider_down_keeps_sms_queued_and_refunds(self):
        before = self._balance()
        # Connection refused: the provider certainly did not take the SMS.
        self.account.base_url = "http://127.0.0.1:9"
        sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "Hello"})
        sms._send(unlink_sent=False)
        self.assertEqual(sms.state, "outgoing", "a provider outage must not lose the SMS")
        self.assertEqual(sms.cgsms_recipient_id.state, "queued")
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self._balance(), before, places=4)

    def test_provider_auth_error_marks_sms_failed(self):
        self.gateway.fail_next("sandbox", "auth", count=1)
        sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "Hello"})
        sms._send(unlink_failed=False)
        self.assertEqual(sms.state, "error")
        self.assertEqual(sms.failure_type, "sms_acc")
        self.assertIn("credentials", sms.cgsms_recipient_id.failure_reason)

    def test_sms_already_handed_to_provider_is_not_sent_again(self):
        sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "Hello"})
        sms._send(unlink_sent=False)
        self.assertEqual(len(self._gateway_messages()), 1)
        sms.state = "outgoing"  # e.g. a second worker picking a stale copy of the queue
        sms._send(unlink_sent=False)
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_gsm7_long_message_charged_per_segment(self):
        sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "a" * 161})
        sms._send(unlink_sent=False)
        self.assertEqual(sms.cgsms_recipient_id.segments, 2)
        self.assertAlmostEqual(sms.cgsms_recipient_id.cost, 2.88, places=4)
