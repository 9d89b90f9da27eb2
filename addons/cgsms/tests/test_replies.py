"""Replies to the company's SMS: matched to the SMS they answer, posted on its document,
kept unmatched from strangers, recorded once however often they are posted."""

import hashlib
import hmac
import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import fake_gateway
from .replies_common import CUSTOMER, CgsmsRepliesMixin


@tagged("post_install", "-at_install")
class TestReplies(CgsmsRepliesMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env,
            login="cgsms_reply_seller",
            groups="base.group_user,base.group_partner_manager,cgsms.group_cgsms_user",
        )

    def _chatter_sms_by_seller(self):
        self.partner.with_user(self.seller)._message_sms("A sua reparação está pronta.")
        recipient = self.env["cgsms.recipient"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(recipient.state, "sent", recipient.failure_reason)
        return recipient

    def _post_signed(self, body, secret=None):
        secret = secret or fake_gateway.SANDBOX_WEBHOOK_SECRET
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.url_open(
            self.account._inbound_url().replace(self.base_url(), ""),
            data=body,
            headers={"Content-Type": "application/json", "X-Sandbox-Signature": signature},
        )

    def test_reply_posted_on_the_document_by_the_customer_notifying_the_sender(self):
        recipient = self._chatter_sms_by_seller()
        reply = self._customer_reply(self.account, "Obrigado, passo amanhã")
        self.assertEqual(len(reply), 1)
        self.assertTrue(reply.is_matched)
        self.assertFalse(reply.is_read)
        self.assertEqual(reply.recipient_id, recipient)
        self.assertEqual(reply.partner_id, self.partner)
        self.assertEqual(reply.user_id, self.seller)
        self.assertEqual((reply.res_model, reply.res_id), ("res.partner", self.partner.id))
        message = reply.mail_message_id
        self.assertEqual(message.author_id, self.partner)
        self.assertIn("Obrigado, passo amanhã", message.body)
        self.assertIn(message, self.partner.message_ids)
        self.assertIn(self.seller.partner_id, message.notification_ids.res_partner_id)

    def test_reply_to_a_send_posted_on_the_send(self):
        send = self.env["cgsms.message"].create(
            {"body": "Promoção de inverno", "partner_ids": [(6, 0, self.partner.ids)]}
        )
        send.action_send()
        self.env.flush_all()
        reply = self._customer_reply(self.account, "Quanto custa?")
        self.assertEqual((reply.res_model, reply.res_id), ("cgsms.message", send.id))
        self.assertIn(reply.mail_message_id, send.message_ids)

    def test_replayed_reply_recorded_once(self):
        self._chatter_sms_by_seller()
        first = self._customer_reply(self.account, "Sim", message_id="sbi_replay_1")
        again = self._customer_reply(self.account, "Sim", message_id="sbi_replay_1")
        self.assertEqual(len(first), 1)
        self.assertFalse(again)
        posted = self.partner.message_ids.filtered(lambda m: m.author_id == self.partner)
        self.assertEqual(len(posted), 1)

    def test_unknown_number_kept_unmatched_without_creating_a_contact(self):
        partners = self.env["res.partner"].search_count([])
        reply = self._customer_reply(self.account, "Quem fala?", number="+351934999888")
        self.assertEqual(len(reply), 1)
        self.assertFalse(reply.is_matched)
        self.assertFalse(reply.partner_id)
        self.assertFalse(reply.mail_message_id)
        self.assertEqual(self.env["res.partner"].search_count([]), partners)
        unmatched = self.env["cgsms.reply"].search([("is_matched", "=", False)])
        self.assertIn(reply, unmatched)

    def test_reply_after_the_window_stays_unmatched(self):
        recipient = self._chatter_sms_by_seller()
        self.account.reply_window_days = 7
        recipient.sudo().date_sent = fields.Datetime.now() - timedelta(days=8)
        reply = self._customer_reply(self.account, "Ainda está pronta?")
        self.assertFalse(reply.is_matched)
        # a known contact is named, nothing is posted
        self.assertEqual(reply.partner_id, self.partner)
        self.assertFalse(reply.mail_message_id)

    def test_each_stop_word_in_upper_and_lower_case_opts_out_and_start_opts_in(self):
        stop_words = ["STOP", "PARAR", "CANCELAR", "SAIR", "STOPALL", "UNSUBSCRIBE", "CANCEL"]
        stop_words += ["END", "QUIT"]
        for word in stop_words:
            for text in (word, word.lower()):
                with self.subTest(text=text):
                    reply = self._customer_reply(self.account, text)
                    self.assertEqual(reply.keyword, "stop")
                    self.assertTrue(self._blacklisted(CUSTOMER))
                    back = self._customer_reply(self.account, "START")
                    self.assertEqual(back.keyword, "start")
                    self.assertFalse(self._blacklisted(CUSTOMER))
        for word in ("START", "INICIAR", "YES", "UNSTOP"):
            for text in (word, word.lower()):
                with self.subTest(text=text):
                    self._customer_reply(self.account, "Stop")
                    self.assertTrue(self._blacklisted(CUSTOMER))
                    reply = self._customer_reply(self.account, text)
                    self.assertEqual(reply.keyword, "start")
                    self.assertFalse(self._blacklisted(CUSTOMER))

    def test_opt_out_shows_on_the_contact_with_reason_and_date(self):
        self._customer_reply(self.account, "parar")
        self.partner.invalidate_recordset()
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        entry = self.env["phone.blacklist"].search([("number", "=", CUSTOMER)])
        self.assertIn("parar", entry.message_ids[:1].body)

    def test_keyword_list_is_configurable(self):
        self.account.reply_stop_keywords = "BASTA"
        self.assertEqual(self._customer_reply(self.account, "stop").keyword, False)
        self.assertFalse(self._blacklisted(CUSTOMER))
        self.assertEqual(self._customer_reply(self.account, "Basta").keyword, "stop")
        self.assertTrue(self._blacklisted(CUSTOMER))

    @mute_logger("odoo.addons.cgsms.controllers.inbound")
    def test_bad_signature_refused_403_and_nothing_written(self):
        body = json.dumps({"id": "sbi_forged", "from": CUSTOMER, "text": "STOP"}).encode()
        response = self._post_signed(body, secret="not-the-secret")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._replies(self.account))
        self.assertFalse(self._blacklisted(CUSTOMER))

    @mute_logger("odoo.addons.cgsms.controllers.inbound")
    def test_malformed_reply_refused_400(self):
        body = json.dumps({"id": "sbi_bad", "from": "not a number", "text": "x"}).encode()
        self.assertEqual(self._post_signed(body).status_code, 400)
        self.assertEqual(self._post_signed(b"[1, 2]").status_code, 400)
        self.assertFalse(self._replies(self.account))

    def test_oversized_reply_refused_413(self):
        body = json.dumps({"id": "sbi_big", "from": CUSTOMER, "text": "x" * 70000}).encode()
        self.assertEqual(self._post_signed(body).status_code, 413)
        self.assertFalse(self._replies(self.account))

    def test_lusosms_has_no_replies_route(self):
        account = self._cgsms_provider_account("lusosms")
        self.assertFalse(account.inbound_url)
        response = self.url_open(f"/cgsms/in/lusosms/{account.id}", data=b"id=1")
        self.assertEqual(response.status_code, 404)

    def test_replies_url_on_the_account_and_in_settings(self):
        url = self.account.inbound_url
        self.assertEqual(url, f"{self.base_url()}/cgsms/in/sandbox/{self.account.id}")
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.cgsms_inbound_url, url)

    def test_answer_opens_express_message_for_the_number(self):
        reply = self._customer_reply(self.account, "Pode ligar-me?")
        action = reply.with_user(self.seller).action_answer()
        self.assertEqual(action["res_model"], "cgsms.express.wizard")
        self.assertEqual(action["context"]["default_numbers"], CUSTOMER)
        self.assertTrue(reply.is_read)
        wizard = (
            self.env["cgsms.express.wizard"]
            .with_user(self.seller)
            .with_context(action["context"])
            .create({"body": "Claro, ligo agora."})
        )
        wizard.action_send()
        sent = self.env["cgsms.recipient"].search([("body", "=", "Claro, ligo agora.")])
        self.assertEqual(sent.number, CUSTOMER)

    def test_a_reply_is_a_record_users_only_mark_read(self):
        reply = self._customer_reply(self.account, "Olá")
        reply.with_user(self.seller).action_mark_read()
        self.assertTrue(reply.is_read)
        with self.assertRaises(AccessError):
            reply.with_user(self.seller).write({"body": "STOP"})

    def test_a_company_sees_only_its_own_replies(self):
        other = self._cgsms_provider_account("sandbox")
        self.accounts["sandbox"] = self.account
        self._customer_reply(other, "Da outra loja")
        mine = self._customer_reply(self.account, "Da minha loja")
        visible = self.env["cgsms.reply"].with_user(self.seller).search([])
        self.assertEqual(visible, mine)
