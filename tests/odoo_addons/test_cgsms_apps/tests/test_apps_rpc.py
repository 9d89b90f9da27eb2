"""Over JSON-RPC, as the web client calls the server, a user who may trigger the apps'
automations but is outside the SMS group cannot use them to send a text of their own."""

from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .common import AppsMixin

REFUSALS = ("odoo.http", "odoo.addons.base.models.ir_model", "odoo.addons.base.models.ir_rule")
FREE_TEXT = "Free text of my own"


@tagged("post_install", "-at_install")
class TestAppsOverRpc(AppsMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "base.group_user,stock.group_stock_user,point_of_sale.group_pos_user"
        cls.user = cls._cgsms_user("apps_rpc_user", groups, cls.company)

    def _rpc(self, model, method, *args, **kwargs):
        self.authenticate(self.user.login, self.user.login)
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _refused(self, model, method, *args, **kwargs):
        with self.assertRaises(JsonRpcException), mute_logger(*REFUSALS):
            self._rpc(model, method, *args, **kwargs)

    def test_the_apps_private_shortcuts_cannot_be_called(self):
        for method in ("_message_sms_with_template", "_message_sms_schedule_mass", "_message_sms"):
            self._refused("res.partner", method, [self.customer.id], body=FREE_TEXT)
        self.assertFalse(self.gateway.messages)

    def test_odoo_composer_refuses_a_user_outside_the_sms_group(self):
        composer_id = self._rpc(
            "sms.composer",
            "create",
            {"composition_mode": "numbers", "numbers": "912000111", "body": FREE_TEXT},
        )
        self._refused("sms.composer", "action_send_sms", [composer_id])
        self.assertFalse(self.gateway.messages)

    def test_posting_an_sms_message_sends_no_free_text(self):
        try:
            with mute_logger(*REFUSALS):
                self._rpc(
                    "res.partner",
                    "message_post",
                    [self.customer.id],
                    body=FREE_TEXT,
                    message_type="sms",
                    partner_ids=self.customer.ids,
                )
        except JsonRpcException:
            pass  # refused: as good
        self.assertFalse([m for m in self.gateway.messages if FREE_TEXT in m["body"]])
        self.assertFalse(self.env["sms.sms"].sudo().search([("body", "ilike", FREE_TEXT)]))

    def test_the_pos_receipt_takes_a_number_never_a_text(self):
        self._refused(
            "pos.order", "action_sent_message_on_sms", [], "912000111", None, body=FREE_TEXT
        )
        self.assertFalse(self.gateway.messages)
