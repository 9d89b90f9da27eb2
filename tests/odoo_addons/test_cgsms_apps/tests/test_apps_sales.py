"""The point of sale's receipt and CgSMS's SMS on invoice posting, sent whoever takes the
payment or posts the invoice: the same cases as the other apps (``AppAutomationCases``)."""

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CUSTOMER_MOBILE, AppAutomationCases, AppsCase


@tagged("post_install", "-at_install")
class TestPosReceipt(AppAutomationCases, AppsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user(
            "apps_cashier", "base.group_user,point_of_sale.group_pos_user", cls.company
        )
        journal = cls.env["account.journal"].create(
            {"name": "Caixa POS", "type": "cash", "code": "CXPOS"}
        )
        cls.cash = cls.env["pos.payment.method"].create(
            {"name": "Dinheiro", "journal_id": journal.id}
        )
        cls.config = cls.env["pos.config"].create(
            {
                "name": "Loja",
                "payment_method_ids": [Command.set(cls.cash.ids)],
                "module_pos_sms": True,
                "sms_receipt_template_id": cls.env.ref(
                    "pos_sms.sms_template_data_point_of_sale"
                ).id,
            }
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Cafe", "type": "consu", "available_in_pos": True, "list_price": 1.0}
        )
        cls.config.with_user(cls.user).open_ui()
        cls.session = cls.config.current_session_id

    def _prepare(self):
        line = {
            "product_id": self.product.id,
            "qty": 1,
            "price_unit": 1.0,
            "price_subtotal": 1.0,
            "price_subtotal_incl": 1.0,
        }
        return (
            self.env["pos.order"]
            .with_user(self.user)
            .create(
                {
                    "session_id": self.session.id,
                    "partner_id": self.customer.id,
                    "lines": [Command.create(line)],
                    "amount_total": 1.0,
                    "amount_tax": 0.0,
                    "amount_paid": 0.0,
                    "amount_return": 0.0,
                }
            )
        )

    def _act(self, order):
        # What the POS screen does when the customer pays, then asks for the receipt by SMS.
        order = order.with_user(self.user)
        order.add_payment(
            {"pos_order_id": order.id, "amount": 1.0, "payment_method_id": self.cash.id}
        )
        order.action_pos_order_paid()
        order.action_sent_message_on_sms(CUSTOMER_MOBILE, None)

    def _assert_done(self, order):
        self.assertEqual(order.state, "paid")

    def test_cashier_cannot_change_the_receipt_sms(self):
        # Odoo lets a cashier edit the point of sale (and so pick another receipt template
        # among the existing ones), never write a template's text.
        with self.assertRaises(AccessError):
            self.config.sms_receipt_template_id.with_user(self.user).write({"body": "Mine"})
        with self.assertRaises(AccessError):
            self.env["sms.template"].with_user(self.user).create(
                {
                    "name": "Mine",
                    "model_id": self.env["ir.model"]._get_id("pos.order"),
                    "body": "Free text of my own",
                }
            )


@tagged("post_install", "-at_install")
class TestInvoicePosted(AppAutomationCases, AppsCase):
    """CgSMS's own automation beside the apps: the SMS when an invoice is posted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user(
            "apps_invoicer", "base.group_user,account.group_account_invoice", cls.company
        )
        cls.company.cgsms_invoice_post_sms = True

    def _prepare(self):
        return self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_line_ids": [
                    Command.create({"name": "Reparacao", "quantity": 1, "price_unit": 100.0})
                ],
            }
        )

    def _act(self, invoice):
        invoice.with_user(self.user).action_post()
        # The SMS leaves after the commit, in a cursor of its own (here: the test's).
        self._run_postcommit()

    def _assert_done(self, invoice):
        self.assertEqual(invoice.state, "posted")
