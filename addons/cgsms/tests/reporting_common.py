"""SMS history of two companies for the reporting tests: several states, accounts and
countries, recorded the way the delivery engine records them."""

from datetime import timedelta
from uuid import uuid4

from odoo import fields

from .common import CgsmsGatewayMixin


class CgsmsReportingMixin(CgsmsGatewayMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pt = cls.env.ref("base.pt")
        # companies of their own: the figures of the database's company include its demo
        cls.company_a = cls.env["res.company"].create({"name": "Loja A", "country_id": pt.id})
        cls.account_a = cls._cgsms_make_account(cls.company_a, name="Account A")
        cls.account_a2 = cls._cgsms_make_account(cls.company_a, name="Second account A")
        cls.company_b = cls.env["res.company"].create({"name": "Loja B", "country_id": pt.id})
        cls.account_b = cls._cgsms_make_account(cls.company_b, name="Account B")
        cls.now = fields.Datetime.now()
        cls.last_month = cls.now - timedelta(days=35)
        # company A, main account, this month: 4 to Portugal (3 delivered, 1 not delivered),
        # 1 to Spain still waiting for its report, 2 refused before leaving
        cls.history_a = cls._history(
            cls.account_a,
            [
                ("+351912000001", "delivered", 1, 1.44, cls.now),
                ("+351912000002", "delivered", 2, 2.88, cls.now),
                ("+351912000003", "delivered", 1, 1.44, cls.now),
                ("+351912000004", "failed", 1, 1.44, cls.now, "undelivered"),
                ("+34612000005", "sent", 3, 6.0, cls.now),
                ("+351912000006", "failed", 0, 0.0, cls.now, "invalid_number"),
                ("+351912000007", "failed", 0, 0.0, cls.now, "insufficient_credit"),
            ],
        )
        # company A, second account, last month: 1 delivered of 1
        cls.history_a |= cls._history(
            cls.account_a2, [("+351935000008", "delivered", 1, 1.5, cls.last_month)]
        )
        # company B: 2 SMS, none delivered
        cls.history_b = cls._history(
            cls.account_b,
            [
                ("+351961000009", "sent", 5, 7.2, cls.now),
                ("+351961000010", "failed", 1, 1.44, cls.now, "undelivered"),
            ],
        )

    @classmethod
    def _history(cls, account, rows):
        """History lines of ``account``: ``(number, state, segments, credits, date[,
        failure])``."""
        return (
            cls.env["cgsms.recipient"]
            .sudo()
            .create(
                [
                    {
                        "company_id": account.company_id.id,
                        "account_id": account.id,
                        "number": number,
                        "body": "Promoção",
                        "state": state,
                        "segments": segments,
                        "cost": cost,
                        "date_sent": date if segments else False,
                        "error_class": failure[0] if failure else False,
                        "sms_uuid": uuid4().hex,
                    }
                    for number, state, segments, cost, date, *failure in rows
                ]
            )
        )
