"""The text an SMS leaves with: accented letters replaced when the account says so (on by
default), and the typographic characters of Odoo's amount and date formatting always made
plain; counters and costs follow that text."""

from datetime import timedelta

from odoo.tests import Form, tagged
from odoo.tools.misc import format_amount

from ..tools.sms_segments import count_segments
from ..tools.transliterate import to_gsm7
from .common import CgsmsCase
from .invoice_common import CgsmsInvoiceCase

# 105 characters: Unicode (2 SMS) as typed, GSM-7 (1 SMS) once the accents are replaced.
ACCENTED = (
    "Estimado cliente, a sua reparação está concluída. Pode levantar o equipamento "
    "na loja a partir de amanhã."
)


@tagged("post_install", "-at_install")
class TestAccentedLetters(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.maria = cls.env["res.partner"].create(
            {
                "name": "Maria Costa",
                "cgsms_mobile": "912 345 678",
                "country_id": cls.env.ref("base.pt").id,
            }
        )

    def test_new_account_replaces_accented_letters(self):
        company = self.env["res.company"].create({"name": "Loja Nova"})
        account = self.env["cgsms.account"].create({"company_id": company.id})
        self.assertTrue(account.gsm7_safe)

    def test_setting_shown_in_settings_and_saved_on_the_account(self):
        form = Form(self.env["res.config.settings"])
        self.assertTrue(form.cgsms_gsm7_safe)
        form.cgsms_gsm7_safe = False
        form.save().execute()
        self.assertFalse(self.account.gsm7_safe)
        self.assertFalse(Form(self.env["res.config.settings"]).cgsms_gsm7_safe)

    def test_send_form_counts_and_sends_the_text_as_it_leaves(self):
        form = Form(self.env["cgsms.message"])
        form.body = ACCENTED
        form.partner_ids.add(self.maria)
        self.assertEqual((form.encoding, form.segment_count), ("GSM-7", 1))
        self.assertAlmostEqual(form.estimated_cost, 1.44, places=4)
        self.assertTrue(form.gsm7_safe, "the counter widget is told to count the same way")
        message = form.save()
        message.action_send()
        self.assertEqual(self._gateway_messages()[0]["body"], to_gsm7(ACCENTED))
        self.assertEqual(message.recipient_ids.segments, 1)
        self.assertAlmostEqual(message.cost_total, 1.44, places=4)

    def test_send_form_keeps_accents_when_the_setting_is_off(self):
        self.account.gsm7_safe = False
        form = Form(self.env["cgsms.message"])
        form.body = ACCENTED
        form.partner_ids.add(self.maria)
        self.assertEqual((form.encoding, form.segment_count), ("UCS-2", 2))
        form.save().action_send()
        self.assertEqual(self._gateway_messages()[0]["body"], ACCENTED)

    def test_express_message_charged_for_the_text_as_it_leaves(self):
        wizard = self.env["cgsms.express.wizard"]
        self.assertTrue(wizard.express_info()["gsm7_safe"])
        summary = wizard.express_send("912 345 678", [], ACCENTED)
        self.assertEqual(summary["sent"], 1)
        self.assertAlmostEqual(summary["cost"], 1.44, places=4)
        self.assertEqual(self._gateway_messages()[0]["body"], to_gsm7(ACCENTED))

    def test_queued_sms_sharing_texts_each_leave_with_their_own_text_as_sent(self):
        # Odoo's own SMS (chatter, composer) reach the queue as typed: the text is prepared
        # when the engine claims them, once per distinct text of the chunk.
        other = "Olá, a encomenda 12 está pronta."
        numbers = [f"+35191234{i:04d}" for i in range(6)]
        bodies = [ACCENTED, other, ACCENTED, other, ACCENTED, "Hello"]
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                [
                    {"number": n, "body": b, "state": "outgoing"}
                    for n, b in zip(numbers, bodies, strict=True)
                ]
            )
        )
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        sent = {m["to"]: m["body"] for m in self._gateway_messages()}
        self.assertEqual(sent, {n: to_gsm7(b) for n, b in zip(numbers, bodies, strict=True)})
        lines = sms.cgsms_recipient_id.sorted(lambda line: numbers.index(line.number))
        self.assertEqual(lines.mapped("state"), ["sent"] * 6)
        self.assertEqual(
            lines.mapped("segments"), [count_segments(to_gsm7(b)).segments for b in bodies]
        )
        self.assertEqual(set(lines.mapped("encoding")), {"GSM-7"})

    def test_emoji_keeps_the_message_unicode(self):
        form = Form(self.env["cgsms.message"])
        form.body = "Olá Maria \U0001f600"
        self.assertEqual(form.encoding, "UCS-2")


@tagged("post_install", "-at_install")
class TestFormattedAmounts(CgsmsInvoiceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Only the formatting artefacts are at stake here, not the accented letters.
        cls.account.gsm7_safe = False
        cls.company.cgsms_invoice_post_sms = True

    def test_issued_invoice_sms_has_no_no_break_space(self):
        invoice = self._invoice(self.customer, self._today(), amount=49.90)
        formatted = format_amount(self.env, 49.90, invoice.currency_id)
        self.assertIn("\N{NO-BREAK SPACE}", formatted, "what Odoo's formatting gives")
        invoice._cgsms_send_posted_sms()
        body = self._gateway_messages()[0]["body"]
        self.assertIn(formatted.replace("\N{NO-BREAK SPACE}", " "), body)
        self.assertNotIn("\N{NO-BREAK SPACE}", body)
        recipient = self.env["cgsms.recipient"].search([("number", "=", "+351912345678")])
        self.assertEqual(recipient.encoding, "GSM-7")
        self.assertEqual(recipient.segments, count_segments(body).segments)

    def test_reminder_with_amount_is_plain_gsm7_text(self):
        invoice = self._invoice(self.customer, self._today() - timedelta(days=10), amount=1249.90)
        formatted = format_amount(self.env, invoice.amount_residual, invoice.currency_id)
        template = self.env.ref("cgsms.sms_template_invoice_reminder_detailed")
        action = invoice.action_cgsms_send_reminder()
        form = Form(self.env["cgsms.reminder.wizard"].with_context(**action["context"]))
        form.template_id = template
        wizard = form.save()
        self.assertNotIn("\N{NO-BREAK SPACE}", wizard.text_preview)
        self.assertIn("GSM-7", wizard.text_preview)
        self.assertEqual(wizard.segment_total, 1)
        wizard.action_send()
        body = self._gateway_messages()[0]["body"]
        self.assertIn(formatted.replace("\N{NO-BREAK SPACE}", " "), body)
        self.assertEqual(count_segments(body).encoding, "GSM-7")
