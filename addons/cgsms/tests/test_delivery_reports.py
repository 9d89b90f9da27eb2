import hashlib
import hmac
import json

from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import CgsmsGatewayMixin


@tagged("post_install", "-at_install")
class TestDeliveryReports(CgsmsGatewayMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())
        cls.partner = cls.env["res.partner"].create(
            {"name": "Rui Almeida", MOBILE: "+351 912 000 111"}
        )

    def _send_chatter_sms(self):
        self.partner._message_sms("A sua reparação está pronta.")
        recipient = self.env["cgsms.recipient"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(recipient.state, "sent")
        # the webhook is served by another thread: it must see what this test wrote
        self.env.flush_all()
        return recipient

    def _notification(self):
        return self.env["mail.notification"].search(
            [("res_partner_id", "=", self.partner.id), ("notification_type", "=", "sms")]
        )

    def _post_sandbox_report(self, payload, secret):
        body = json.dumps(payload).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.url_open(
            self.account._callback_url().replace(self.base_url(), ""),
            data=body,
            headers={"Content-Type": "application/json", "X-Sandbox-Signature": signature},
        )

    def test_delivery_report_turns_chatter_icon_delivered(self):
        recipient = self._send_chatter_sms()
        self.assertEqual(self._notification().notification_status, "pending")
        codes = self._deliver(recipient.provider_message_id, "delivered")
        self.assertEqual(codes, [200])
        recipient.invalidate_recordset()
        self.assertEqual(recipient.state, "delivered")
        self.assertTrue(recipient.date_done)
        self._notification().invalidate_recordset()
        self.assertEqual(self._notification().notification_status, "sent")

    def test_undelivered_report_marks_failure_in_chatter(self):
        recipient = self._send_chatter_sms()
        self._deliver(recipient.provider_message_id, "failed", error_code="30003")
        recipient.invalidate_recordset()
        self.assertEqual(recipient.state, "failed")
        self.assertEqual(recipient.error_class, "undelivered")
        self._notification().invalidate_recordset()
        self.assertEqual(self._notification().notification_status, "exception")
        self.assertEqual(self._notification().failure_type, "sms_not_delivered")

    def test_replayed_report_is_harmless(self):
        recipient = self._send_chatter_sms()
        self._deliver(recipient.provider_message_id, "delivered")
        recipient.invalidate_recordset()
        delivered_at = recipient.date_done
        response = self._post_sandbox_report(
            {"id": recipient.provider_message_id, "status": "failed"},
            self.account.webhook_secret,
        )
        self.assertEqual(response.status_code, 200)
        recipient.invalidate_recordset()
        self.assertEqual(recipient.state, "delivered")
        self.assertEqual(recipient.date_done, delivered_at)

    @mute_logger("odoo.addons.cgsms.controllers.main", "odoo.http")
    def test_forged_signature_refused(self):
        recipient = self._send_chatter_sms()
        response = self._post_sandbox_report(
            {"id": recipient.provider_message_id, "status": "delivered"}, "not-the-secret"
        )
        self.assertEqual(response.status_code, 403)
        recipient.invalidate_recordset()
        self.assertEqual(recipient.state, "sent")

    def test_unknown_message_id_ignored(self):
        recipient = self._send_chatter_sms()
        response = self._post_sandbox_report(
            {"id": "sbx_unknown", "status": "delivered"}, self.account.webhook_secret
        )
        self.assertEqual(response.status_code, 200)
        recipient.invalidate_recordset()
        self.assertEqual(recipient.state, "sent")

    @mute_logger("odoo.addons.cgsms.controllers.main", "odoo.http")
    def test_malformed_report_refused(self):
        body = b"{not json"
        signature = hmac.new(self.account.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        response = self.url_open(
            self.account._callback_url().replace(self.base_url(), ""),
            data=body,
            headers={"Content-Type": "application/json", "X-Sandbox-Signature": signature},
        )
        self.assertEqual(response.status_code, 400)

    def test_report_for_another_provider_route_not_found(self):
        response = self.url_open(f"/cgsms/dlr/twilio/{self.account.id}", data=b"MessageSid=x")
        self.assertEqual(response.status_code, 404)

    def test_each_provider_delivery_report_reaches_odoo_signed(self):
        for provider in ("twilio", "vonage", "lusosms"):
            with self.subTest(provider=provider):
                company = self.env["res.company"].create(
                    {"name": f"Loja {provider}", "country_id": self.env.ref("base.pt").id}
                )
                account = self._cgsms_make_account(
                    company,
                    provider=provider,
                    sender="+15005550006" if provider == "twilio" else "CgSMS",
                )
                self.env["cgsms.credit.line"].create(
                    {"account_id": account.id, "kind": "topup", "amount": 100}
                )
                sms = (
                    self.env["sms.sms"]
                    .sudo()
                    .create(
                        {"number": "+351912000222", "body": "Olá", "cgsms_company_id": company.id}
                    )
                )
                sms._send(unlink_sent=False)
                recipient = sms.cgsms_recipient_id
                self.assertEqual(recipient.state, "sent", recipient.failure_reason)
                self.env.flush_all()
                codes = self._deliver(recipient.provider_message_id, "delivered")
                self.assertTrue(codes and all(code == 200 for code in codes), codes)
                recipient.invalidate_recordset()
                self.assertEqual(recipient.state, "delivered")
