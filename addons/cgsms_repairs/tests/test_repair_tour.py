from odoo.tests import HttpCase, tagged

from .common import CgsmsRepairsMixin


@tagged("post_install", "-at_install")
class TestRepairTour(CgsmsRepairsMixin, HttpCase):
    def test_repair_message_sent_by_sms_from_the_form(self):
        repair = self._create_repair()
        self.start_tour(
            f"/odoo/action-repair.action_repair_order_tree/{repair.id}",
            "cgsms_repair_tour",
            login="admin",
        )
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        # The account replaces accented letters (its default): the text as it left.
        self.assertEqual(sent[0]["body"], "O seu portatil esta pronto.")
        self.assertEqual(sent[0]["to"], "+351912345678")
        # the repair keeps what was typed; the SMS history keeps what left
        self.assertEqual(repair.cgsms_message_ids.body, "O seu portátil está pronto.")
        self.assertEqual(repair.cgsms_message_ids.sms_body, "O seu portatil esta pronto.")
