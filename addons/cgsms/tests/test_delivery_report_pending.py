"""Delivery reports that come before their SMS is saved are kept and applied later; the
account shows managers where reports go, with which secret, and what became of them."""

import hashlib
import hmac
from urllib.parse import urlencode

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import CgsmsGatewayMixin


@tagged("post_install", "-at_install")
class TestDeliveryReportPending(CgsmsGatewayMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())
        cls.account.refund_undelivered = True
        company = cls.env["res.company"].create(
            {"name": "Loja Luso", "country_id": cls.env.ref("base.pt").id}
        )
        cls.luso = cls._cgsms_make_account(company, provider="lusosms", refund_undelivered=True)
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.luso.id, "kind": "topup", "amount": 10, "reference": "Pack"}
        )

    def _post_lusosms(self, message_id, status="DELIVERED", secret=None, code="000"):
        body = urlencode({"id": message_id, "status": status, "code": code}).encode()
        secret = secret or self.luso.webhook_secret
        return self.url_open(
            self.luso._callback_url().replace(self.base_url(), ""),
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-LusoSMS-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            },
        )

    def _next_lusosms_id(self):
        # the gateway numbers LusoSMS messages 100001, 100002...: the report can be posted
        # for the next one before the SMS is even sent
        return str(100000 + self.gateway._counter + 1)

    def _send_lusosms(self, number="+351912000401"):
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create({"number": number, "body": "Olá", "cgsms_company_id": self.luso.company_id.id})
        )
        sms._send(unlink_sent=False)
        return sms.cgsms_recipient_id

    def _kept(self, message_id):
        return self.env["cgsms.delivery.report"].search(
            [("account_id", "=", self.luso.id), ("provider_message_id", "=", message_id)]
        )

    def test_report_before_the_sms_is_saved_ends_delivered_once_its_id_is_saved(self):
        message_id = self._next_lusosms_id()
        self.assertEqual(self._post_lusosms(message_id).status_code, 200)
        kept = self._kept(message_id)
        self.assertEqual((len(kept), kept.state, kept.status), (1, "pending", "delivered"))

        recipient = self._send_lusosms()  # saves the provider id, then applies what was kept

        self.assertEqual(recipient.provider_message_id, message_id)
        self.assertEqual(recipient.state, "delivered")
        self.assertTrue(recipient.date_done)
        self.assertEqual((kept.state, kept.recipient_id), ("applied", recipient))

    def test_kept_report_applied_by_the_cron_when_the_sending_code_did_not(self):
        message_id = "100999"
        self.assertEqual(self._post_lusosms(message_id, "UNDELIVERED", code="003").status_code, 200)
        kept = self._kept(message_id)
        # saved by code that does not apply kept reports itself
        recipient = self.env["cgsms.recipient"].create(
            {
                "company_id": self.luso.company_id.id,
                "account_id": self.luso.id,
                "number": "+351912000403",
                "state": "sent",
                "provider_message_id": message_id,
                "cost": 1.44,
            }
        )
        self.assertEqual(kept.state, "pending")
        self.env["cgsms.delivery.report"]._cron_apply_pending()
        self.assertEqual((recipient.state, recipient.error_class), ("failed", "undelivered"))
        self.assertEqual((kept.state, kept.recipient_id), ("applied", recipient))
        refunds = self.env["cgsms.credit.line"].search([("recipient_id", "=", recipient.id)])
        self.assertEqual(refunds.mapped("amount"), [1.44])

    def test_early_undelivered_report_refunds_once_even_when_replayed(self):
        message_id = self._next_lusosms_id()
        before = self.luso.credit_available
        for _attempt in range(2):  # the provider retried: kept once
            self.assertEqual(
                self._post_lusosms(message_id, "UNDELIVERED", code="003").status_code, 200
            )
        self.assertEqual(len(self._kept(message_id)), 1)
        recipient = self._send_lusosms()
        self.assertEqual(recipient.state, "failed")
        self.assertEqual(self._post_lusosms(message_id, "UNDELIVERED", code="003").status_code, 200)
        self.luso.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self.luso.credit_available, before, 4)
        refunds = self.env["cgsms.credit.line"].search(
            [("recipient_id", "=", recipient.id), ("kind", "=", "refund")]
        )
        self.assertEqual(len(refunds), 1)

    @mute_logger("odoo.addons.cgsms.controllers.main")
    def test_account_shows_last_report_and_refused_reports(self):
        self.assertFalse(self.luso.dlr_last_date)
        self.assertEqual(self.luso.dlr_refused_count, 0)
        recipient = self._send_lusosms("+351912000402")
        self.assertEqual(self._post_lusosms(recipient.provider_message_id).status_code, 200)
        self.luso.invalidate_recordset()
        self.assertTrue(self.luso.dlr_last_date)
        self.assertEqual(self.luso.dlr_refused_count, 0)

        response = self._post_lusosms(recipient.provider_message_id, secret="wrong-secret")
        self.assertEqual(response.status_code, 403)
        self.luso.invalidate_recordset()
        self.assertEqual(self.luso.dlr_refused_count, 1)
        self.assertEqual(self.luso.dlr_last_refusal, "signature")
        self.assertTrue(self.luso.dlr_last_refused_date)

        body = b"id=&status=LOST"
        signature = hmac.new(self.luso.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        response = self.url_open(
            self.luso._callback_url().replace(self.base_url(), ""),
            data=body,
            headers={"X-LusoSMS-Signature": signature},
        )
        self.assertEqual(response.status_code, 400)
        self.luso.invalidate_recordset()
        self.assertEqual(self.luso.dlr_refused_count, 2)
        self.assertEqual(self.luso.dlr_last_refusal, "malformed")

    def test_every_account_has_a_delivery_report_secret(self):
        account = self._cgsms_make_account(
            self.env["res.company"].create({"name": "Loja Sem Segredo"}), webhook_secret=""
        )
        self.assertGreaterEqual(len(account.webhook_secret or ""), 32)
        account.webhook_secret = False
        self.assertGreaterEqual(len(account.webhook_secret or ""), 32)

    def test_manager_sees_callback_url_and_secret_user_does_not(self):
        manager = new_test_user(self.env, "dlr_manager", groups="cgsms.group_cgsms_manager")
        user = new_test_user(self.env, "dlr_user", groups="cgsms.group_cgsms_user")
        account = self.account.with_user(manager)
        self.assertEqual(
            account.callback_url, f"{self.base_url()}/cgsms/dlr/sandbox/{self.account.id}"
        )
        self.assertEqual(account.webhook_secret, self.account.webhook_secret)
        for fname in ("callback_url", "webhook_secret", "dlr_refused_count"):
            with self.subTest(field=fname), self.assertRaises(AccessError):
                self.account.with_user(user).read([fname])
        with self.assertRaises(AccessError):
            self.env["cgsms.delivery.report"].with_user(user).search([])

    def test_account_form_gives_managers_the_address_and_secret_to_copy(self):
        manager = new_test_user(self.env, "dlr_form_manager", groups="cgsms.group_cgsms_manager")
        user = new_test_user(self.env, "dlr_form_user", groups="cgsms.group_cgsms_user")
        Account = self.env["cgsms.account"]
        arch = Account.with_user(manager).get_views([(False, "form")])["views"]["form"]["arch"]
        for fname in ("callback_url", "webhook_secret", "dlr_last_date", "dlr_refused_count"):
            self.assertIn(f'name="{fname}"', arch)
        # the delivery report URL and secret, and the replies URL
        self.assertEqual(arch.count('widget="CopyClipboardChar"'), 3)
        arch = Account.with_user(user).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn('name="webhook_secret"', arch)
        self.assertNotIn('name="callback_url"', arch)
        self.assertNotIn('name="inbound_url"', arch)

    def test_settings_show_callback_url_and_secret(self):
        self.env["res.config.settings"]._cgsms_account().write({"active": True})
        settings = self.env["res.config.settings"].create({})
        account = settings._cgsms_account()
        self.assertEqual(settings.cgsms_callback_url, account._callback_url())
        self.assertEqual(settings.cgsms_webhook_secret, account.webhook_secret)

    def test_kept_reports_visible_to_managers_of_their_company_only(self):
        message_id = self._next_lusosms_id()
        self.assertEqual(self._post_lusosms(message_id).status_code, 200)
        kept = self._kept(message_id)
        manager_here = new_test_user(
            self.env,
            "dlr_manager_luso",
            groups="cgsms.group_cgsms_manager",
            company_id=self.luso.company_id.id,
            company_ids=[(6, 0, self.luso.company_id.ids)],
        )
        manager_elsewhere = new_test_user(
            self.env,
            "dlr_manager_other",
            groups="cgsms.group_cgsms_manager",
            company_id=self.company.id,
            company_ids=[(6, 0, self.company.ids)],
        )
        Report = self.env["cgsms.delivery.report"]
        self.assertEqual(Report.with_user(manager_here).search([("id", "=", kept.id)]), kept)
        self.assertFalse(Report.with_user(manager_elsewhere).search([("id", "=", kept.id)]))
