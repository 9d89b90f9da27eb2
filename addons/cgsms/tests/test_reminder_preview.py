from datetime import timedelta

from odoo.tests import Form, tagged

from ..tools.transliterate import to_gsm7
from .invoice_common import CgsmsInvoiceCase
from .test_invoice_reminders import REMINDER_EN, REMINDER_PT


@tagged("post_install", "-at_install")
class TestReminderPreview(CgsmsInvoiceCase):
    """An English-speaking accountant reminds a Portuguese and an English customer: the
    wizard shows what each of them receives, its parts and the cost of the whole send."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        cls.customer.lang = "pt_PT"
        cls.customer_2.lang = "en_US"
        past = cls._today() - timedelta(days=10)
        cls.invoices = cls._invoice(cls.customer, past) | cls._invoice(cls.customer_2, past)

    def _wizard(self):
        action = self.invoices.with_context(lang="en_US").action_cgsms_send_reminder()
        return Form(
            self.env["cgsms.reminder.wizard"].with_context(lang="en_US", **action["context"])
        )

    def test_preview_in_each_customer_language_with_total_cost(self):
        self.account.gsm7_safe = False
        form = self._wizard()
        self.assertEqual(form.body, REMINDER_EN, "the accountant edits the text in English")
        self.assertIn(REMINDER_PT, form.text_preview)
        self.assertIn(REMINDER_EN, form.text_preview)
        self.assertIn("103 characters, 2 SMS (Unicode)", form.text_preview)
        self.assertIn("99 characters, 1 SMS (GSM-7)", form.text_preview)
        self.assertEqual(form.sms_count, 2)
        self.assertEqual(form.segment_total, 3)
        self.assertAlmostEqual(form.cost_total, 3 * 1.44, places=4)
        form.save().action_send()
        bodies = sorted(m["body"] for m in self._gateway_messages())
        self.assertEqual(bodies, sorted([REMINDER_PT, REMINDER_EN]))

    def test_preview_shows_the_portuguese_text_as_it_leaves(self):
        form = self._wizard()
        self.assertIn(to_gsm7(REMINDER_PT), form.text_preview)
        self.assertIn("103 characters, 1 SMS (GSM-7)", form.text_preview)
        self.assertEqual(form.segment_total, 2)
        self.assertAlmostEqual(form.cost_total, 2 * 1.44, places=4)
        self.assertFalse(form.credit_short)

    def test_total_cost_above_the_credits_is_flagged(self):
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -999}
        )
        form = self._wizard()
        self.assertTrue(form.credit_short)

    def test_preview_in_portuguese_for_a_portuguese_accountant(self):
        action = self.invoices.action_cgsms_send_reminder()
        form = Form(
            self.env["cgsms.reminder.wizard"].with_context(lang="pt_PT", **action["context"])
        )
        self.assertEqual(form.body, REMINDER_PT)
        self.assertIn("Mensagem tal como é enviada", form.text_preview)
        self.assertIn("103 caracteres, 1 SMS (GSM-7)", form.text_preview)
        self.assertIn("1,44", form.text_preview, "credits with the decimal comma")

    def test_preview_names_each_language_in_its_own_words(self):
        form = self._wizard()
        self.assertIn("<td>Português</td>", form.text_preview)
        self.assertNotIn("Portuguese / Português", form.text_preview)

    def test_result_says_sms_and_invoices_in_the_singular_and_plural(self):
        wizard = self.env["cgsms.reminder.wizard"].with_context(lang="pt_PT")
        self.assertEqual(wizard._sent_sentence(1, 1), "1 SMS enviado sobre 1 fatura.")
        self.assertEqual(wizard._sent_sentence(1, 3), "1 SMS enviado sobre 3 faturas.")
        self.assertEqual(wizard._sent_sentence(2, 3), "2 SMS enviados sobre 3 faturas.")
        action = self._wizard().save().with_context(lang="en_US").action_send()
        self.assertIn("2 SMS sent about 2 invoices.", action["params"]["message"])

    def test_broken_placeholder_shows_the_error_in_the_preview(self):
        form = self._wizard()
        form.body = "Fatura {{ object.no_such_field }} em atraso"
        self.assertIn("alert", form.text_preview)
        self.assertEqual(form.cost_total, 0)
