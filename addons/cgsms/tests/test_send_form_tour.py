from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.tests import HttpCase, tagged

from .common import CgsmsGatewayMixin


@tagged("post_install", "-at_install")
class TestSendFormTour(CgsmsGatewayMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())
        Partner = cls.env["res.partner"]
        cls.customer = Partner.create({"name": "Tour Customer", MOBILE: "912 000 555"})
        cls.member = Partner.create({"name": "Tour Member", MOBILE: "912 000 666"})
        cls.env["cgsms.group"].create(
            {"name": "Tour group", "partner_ids": [(6, 0, (cls.customer | cls.member).ids)]}
        )

    def test_send_form_to_group_customer_and_free_number(self):
        self.start_tour("/odoo", "cgsms_send_form_tour", login="admin")
        sent = sorted(m["to"] for m in self._gateway_messages())
        self.assertEqual(sent, ["+351912000555", "+351912000666", "+351912000777"])
        message = self.env["cgsms.message"].search([("name", "=", "Tour promotion")])
        self.assertEqual(message.state, "done")
        lines = message.recipient_ids
        self.assertEqual(len(lines.filtered(lambda r: r.state == "sent")), 3)
        # The customer picked again through the group is merged, not reported as a duplicate.
        self.assertFalse(lines.filtered(lambda r: r.state == "cancelled"))
        self.assertTrue(all(m["body"] == "Hello from the tour" for m in self._gateway_messages()))
