"""Replies recorded by the webhook and processed afterwards, in chunks: the cron posts what a
busy or killed worker left, an opt-out is applied before the webhook answers, and a reply that
cannot be posted does not hold the others back."""

from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..compat import PARTNER_MOBILE_FIELD as MOBILE
from ..models.cgsms_reply import CgsmsReply
from ..providers.inbound import InboundSms
from .replies_common import CUSTOMER, CgsmsRepliesMixin

OTHER = "+351912000222"


@tagged("post_install", "-at_install")
class TestRepliesProcessing(CgsmsRepliesMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env,
            login="cgsms_processing_seller",
            groups="base.group_user,base.group_partner_manager,cgsms.group_cgsms_user",
            notification_type="inbox",
        )
        cls.other = cls.env["res.partner"].create({"name": "Ana Costa", MOBILE: OTHER})

    def _sms_by_seller(self, partner):
        partner.with_user(self.seller)._message_sms("A sua encomenda chegou.")
        recipient = self.env["cgsms.recipient"].search([("partner_id", "=", partner.id)])[:1]
        self.assertEqual(recipient.state, "sent", recipient.failure_reason)
        return recipient

    def _record(self, number, text, ref):
        """What the webhook does before it answers: the reply recorded, not processed."""
        Reply = self.env["cgsms.reply"].sudo()
        item = InboundSms(message_id=ref, number=number, body=text)
        return Reply._cgsms_record_items(Reply.env, self.account, [item], commit=False)

    def _run_cron(self):
        self.env.ref("cgsms.ir_cron_cgsms_replies").sudo().method_direct_trigger()
        self.env.invalidate_all()

    def test_replies_left_pending_are_posted_by_the_cron_notifying_the_sender(self):
        first = self._sms_by_seller(self.partner)
        second = self._sms_by_seller(self.other)
        replies = self._record(CUSTOMER, "Obrigado!", "p-1") | self._record(OTHER, "Sim", "p-2")
        self.assertEqual(replies.mapped("is_pending"), [True, True])
        self.assertFalse(replies.mail_message_id)
        self._run_cron()
        self.assertEqual(replies.mapped("is_pending"), [False, False])
        self.assertEqual(replies.recipient_id, first | second)
        for reply, partner in zip(replies, self.partner | self.other, strict=True):
            message = reply.mail_message_id
            self.assertEqual(message.author_id, partner)
            self.assertEqual((message.model, message.res_id), ("res.partner", partner.id))
            self.assertIn(self.seller.partner_id, message.notification_ids.res_partner_id)
            self.assertEqual(reply.user_id, self.seller)
        # a second run posts nothing again
        self._run_cron()
        posted = self.partner.message_ids.filtered(lambda m: m.author_id == self.partner)
        self.assertEqual(len(posted), 1)

    def test_opt_out_applied_before_the_webhook_answers(self):
        self._sms_by_seller(self.partner)
        reply = self._record(CUSTOMER, "STOP", "p-stop")
        # nothing processed the chunks yet: the opt-out is already there
        self.assertTrue(self._blacklisted(CUSTOMER))
        self.assertFalse(reply.is_pending)
        self.assertEqual(reply.keyword, "stop")
        self.assertTrue(reply.is_matched)

    def test_reply_that_cannot_be_posted_is_kept_and_the_others_posted(self):
        self._sms_by_seller(self.partner)
        self._sms_by_seller(self.other)
        broken = self._record(CUSTOMER, "Obrigado!", "p-broken")
        fine = self._record(OTHER, "Sim", "p-fine")
        post = CgsmsReply._cgsms_post

        def failing_post(reply, sms, post_values=None):
            if reply.id == broken.id:
                raise ValueError("the document refuses messages")
            return post(reply, sms, post_values=post_values)

        with (
            patch.object(CgsmsReply, "_cgsms_post", failing_post),
            mute_logger("odoo.addons.cgsms.models.cgsms_reply_process"),
        ):
            self._run_cron()
        self.assertFalse(broken.is_pending)
        self.assertFalse(broken.mail_message_id)
        self.assertEqual(broken.body, "Obrigado!")
        self.assertFalse(fine.is_pending)
        self.assertEqual(fine.mail_message_id.author_id, self.other)

    def test_replies_of_one_chunk_matched_to_their_own_last_sms(self):
        self._sms_by_seller(self.partner)
        last = self._sms_by_seller(self.partner)
        stranger = "+351912000999"
        replies = self._record(CUSTOMER, "Recebido", "p-a") | self._record(stranger, "?", "p-b")
        self._run_cron()
        self.assertEqual(replies[0].recipient_id, last)
        self.assertFalse(replies[1].is_matched)
        self.assertFalse(replies[1].mail_message_id)
        self.assertFalse(replies[1].partner_id)

    def test_unmatched_reply_shows_the_company_contact_with_that_number(self):
        reply = self._record(OTHER, "Quem fala?", "p-known")
        self._run_cron()
        self.assertFalse(reply.is_matched)
        self.assertEqual(reply.partner_id, self.other)
        self.assertFalse(reply.mail_message_id)

    def test_sender_notified_by_email_gets_the_reply_of_a_customer_without_email(self):
        seller = new_test_user(
            self.env,
            login="cgsms_processing_email_seller",
            groups="base.group_user,base.group_partner_manager,cgsms.group_cgsms_user",
            notification_type="email",
            email="vendas@example.com",
        )
        self.env.company.email = "loja@example.com"
        self.assertFalse(self.partner.email)
        self.partner.with_user(seller)._message_sms("A sua reparação está pronta.")
        reply = self._record(CUSTOMER, "Vou buscar amanhã", "p-email")
        self._run_cron()
        message = reply.mail_message_id
        self.assertEqual(message.author_id, self.partner)
        # a number alone is no address: the From is the customer's name at the company's
        self.assertIn("Rui Almeida", message.email_from)
        self.assertIn("@", message.email_from)
        notification = message.notification_ids.filtered(
            lambda n: n.res_partner_id == seller.partner_id
        )
        self.assertEqual(notification.notification_type, "email")
        mail = notification.mail_mail_id
        mail.send(raise_exception=False)
        # 18.0 marks it sent; 19.0, under test, leaves it ready: never refused
        # (18.0 deletes the mail once sent)
        self.assertIn(
            notification.notification_status, ("sent", "ready"), notification.failure_reason
        )
        self.assertFalse(notification.failure_type)
        self.assertNotEqual(mail.exists().state, "exception")
