from uuid import uuid4

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import CgsmsGatewayMixin


@tagged("post_install", "-at_install")
class TestReportingTour(CgsmsGatewayMixin, HttpCase):
    """Each report opens in the browser, in English and in Portuguese, with its figures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"].search([("name", "=", "cgsms")])._update_translations(
            "pt_PT", overwrite=True
        )
        cls.account.name = "Reporting tour"
        # 1000 credits bought, 100 spent today: 900 left at 100 every 30 days
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.account.id, "kind": "debit", "amount": -100.0}
        )
        lines = (
            cls.env["cgsms.recipient"]
            .sudo()
            .create(
                [
                    {
                        "company_id": cls.company.id,
                        "account_id": cls.account.id,
                        "number": f"+35191200000{index}",
                        "state": state,
                        "segments": 1,
                        "cost": 1.44,
                        "date_sent": fields.Datetime.now(),
                        "sms_uuid": uuid4().hex,
                    }
                    for index, state in enumerate(("delivered", "delivered", "sent", "failed"))
                ]
            )
        )
        cls.env["cgsms.reply"].sudo().create(
            {
                "number": lines[0].number,
                "account_id": cls.account.id,
                "company_id": cls.company.id,
                "provider_message_id": "tour-reply-1",
                "body": "STOP",
                "keyword": "stop",
                "recipient_id": lines[0].id,
                "is_matched": True,
            }
        )

    def _tour(self, lang):
        self.env.ref("base.user_admin").lang = lang
        self.start_tour(
            "/odoo/action-cgsms.cgsms_report_sms_action",
            f"cgsms_reporting_tour_{lang}",
            login="admin",
        )

    def test_reports_open_in_english(self):
        self._tour("en_US")

    def test_reports_open_in_portuguese(self):
        self._tour("pt_PT")
