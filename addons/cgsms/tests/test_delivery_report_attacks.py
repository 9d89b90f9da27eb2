"""Forged and replayed delivery reports, posted by an outsider to the public webhook
``/cgsms/dlr/<provider>/<account>``, the way the adversarial test did it."""

import hashlib
import hmac
import json
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from odoo.tests import HttpCase, tagged
from odoo.tools import config, mute_logger

from ..controllers.gate import GATE
from .common import CgsmsGatewayMixin, fake_gateway

PROVIDERS = ("twilio", "vonage", "lusosms", "sandbox")
SENDERS = {"twilio": "+15005550006"}
# What the attacker appends as a query string to mark the target SMS undelivered.
FORGED_QUERY = {
    "twilio": {"MessageSid": "{target}", "MessageStatus": "undelivered", "ErrorCode": "30003"},
    "vonage": {"messageId": "{target}", "status": "failed", "err-code": "3"},
    "lusosms": {"id": "{target}", "status": "UNDELIVERED", "code": "003"},
    "sandbox": {"id": "{target}", "status": "failed", "error_code": "blocked"},
}
SIGNATURE_HEADERS = ("X-Twilio-Signature", "X-LusoSMS-Signature", "X-Sandbox-Signature")
# Each provider's own word for "sent, not delivered yet".
SENT_STATUS = {"twilio": "sent", "vonage": "accepted", "lusosms": "SENT", "sandbox": "sent"}
PUBLIC_URL = "https://sms.example.com"


@tagged("post_install", "-at_install")
class TestDeliveryReportAttacks(CgsmsGatewayMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())
        cls.accounts = {"sandbox": cls.account}
        cls.account.refund_undelivered = True
        for provider in PROVIDERS[:3]:
            company = cls.env["res.company"].create(
                {"name": f"Loja {provider}", "country_id": cls.env.ref("base.pt").id}
            )
            account = cls._cgsms_make_account(
                company, provider=provider, sender=SENDERS.get(provider, "CgSMS")
            )
            account.refund_undelivered = True
            cls.env["cgsms.credit.line"].create(
                {"account_id": account.id, "kind": "topup", "amount": 10, "reference": "Pack"}
            )
            cls.accounts[provider] = account
        # a second sandbox account, in a company of its own, with a secret of its own
        company_b = cls.env["res.company"].create({"name": "Loja B"})
        cls.sandbox_b = cls._cgsms_make_account(company_b, webhook_secret="secret-of-b")
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.sandbox_b.id, "kind": "topup", "amount": 10, "reference": "B"}
        )

    # ------------------------------------------------------------------ helpers

    def _send(self, provider, number, account=None):
        account = account or self.accounts[provider]
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create({"number": number, "body": "Olá", "cgsms_company_id": account.company_id.id})
        )
        sms._send(unlink_sent=False)
        recipient = sms.cgsms_recipient_id
        self.assertEqual(recipient.state, "sent", recipient.failure_reason)
        self.env.flush_all()
        return recipient

    def _two_sent(self, provider):
        """SMS A gets a genuine report (``status``); SMS B is the attacker's target."""
        first = self._send(provider, "+351912000301")
        target = self._send(provider, "+351912000302")
        return first, target

    def _genuine(self, recipient, status="delivered"):
        self.gateway.reports.clear()
        codes = self._deliver(recipient.provider_message_id, status)
        self.assertEqual(codes[:1], [200])
        return self.gateway.reports[0]

    def _post(self, report, query=None, content_type=None, body=None):
        path = report["url"].replace(self.base_url(), "")
        if query:
            path += ("&" if "?" in path else "?") + urlencode(query)
        headers = {k: v for k, v in report["headers"].items() if k in SIGNATURE_HEADERS}
        headers["Content-Type"] = (
            report["headers"].get("Content-Type", "") if content_type is None else content_type
        )
        return self.url_open(path, data=report["body"] if body is None else body, headers=headers)

    def _state(self, recipient):
        recipient.invalidate_recordset()
        account = recipient.account_id
        account.invalidate_recordset(["credit_available"])
        return recipient.state, round(account.credit_available, 4)

    # ------------------------------------------------------------------ attacks

    @mute_logger("odoo.addons.cgsms.controllers.main")
    def test_lusosms_signed_body_as_text_plain_with_forged_query_changes_nothing(self):
        """The attack of the report: a genuine signed LusoSMS report re-posted with
        Content-Type text/plain and ``?id=<target>&status=UNDELIVERED``."""
        first, target = self._two_sent("lusosms")
        report = self._genuine(first)
        before = self._state(target)
        query = {"id": target.provider_message_id, "status": "UNDELIVERED"}
        response = self._post(report, query=query, content_type="text/plain")
        self.assertIn(response.status_code, (200, 400, 403))
        self.assertEqual(self._state(target), before)
        self.assertEqual(before[0], "sent")
        first.invalidate_recordset()
        self.assertEqual(first.state, "delivered")

    @mute_logger("odoo.addons.cgsms.controllers.main")
    def test_forged_query_string_and_content_type_change_nothing_for_every_provider(self):
        for provider in PROVIDERS:
            first, target = self._two_sent(provider)
            report = self._genuine(first)
            query = {
                k: v.format(target=target.provider_message_id)
                for k, v in FORGED_QUERY[provider].items()
            }
            before = self._state(target)
            for content_type in (
                None,
                "text/plain",
                "application/json",
                "application/x-www-form-urlencoded",
            ):
                with self.subTest(provider=provider, content_type=content_type):
                    response = self._post(report, query=query, content_type=content_type)
                    self.assertIn(response.status_code, (200, 400, 403))
                    self.assertEqual(self._state(target), before)

    @mute_logger("odoo.addons.cgsms.controllers.main")
    def test_report_with_another_id_or_status_in_signed_body_refused(self):
        for provider in PROVIDERS:
            first, target = self._two_sent(provider)
            report = self._genuine(first)
            before = self._state(target)
            body = report["body"].replace(
                first.provider_message_id.encode(), target.provider_message_id.encode()
            )
            with self.subTest(provider=provider, field="id"):
                self.assertEqual(self._post(report, body=body).status_code, 403)
                self.assertEqual(self._state(target), before)
            failed = report["body"]
            for old, new in ((b"DELIVERED", b"UNDELIVERED"), (b"delivered", b"failed")):
                failed = failed.replace(b"=" + old, b"=" + new).replace(
                    b'"' + old + b'"', b'"' + new + b'"'
                )
            with self.subTest(provider=provider, field="status"):
                self.assertNotEqual(failed, report["body"])
                self.assertEqual(self._post(report, body=failed).status_code, 403)
                first.invalidate_recordset()
                self.assertEqual(first.state, "delivered")

    def test_replayed_undelivered_report_refunds_once(self):
        for provider in PROVIDERS:
            with self.subTest(provider=provider):
                first, _target = self._two_sent(provider)
                sent_state = self._state(first)
                report = self._genuine(first, "failed")
                state, balance = self._state(first)
                self.assertEqual(state, "failed")
                self.assertAlmostEqual(balance, sent_state[1] + 1.44, places=4)
                for _attempt in range(2):
                    self.assertEqual(self._post(report).status_code, 200)
                self.assertEqual(self._state(first), (state, balance))
                refunds = self.env["cgsms.credit.line"].search(
                    [("recipient_id", "=", first.id), ("kind", "=", "refund")]
                )
                self.assertEqual(len(refunds), 1)

    def _refunds(self, recipient):
        return self.env["cgsms.credit.line"].search_count(
            [("recipient_id", "=", recipient.id), ("kind", "=", "refund")]
        )

    def test_reports_replayed_out_of_order_never_move_the_status_back(self):
        for provider in PROVIDERS:
            with self.subTest(provider=provider):
                line = self._send(provider, "+351912000305")
                late_sent = self._genuine(line, SENT_STATUS[provider])
                delivered = self._genuine(line, "delivered")
                failed = self._genuine(line, "failed")
                delivered_state = ("delivered", self._state(line)[1])
                for report in (late_sent, failed, delivered, late_sent, failed):
                    self.assertEqual(self._post(report).status_code, 200)
                    self.assertEqual(self._state(line), delivered_state)
                self.assertEqual(self._refunds(line), 0)

    def test_failed_then_late_delivered_and_replays_refund_once(self):
        for provider in PROVIDERS:
            with self.subTest(provider=provider):
                line = self._send(provider, "+351912000306")
                failed = self._genuine(line, "failed")
                failed_state = self._state(line)
                delivered = self._genuine(line, "delivered")
                late_sent = self._genuine(line, SENT_STATUS[provider])
                for report in (delivered, failed, late_sent, failed):
                    self.assertEqual(self._post(report).status_code, 200)
                self.assertEqual(self._state(line), failed_state)
                self.assertEqual(failed_state[0], "failed")
                self.assertEqual(self._refunds(line), 1)

    def test_report_signed_for_one_account_naming_an_sms_of_another_changes_nothing(self):
        line_b = self._send("sandbox", "+351912000307", account=self.sandbox_b)
        before = self._state(line_b)
        body = json.dumps({"id": line_b.provider_message_id, "status": "failed"}).encode()
        secret_a = self.account.webhook_secret
        signed_a = hmac.new(secret_a.encode(), body, hashlib.sha256).hexdigest()
        with mute_logger("odoo.addons.cgsms.controllers.main"):
            for account, code in ((self.account, 200), (self.sandbox_b, 403)):
                response = self.url_open(
                    account._callback_url().replace(self.base_url(), ""),
                    data=body,
                    headers={"Content-Type": "application/json", "X-Sandbox-Signature": signed_a},
                )
                self.assertEqual(response.status_code, code)
        self.env["cgsms.delivery.report"].sudo()._cron_apply_pending()
        self.assertEqual(self._state(line_b), before)
        self.assertEqual(before[0], "sent")
        self.assertEqual(self._refunds(line_b), 0)

    # ------------------------------------------------------------------ Twilio's own signature

    def _twilio_callback(self, line, url, status="delivered"):
        """The status callback Twilio posts to ``url``, signed by the ``twilio`` package."""
        params = {
            "AccountSid": fake_gateway.TWILIO_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "MessageSid": line.provider_message_id,
            "MessageStatus": status,
            "SmsSid": line.provider_message_id,
            "SmsStatus": status,
            "To": line.number,
        }
        validator = RequestValidator(fake_gateway.TWILIO_AUTH_TOKEN)
        signature = validator.compute_signature(url, params)
        self.assertTrue(validator.validate(url, params, signature))
        return params, signature

    def _post_twilio(self, line, signed_url, headers=None):
        params, signature = self._twilio_callback(line, signed_url)
        path = f"/cgsms/dlr/twilio/{self.accounts['twilio'].id}"
        headers = {"X-Twilio-Signature": signature, **(headers or {})}
        with mute_logger("odoo.addons.cgsms.controllers.main"):
            return self.url_open(path, data=params, headers=headers)

    def _proxy_mode(self, on):
        previous = config["proxy_mode"]
        config["proxy_mode"] = on
        self.addCleanup(config.__setitem__, "proxy_mode", previous)

    def test_twilio_callback_signed_by_twilio_own_validator_accepted(self):
        line = self._send("twilio", "+351912000308")
        response = self._post_twilio(line, self.accounts["twilio"]._callback_url())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._state(line)[0], "delivered")

    def test_twilio_callback_through_a_proxy_accepted_after_base_url_changed(self):
        """Twilio posts to the address the SMS left with, through the proxy in front of Odoo
        (proxy_mode); meanwhile web.base.url changed (an administrator logged in through
        another name)."""
        self._proxy_mode(True)
        Param = self.env["ir.config_parameter"].sudo()
        Param.set_param("web.base.url", PUBLIC_URL)
        line = self._send("twilio", "+351912000309")
        signed_url = self.accounts["twilio"]._callback_url()
        self.assertTrue(signed_url.startswith(PUBLIC_URL))
        Param.set_param("web.base.url", "https://erp.example.com")
        self.env.flush_all()
        proxied = {"X-Forwarded-Host": "sms.example.com", "X-Forwarded-Proto": "https"}
        response = self._post_twilio(line, signed_url, proxied)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._state(line)[0], "delivered")

    def test_twilio_forwarded_host_not_trusted_without_proxy_mode(self):
        self._proxy_mode(False)
        line = self._send("twilio", "+351912000310")
        proxied = {"X-Forwarded-Host": "sms.example.com", "X-Forwarded-Proto": "https"}
        signed_url = f"{PUBLIC_URL}/cgsms/dlr/twilio/{self.accounts['twilio'].id}"
        self.assertEqual(self._post_twilio(line, signed_url, proxied).status_code, 403)
        self.assertEqual(self._state(line)[0], "sent")

    # ------------------------------------------------------------------ bad input

    def _post_signed_sandbox(self, body):
        secret = self.account.webhook_secret
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.url_open(
            self.account._callback_url().replace(self.base_url(), ""),
            data=body,
            headers={"Content-Type": "application/json", "X-Sandbox-Signature": signature},
        )

    @mute_logger("odoo.addons.cgsms.controllers.main", "odoo.http")
    def test_signed_sandbox_report_with_list_object_or_deep_nesting_is_400(self):
        recipient = self._send("sandbox", "+351912000303")
        message_id = recipient.provider_message_id
        bodies = [
            json.dumps({"id": message_id, "status": ["delivered"]}).encode(),
            json.dumps({"id": message_id, "status": {"value": "delivered"}}).encode(),
            json.dumps({"id": [message_id], "status": "delivered"}).encode(),
            b"[" * 30000 + b"]" * 30000,
            b'{"id":' * 8000 + b'"x"' + b"}" * 8000,
        ]
        for body in bodies:
            with self.subTest(body=body[:40]):
                response = self._post_signed_sandbox(body)
                self.assertEqual(response.status_code, 400)
                self.assertIn("Malformed", response.text)
        self.assertEqual(self._state(recipient)[0], "sent")

    @mute_logger("odoo.addons.cgsms.controllers.main", "odoo.http")
    def test_oversized_report_is_413(self):
        response = self._post_signed_sandbox(b" " * (70 * 1024) + b"{}")
        self.assertEqual(response.status_code, 413)

    # ------------------------------------------------------------------ burst gate

    def test_report_beyond_the_concurrency_bound_answered_503_with_retry_after(self):
        recipient = self._send("sandbox", "+351912000304")
        report = self._genuine_report_without_posting(recipient)
        limit, wait = GATE.limit, GATE.wait
        GATE.configure(1, 0.2)
        try:
            self.assertTrue(GATE._slots.acquire(timeout=1))  # another report is being served
            try:
                response = self._post(report)
            finally:
                GATE._slots.release()
            self.assertEqual(response.status_code, 503)
            self.assertTrue(int(response.headers["Retry-After"]) >= 1)
            self.assertEqual(self._state(recipient)[0], "sent")
            # the provider retries later: the report is applied
            self.assertEqual(self._post(report).status_code, 200)
            self.assertEqual(self._state(recipient)[0], "delivered")
        finally:
            GATE.configure(limit, wait)

    def _genuine_report_without_posting(self, recipient):
        """The signed sandbox report the gateway would post for ``recipient``."""
        body = json.dumps({"id": recipient.provider_message_id, "status": "delivered"}).encode()
        secret = recipient.account_id.webhook_secret
        return {
            "url": recipient.account_id._callback_url(),
            "headers": {
                "Content-Type": "application/json",
                "X-Sandbox-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            },
            "body": body,
        }
