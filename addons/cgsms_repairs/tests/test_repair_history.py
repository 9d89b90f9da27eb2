from odoo.tests import TransactionCase, tagged

from .common import CgsmsRepairsMixin


@tagged("post_install", "-at_install")
class TestRepairHistory(CgsmsRepairsMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.phone = cls.env["product.product"].create(
            {"name": "Phone", "type": "consu", "is_storable": True, "tracking": "serial"}
        )
        cls.serial = cls.env["stock.lot"].create({"name": "SN-0001", "product_id": cls.phone.id})
        cls.other_serial = cls.env["stock.lot"].create(
            {"name": "SN-0002", "product_id": cls.phone.id}
        )

    def _add_message(self, repair, text, sms=False):
        repair.write({"cgsms_new_message": text, "cgsms_send_sms": sms})
        repair.action_cgsms_add_message()

    def test_history_lists_earlier_repairs_of_the_same_serial_with_message_counts(self):
        first = self._create_repair(product_id=self.phone.id, lot_id=self.serial.id)
        self._add_message(first, "Ecrã partido", sms=True)
        self._add_message(first, "Peça encomendada")
        self._create_repair(product_id=self.phone.id, lot_id=self.other_serial.id)
        second = self._create_repair(product_id=self.phone.id, lot_id=self.serial.id)
        self._add_message(second, "Bateria")

        self.assertEqual(second.cgsms_history_repair_ids, first)
        self.assertEqual(second.cgsms_history_count, 1)
        self.assertEqual(second.cgsms_history_repair_ids.cgsms_message_count, 2)
        self.assertFalse(first.cgsms_history_repair_ids, "a later repair is not its history")
        self.assertEqual(second.cgsms_message_count, 1)
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_history_shows_only_earlier_repairs_with_their_messages(self):
        first = self._create_repair(product_id=self.phone.id, lot_id=self.serial.id)
        self._add_message(first, "Ecrã partido")
        self._add_message(first, "Ecrã substituído")
        second = self._create_repair(product_id=self.phone.id, lot_id=self.serial.id)
        third = self._create_repair(product_id=self.phone.id, lot_id=self.serial.id)
        self.assertEqual(second.cgsms_history_repair_ids, first)
        self.assertEqual(third.cgsms_history_repair_ids, first | second)
        self.assertNotIn(third, second.cgsms_history_repair_ids)
        lines = first.cgsms_messages_text.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].endswith(": Ecrã substituído"), "newest first, with its date")
        self.assertTrue(lines[1].endswith(": Ecrã partido"))
        self.assertFalse(second.cgsms_messages_text)

    def test_history_without_serial_uses_the_product(self):
        first = self._create_repair()
        second = self._create_repair()
        self._create_repair(product_id=self.phone.id, lot_id=self.serial.id)
        self.assertEqual(second.cgsms_history_repair_ids, first)

    def test_history_repair_opens_in_a_form(self):
        first = self._create_repair()
        second = self._create_repair()
        action = second.cgsms_history_repair_ids.action_cgsms_open_repair()
        self.assertEqual((action["res_model"], action["res_id"]), ("repair.order", first.id))
        action = second.action_cgsms_open_history()
        self.assertEqual(self.env["repair.order"].search(action["domain"]), first)

    def test_messages_of_a_repair_are_listed_newest_first(self):
        repair = self._create_repair()
        self._add_message(repair, "Primeira")
        self._add_message(repair, "Segunda", sms=True)
        repair.invalidate_recordset(["cgsms_message_ids"])
        self.assertEqual(repair.cgsms_message_ids.mapped("body"), ["Segunda", "Primeira"])
        self.assertEqual(repair.cgsms_message_ids.mapped("is_sms"), [True, False])
