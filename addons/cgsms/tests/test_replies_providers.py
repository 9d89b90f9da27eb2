"""Replies in each provider's own protocol, genuinely signed: Twilio (checked with Twilio's
own RequestValidator), Vonage (in parts for a long text) and the sandbox."""

from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import fake_gateway
from .replies_common import CUSTOMER, CgsmsRepliesMixin

PUBLIC_URL = "https://sms.example.com"


@tagged("post_install", "-at_install")
class TestRepliesProviders(CgsmsRepliesMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.twilio = cls._cgsms_provider_account("twilio")
        cls.vonage = cls._cgsms_provider_account("vonage")

    # ------------------------------------------------------------------ Twilio

    def _twilio_params(self, body, sid="SM0123456789abcdef0123456789abcdef", **extra):
        return {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "AccountSid": fake_gateway.TWILIO_ACCOUNT_SID,
            "From": CUSTOMER,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def _post_twilio(self, params, signed_url=None):
        """Post ``params`` as Twilio does, signed by Twilio's own library over
        ``signed_url`` (default: the account's replies URL)."""
        path = f"/cgsms/in/twilio/{self.twilio.id}"
        url = signed_url or self.base_url() + path
        validator = RequestValidator(fake_gateway.TWILIO_AUTH_TOKEN)
        signature = validator.compute_signature(url, params)
        self.env.flush_all()
        response = self.url_open(
            path,
            data=urlencode(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        self.env.invalidate_all()
        return response

    def test_twilio_reply_matched_and_answered_with_empty_twiml(self):
        recipient = self._send_sms(self.twilio, partner=self.partner)
        response = self._post_twilio(self._twilio_params("Obrigado!"))
        self.assertEqual(response.status_code, 200)
        self.assertIn("text/xml", response.headers["Content-Type"])
        self.assertIn("<Response/>", response.text)
        reply = self._replies(self.twilio)
        self.assertEqual(reply.body, "Obrigado!")
        self.assertEqual(reply.recipient_id, recipient)
        self.assertEqual(reply.company_id, self.twilio.company_id)

    def test_twilio_reply_from_the_fake_gateway_customer(self):
        self._send_sms(self.twilio, partner=self.partner)
        reply = self._customer_reply(self.twilio, "Até amanhã")
        self.assertTrue(reply.is_matched)
        self.assertEqual(reply.to_number, "+15005550006")

    def test_twilio_replay_recorded_once(self):
        params = self._twilio_params("Sim")
        self.assertEqual(self._post_twilio(params).status_code, 200)
        self.assertEqual(self._post_twilio(params).status_code, 200)
        self.assertEqual(len(self._replies(self.twilio)), 1)

    def test_twilio_behind_a_proxy_signs_the_public_url(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", PUBLIC_URL)
        params = self._twilio_params("Sim")
        public = f"{PUBLIC_URL}/cgsms/in/twilio/{self.twilio.id}"
        self.assertEqual(self.twilio.inbound_url, public)
        self.assertEqual(self._post_twilio(params, signed_url=public).status_code, 200)
        self.assertEqual(len(self._replies(self.twilio)), 1)

    @mute_logger("odoo.addons.cgsms.controllers.inbound")
    def test_twilio_bad_signature_refused_403(self):
        params = self._twilio_params("STOP")
        response = self._post_twilio(params, signed_url="https://elsewhere.example.com/x")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._replies(self.twilio))
        self.assertFalse(self._blacklisted(CUSTOMER))

    def test_twilio_opt_out_type_honoured(self):
        stop = self._twilio_params("Não quero mais", sid="SM" + "1" * 32, OptOutType="STOP")
        self._post_twilio(stop)
        self.assertTrue(self._blacklisted(CUSTOMER))
        helped = self._twilio_params("info", sid="SM" + "2" * 32, OptOutType="HELP")
        self._post_twilio(helped)
        self.assertTrue(self._blacklisted(CUSTOMER))
        start = self._twilio_params("Quero sim", sid="SM" + "3" * 32, OptOutType="START")
        self._post_twilio(start)
        self.assertFalse(self._blacklisted(CUSTOMER))
        keywords = self._replies(self.twilio).sorted("id").mapped("keyword")
        self.assertEqual(keywords, ["stop", "help", "start"])

    def test_twilio_own_stop_words_in_both_cases(self):
        for index, word in enumerate(("STOPALL", "unsubscribe", "Cancel", "end", "QUIT")):
            with self.subTest(word=word):
                self._post_twilio(self._twilio_params(word, sid=f"SM{index:032d}"))
                self.assertTrue(self._blacklisted(CUSTOMER))
                self._post_twilio(self._twilio_params("unstop", sid=f"SM{index + 50:032d}"))
                self.assertFalse(self._blacklisted(CUSTOMER))

    # ------------------------------------------------------------------ Vonage

    def test_vonage_long_reply_joined_from_its_parts(self):
        self._send_sms(self.vonage, partner=self.partner)
        for method in ("POST", "GET", "POST-FORM"):
            with self.subTest(method=method):
                text = f"Bom dia ({method}), " + "a reparação ficou ótima " * 6 + "obrigado."
                reply = self._customer_reply(self.vonage, text, method=method)
                self.assertEqual(len(reply), 1)
                self.assertEqual(reply.body, text)
                self.assertTrue(reply.is_matched)
                self.assertEqual(len(self.gateway.replies[-1]["codes"]), 3)

    def test_vonage_parts_posted_again_record_nothing(self):
        text = "x" * 300
        first = self._customer_reply(self.vonage, text, message_id="0A1B", concat_ref="77")
        again = self._customer_reply(self.vonage, text, message_id="0A1B", concat_ref="77")
        self.assertEqual(len(first), 1)
        self.assertFalse(again)

    def test_vonage_stop_in_lower_case(self):
        reply = self._customer_reply(self.vonage, "sair", method="GET")
        self.assertEqual(reply.keyword, "stop")
        self.assertTrue(self._blacklisted(CUSTOMER))

    @mute_logger("odoo.addons.cgsms.controllers.inbound")
    def test_vonage_unsigned_reply_refused_403(self):
        query = urlencode(
            {"msisdn": CUSTOMER[1:], "to": "351930000000", "messageId": "1", "text": "STOP"}
        )
        response = self.url_open(f"/cgsms/in/vonage/{self.vonage.id}?{query}")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._replies(self.vonage))
