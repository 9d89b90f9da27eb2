from datetime import timedelta

from odoo.addons.cgsms.compat import ODOO_19
from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from ..tools.transliterate import to_gsm7
from .invoice_common import CgsmsInvoiceCase

REMINDER_EN = (
    "Dear Customer, you have invoice(s) with overdue payments. Please settle the situation. "
    "Best regards"
)
REMINDER_PT = (
    "Estimado Cliente, tem fatura(s) com pagamentos em atraso. Por favor, normalize a "
    "situação. Cumprimentos"
)


@tagged("post_install", "-at_install")
class TestInvoiceReminders(CgsmsInvoiceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = cls._today()
        cls.past = cls.today - timedelta(days=10)

    def _overdue(self):
        return self.env["account.move"].search([("cgsms_is_overdue", "=", True)])

    def _wizard(self, moves, **values):
        action = moves.action_cgsms_send_reminder()
        form = Form(self.env["cgsms.reminder.wizard"].with_context(**action["context"]))
        for name, value in values.items():
            setattr(form, name, value)
        return form.save()

    # ------------------------------------------------------------------ selection

    def test_overdue_unpaid_invoice_listed_with_days_overdue(self):
        invoice = self._invoice(self.customer, self.past)
        self.assertIn(invoice, self._overdue())
        self.assertTrue(invoice.cgsms_is_overdue)
        self.assertEqual(invoice.cgsms_days_overdue, 10)

    if ODOO_19:  # the "No Follow-Up" flag of invoices exists from 19.0 on

        def test_no_follow_up_invoice_excluded(self):
            invoice = self._invoice(self.customer, self.past)
            invoice.no_followup = True
            self.assertNotIn(invoice, self._overdue())
            self.assertFalse(invoice.cgsms_is_overdue)
            with self.assertRaisesRegex(UserError, "overdue"):
                invoice.action_cgsms_send_reminder()

    def test_partially_paid_invoice_listed_with_its_residual(self):
        invoice = self._invoice(self.customer, self.past, amount=100.0)
        self._pay(invoice, 40.0)
        self.assertEqual(invoice.payment_state, "partial")
        self.assertIn(invoice, self._overdue())
        self.assertAlmostEqual(invoice.amount_residual, 60.0)

    def test_fully_paid_invoice_excluded(self):
        invoice = self._invoice(self.customer, self.past, amount=100.0)
        self._pay(invoice, 100.0)
        self.assertNotIn(invoice, self._overdue())
        self.assertFalse(invoice.cgsms_is_overdue)

    def test_credit_note_excluded(self):
        refund = self._invoice(self.customer, self.past, move_type="out_refund")
        self.assertNotIn(refund, self._overdue())

    def test_draft_invoice_excluded(self):
        draft = self._invoice(self.customer, self.past, post=False)
        self.assertNotIn(draft, self._overdue())

    def test_invoice_not_yet_due_excluded(self):
        future = self._invoice(self.customer, self.today + timedelta(days=5))
        due_today = self._invoice(self.customer, self.today)
        overdue = self._overdue()
        self.assertNotIn(future, overdue)
        self.assertNotIn(due_today, overdue)

    def test_other_company_invoice_excluded(self):
        other = self.setup_other_company()["company"]
        foreign = self._invoice(self.customer, self.past, company=other)
        mine = self._invoice(self.customer, self.past)
        # The company switcher of the web client sets the current companies.
        moves = self.env["account.move"].with_context(allowed_company_ids=self.company.ids)
        overdue = moves.search([("cgsms_is_overdue", "=", True)])
        self.assertIn(mine, overdue)
        self.assertNotIn(foreign, overdue)

    def test_foreign_currency_invoice_shows_both_residuals(self):
        currency = self.setup_other_currency("HRK", rates=[("2000-01-01", 2.0)])
        invoice = self._invoice(self.customer, self.past, amount=300.0, currency=currency)
        self.assertIn(invoice, self._overdue())
        self.assertAlmostEqual(invoice.amount_residual, 300.0)
        self.assertAlmostEqual(invoice.amount_residual_signed, 150.0)

    def test_days_overdue_searchable(self):
        old = self._invoice(self.customer, self.today - timedelta(days=40))
        recent = self._invoice(self.customer, self.today - timedelta(days=5))
        found = self.env["account.move"].search([("cgsms_days_overdue", ">", 30)])
        self.assertIn(old, found)
        self.assertNotIn(recent, found)

    # ------------------------------------------------------------------ template

    def test_default_template_text_in_english_and_portuguese(self):
        template = self.env.ref("cgsms.sms_template_invoice_reminder")
        self.assertEqual(template.with_context(lang="en_US").body, REMINDER_EN)
        self.env["res.lang"]._activate_lang("pt_PT")
        self.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        self.assertEqual(template.with_context(lang="pt_PT").body, REMINDER_PT)

    def test_portuguese_customer_receives_portuguese_reminder(self):
        self.env["res.lang"]._activate_lang("pt_PT")
        self.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        self.customer.lang = "pt_PT"
        invoice = self._invoice(self.customer, self.past)
        self._wizard(invoice).action_send()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["body"], to_gsm7(REMINDER_PT), "accented letters replaced")

    # ------------------------------------------------------------------ wizard

    def test_three_invoices_of_one_customer_get_one_sms_and_three_logs(self):
        invoices = (
            self._invoice(self.customer, self.past)
            | self._invoice(self.customer, self.past - timedelta(days=3))
            | self._invoice(self.customer, self.past + timedelta(days=2))
        )
        wizard = self._wizard(invoices)
        self.assertEqual(wizard.sms_count, 1)
        wizard.action_send()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["to"], "+351912345678")
        self.assertEqual(sent[0]["body"], REMINDER_EN)
        for invoice in invoices:
            self.assertEqual(invoice.cgsms_reminder_count, 1)
            self.assertEqual(invoice.cgsms_last_reminder_date, self.today)
            self.assertTrue(
                invoice.message_ids.filtered(
                    lambda m: m.message_type == "sms" or "SMS payment reminder" in (m.body or "")
                ),
                "every invoice concerned tells about the reminder in its chatter",
            )
        logs = self.env["cgsms.reminder.log"].search([("move_id", "in", invoices.ids)])
        self.assertEqual(len(logs), 3)
        self.assertEqual(set(logs.mapped("state")), {"sent"})
        self.assertEqual(len(logs.recipient_id), 1)
        self.assertEqual(logs.recipient_id.state, "sent")

    def test_sms_posted_on_oldest_invoice(self):
        oldest = self._invoice(self.customer, self.past - timedelta(days=5))
        newest = self._invoice(self.customer, self.past)
        self._wizard(newest | oldest).action_send()
        self.assertTrue(oldest.message_ids.filtered(lambda m: m.message_type == "sms"))
        self.assertFalse(newest.message_ids.filtered(lambda m: m.message_type == "sms"))

    def test_two_customers_get_one_sms_each(self):
        invoices = (
            self._invoice(self.customer, self.past)
            | self._invoice(self.customer, self.past)
            | self._invoice(self.customer_2, self.past)
        )
        self._wizard(invoices).action_send()
        self.assertEqual(
            sorted(m["to"] for m in self._gateway_messages()), ["+351912345678", "+351931234567"]
        )

    def test_invoice_contact_mobile_preferred_over_company(self):
        contact = self.env["res.partner"].create(
            {
                "name": "Ana (accounts)",
                "parent_id": self.customer.id,
                MOBILE: "965 111 222",
                "type": "invoice",
            }
        )
        invoice = self._invoice(contact, self.past)
        self._wizard(invoice).action_send()
        self.assertEqual(self._gateway_messages()[0]["to"], "+351965111222")

    def test_customer_without_mobile_reported_and_others_sent(self):
        invoices = self._invoice(self.customer, self.past) | self._invoice(
            self.customer_no_mobile, self.past
        )
        wizard = self._wizard(invoices)
        self.assertEqual(wizard.skipped_move_ids.partner_id, self.customer_no_mobile)
        action = wizard.action_send()
        self.assertEqual(len(self._gateway_messages()), 1)
        self.assertIn("Sem Telemovel", action["params"]["message"])
        self.assertEqual(action["params"]["type"], "warning")
        skipped = invoices.filtered(lambda m: m.partner_id == self.customer_no_mobile)
        self.assertEqual(skipped.cgsms_reminder_count, 0)

    def test_only_customers_without_mobile_raises_clear_error(self):
        invoice = self._invoice(self.customer_no_mobile, self.past)
        wizard = self._wizard(invoice)
        with self.assertRaisesRegex(UserError, "no valid mobile number"):
            wizard.action_send()
        self.assertFalse(self._gateway_messages())

    def test_no_active_account_raises_clear_error(self):
        invoice = self._invoice(self.customer, self.past)
        wizard = self._wizard(invoice)
        self.account.active = False
        with self.assertRaisesRegex(UserError, "no active SMS account"):
            wizard.action_send()
        self.assertFalse(self._gateway_messages())

    def test_not_enough_credits_raises_before_sending(self):
        self.env["cgsms.credit.line"].create(
            {
                "account_id": self.account.id,
                "kind": "adjustment",
                "amount": -self.account.credit_available + 0.5,
            }
        )
        invoice = self._invoice(self.customer, self.past)
        wizard = self._wizard(invoice)
        with self.assertRaisesRegex(UserError, "Not enough SMS credits"):
            wizard.action_send()
        self.assertFalse(self._gateway_messages())
        self.assertEqual(invoice.cgsms_reminder_count, 0)

    def test_same_day_second_reminder_warns_and_needs_confirmation(self):
        invoice = self._invoice(self.customer, self.past)
        self._wizard(invoice).action_send()
        self.gateway.reset()
        wizard = self._wizard(invoice)
        self.assertEqual(wizard.reminded_today_ids, invoice, "the wizard warns")
        self.assertEqual(wizard.sms_count, 0)
        with self.assertRaisesRegex(UserError, "already received an SMS reminder today"):
            wizard.action_send()
        self.assertFalse(self._gateway_messages())
        self.assertEqual(invoice.cgsms_reminder_count, 1)

    def test_same_day_second_reminder_sent_when_confirmed(self):
        invoice = self._invoice(self.customer, self.past)
        self._wizard(invoice).action_send()
        self.gateway.reset()
        self._wizard(invoice, remind_again=True).action_send()
        self.assertEqual(len(self._gateway_messages()), 1)
        self.assertEqual(invoice.cgsms_reminder_count, 2)

    def test_already_reminded_invoice_left_out_of_a_mixed_selection(self):
        reminded = self._invoice(self.customer, self.past)
        self._wizard(reminded).action_send()
        self.gateway.reset()
        fresh = self._invoice(self.customer_2, self.past)
        self._wizard(reminded | fresh).action_send()
        sent = self._gateway_messages()
        self.assertEqual([m["to"] for m in sent], ["+351931234567"])
        self.assertEqual(reminded.cgsms_reminder_count, 1)

    def test_edited_text_with_placeholders_rendered_per_customer(self):
        invoice = self._invoice(self.customer, self.past, amount=250.0)
        self._wizard(invoice, body="Invoice {{ object.name }} is overdue.").action_send()
        self.assertEqual(self._gateway_messages()[0]["body"], f"Invoice {invoice.name} is overdue.")

    def test_detailed_template_has_number_and_residual(self):
        invoice = self._invoice(self.customer, self.past, amount=250.0)
        template = self.env.ref("cgsms.sms_template_invoice_reminder_detailed")
        self._wizard(invoice, template_id=template).action_send()
        body = self._gateway_messages()[0]["body"]
        self.assertIn(invoice.name, body)
        self.assertIn("250.00", body)

    def test_send_button_refuses_invoice_not_overdue(self):
        invoice = self._invoice(self.customer, self.today + timedelta(days=3))
        with self.assertRaises(UserError):
            invoice.action_cgsms_send_reminder()

    def test_billing_user_with_sms_rights_sends_reminder(self):
        user = new_test_user(
            self.env,
            login="billing_sms",
            groups="account.group_account_invoice,cgsms.group_cgsms_user",
            company_id=self.company.id,
            company_ids=self.company.ids,
        )
        invoice = self._invoice(self.customer, self.past)
        action = invoice.with_user(user).action_cgsms_send_reminder()
        wizard_model = self.env["cgsms.reminder.wizard"].with_user(user)
        Form(wizard_model.with_context(**action["context"])).save().action_send()
        self.assertEqual(len(self._gateway_messages()), 1)
        self.assertEqual(invoice.cgsms_reminder_count, 1)

    def test_overdue_menu_lists_invoices_grouped_by_customer(self):
        self._invoice(self.customer, self.past)
        self._invoice(self.customer, self.past)
        self._invoice(self.customer_2, self.past)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cgsms.account_move_action_cgsms_overdue"
        )
        self.assertEqual(self.env.ref("cgsms.cgsms_menu_invoice_reminders").action.id, action["id"])
        list_view = self.env.ref("cgsms.account_move_view_list_cgsms_overdue")
        views = self.env["account.move"].get_views([(list_view.id, "list")])
        fields_in_list = set(views["models"]["account.move"]["fields"])
        self.assertTrue({"cgsms_days_overdue", "cgsms_reminder_count"} <= fields_in_list)
        groups = self.env["account.move"]._read_group(
            safe_eval(action["domain"]), ["commercial_partner_id"], ["__count"]
        )
        counts = {partner.id: count for partner, count in groups}
        self.assertEqual(counts, {self.customer.id: 2, self.customer_2.id: 1})
