from odoo.tests import HttpCase, tagged

from ..tools.transliterate import to_gsm7
from .common import CgsmsGatewayMixin

# Kept in sync with static/tests/tours/cgsms_express_tour.js.
TOUR_TEXT = (
    "Estimado cliente, a sua reparação está concluída. Pode levantar o equipamento "
    "na loja a partir de amanhã."
)


@tagged("post_install", "-at_install")
class TestExpressTour(CgsmsGatewayMixin, HttpCase):
    def test_express_message_from_systray(self):
        self.start_tour(
            "/odoo/action-cgsms.cgsms_message_action", "cgsms_express_tour", login="admin"
        )
        messages = self._gateway_messages()
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages[0]["to"], "+351912345678")
        self.assertEqual(messages[0]["body"], to_gsm7(TOUR_TEXT))
        recipient = self.env["cgsms.recipient"].search([("number", "=", "+351912345678")])
        self.assertEqual(recipient.encoding, "GSM-7")
        self.assertEqual(recipient.segments, 1)
