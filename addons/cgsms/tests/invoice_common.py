"""Invoices for the CgSMS accounting tests: Odoo's accounting test company, with an active
sandbox SMS account on the fake gateway."""

from datetime import timedelta

from odoo import Command
from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE

from ..models.account_move import _company_now
from .common import CgsmsGatewayMixin


class CgsmsInvoiceCase(CgsmsGatewayMixin, AccountTestInvoicingCommon):
    """AccountTestInvoicingCommon switches to its own company and user first; the gateway
    mixin then gives THAT company (``cls.company``) its SMS account and credits."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert cls.company == cls.company_data["company"]
        pt = cls.env.ref("base.pt")
        cls.customer = cls.env["res.partner"].create(
            {"name": "Maria Costa", MOBILE: "912 345 678", "country_id": pt.id}
        )
        cls.customer_2 = cls.env["res.partner"].create(
            {"name": "Joao Silva", MOBILE: "+351 931 234 567", "country_id": pt.id}
        )
        cls.customer_no_mobile = cls.env["res.partner"].create(
            {"name": "Sem Telemovel", "phone": "213 000 000", "country_id": pt.id}
        )

    @classmethod
    def _invoice(
        cls,
        partner,
        due,
        amount=100.0,
        post=True,
        move_type="out_invoice",
        currency=None,
        company=None,
    ):
        """A customer invoice due on ``due`` (a date), posted unless told otherwise."""
        company = company or cls.company
        move = (
            cls.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": partner.id,
                    "invoice_date": due - timedelta(days=30),
                    "invoice_date_due": due,
                    "currency_id": (currency or company.currency_id).id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Service",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        if post:
            move.action_post()
        return move

    @classmethod
    def _today(cls):
        return _company_now(cls.company).date()

    def _pay(self, invoice, amount):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"amount": amount, "payment_date": invoice.invoice_date})._create_payments()
