import contextlib

from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.tests import HttpCase, tagged

from .common import CgsmsRepairsMixin

CUSTOMER = "+351912345678"


@tagged("post_install", "-at_install")
class TestRepairRepliesTour(CgsmsRepairsMixin, HttpCase):
    """Two-way SMS in the browser: a repair SMS goes out, the customer answers through the
    fake gateway, the answer shows on the repair; a STOP answer takes the customer off the
    next campaign."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())

    def _customer_answers(self, text):
        self.env.flush_all()
        # the gateway posts from its own thread, without the test's cookie (19.0 asks)
        allow = getattr(self, "allow_requests", None)
        with allow(all_requests=True) if allow else contextlib.nullcontext():
            answer = self.gateway.reply("sandbox", CUSTOMER, text, url=self.account.inbound_url)
        self.assertEqual(answer["codes"], [200])
        self.env.invalidate_all()

    def test_customer_answer_shows_on_the_repair_and_stop_skips_the_next_campaign(self):
        repair = self._create_repair()
        url = f"/odoo/action-repair.action_repair_order_tree/{repair.id}"
        self.start_tour(url, "cgsms_repair_tour", login="admin")
        self.assertEqual([m["to"] for m in self._gateway_messages()], [CUSTOMER])

        self._customer_answers("Obrigado, vou buscar amanhã")
        reply = self.env["cgsms.reply"].search([("number", "=", CUSTOMER)])
        self.assertEqual((reply.res_model, reply.res_id), ("repair.order", repair.id))
        self.start_tour(url, "cgsms_repair_reply_tour", login="admin")

        self._customer_answers("STOP")
        self.assertTrue(self.env["phone.blacklist"].search([("number", "=", CUSTOMER)]))
        self.start_tour(
            "/odoo/action-cgsms.cgsms_reply_action", "cgsms_replies_list_tour", login="admin"
        )

        other = self.env["res.partner"].create({"name": "Jorge Lima", MOBILE: "+351912000333"})
        group = self.env["cgsms.group"].create(
            {"name": "Clientes", "partner_ids": [(6, 0, (repair.partner_id | other).ids)]}
        )
        campaign = self.env["cgsms.message"].create(
            {"body": "Promoção de inverno", "group_ids": [(6, 0, group.ids)]}
        )
        self.start_tour(
            f"/odoo/action-cgsms.cgsms_message_action/{campaign.id}",
            "cgsms_campaign_skips_opt_out_tour",
            login="admin",
        )
        sent_to = [m["to"] for m in self._gateway_messages()]
        self.assertIn("+351912000333", sent_to)
        self.assertEqual(sent_to.count(CUSTOMER), 1, "only the repair SMS, before the STOP")
        skipped = campaign.recipient_ids.filtered(lambda r: r.number == CUSTOMER)
        self.assertEqual(skipped.error_class, "blacklisted")
