from datetime import timedelta

from odoo.tests import tagged

from .invoice_common import CgsmsInvoiceCase

PENDING_KEY = "cgsms.posted_sms"


@tagged("post_install", "-at_install")
class TestInvoicePosting(CgsmsInvoiceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.cgsms_invoice_post_sms = True
        cls.due = cls._today() + timedelta(days=30)

    def _pending(self):
        return self.env.cr.postcommit.data.get(PENDING_KEY, set())

    def test_posting_waits_for_the_commit(self):
        invoice = self._invoice(self.customer, self.due)
        self.assertIn(invoice.id, self._pending(), "the after-commit callback is registered")
        self.assertFalse(self._gateway_messages(), "nothing leaves before the commit")
        self.assertFalse(invoice.cgsms_posted_sms_sent)

    def test_posted_invoice_sends_one_sms_after_commit(self):
        invoice = self._invoice(self.customer, self.due, amount=123.0)
        self._run_postcommit()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["to"], "+351912345678")
        self.assertIn(invoice.name, sent[0]["body"])
        self.assertIn("123.00", sent[0]["body"])
        self.assertIn(invoice.get_base_url() + "/my/invoices/%s" % invoice.id, sent[0]["body"])
        self.assertTrue(invoice.cgsms_posted_sms_sent)
        self.assertTrue(invoice.message_ids.filtered(lambda m: m.message_type == "sms"))

    def test_send_method_sends_exactly_once(self):
        invoice = self._invoice(self.customer, self.due)
        invoice._cgsms_send_posted_sms()
        invoice._cgsms_send_posted_sms()
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_several_invoices_posted_together_one_sms_each(self):
        invoices = self._invoice(self.customer, self.due, post=False) | self._invoice(
            self.customer_2, self.due, post=False
        )
        invoices.action_post()
        self.assertEqual(self._pending(), set(invoices.ids))
        self._run_postcommit()
        self.assertEqual(len(self._gateway_messages()), 2)

    def test_repost_after_reset_to_draft_sends_nothing(self):
        invoice = self._invoice(self.customer, self.due)
        self._run_postcommit()
        self.gateway.reset()
        invoice.button_draft()
        invoice.action_post()
        self.assertNotIn(invoice.id, self._pending())
        self._run_postcommit()
        invoice._cgsms_send_posted_sms()
        self.assertFalse(self._gateway_messages())

    def test_option_off_sends_nothing(self):
        self.company.cgsms_invoice_post_sms = False
        invoice = self._invoice(self.customer, self.due)
        self.assertNotIn(invoice.id, self._pending())
        invoice._cgsms_send_posted_sms()
        self._run_postcommit()
        self.assertFalse(self._gateway_messages())
        self.assertFalse(invoice.cgsms_posted_sms_sent)

    def test_credit_note_not_announced(self):
        refund = self._invoice(self.customer, self.due, move_type="out_refund")
        self.assertNotIn(refund.id, self._pending())
        refund._cgsms_send_posted_sms()
        self.assertFalse(self._gateway_messages())

    def test_customer_without_mobile_logged_not_sent(self):
        invoice = self._invoice(self.customer_no_mobile, self.due)
        self._run_postcommit()
        self.assertFalse(self._gateway_messages())
        self.assertTrue(invoice.cgsms_posted_sms_sent)
        self.assertTrue(
            invoice.message_ids.filtered(lambda m: "no valid mobile number" in (m.body or ""))
        )
