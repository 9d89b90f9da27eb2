from odoo import Command
from odoo.tests import tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestUpgradeDestinations(CgsmsCase):
    """An account of a release without destinations (any country, flat price) gets its
    company's country plus the countries it really sent to when it is upgraded (1.1.0)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls._cgsms_user(
            "upgrade_sms_manager", "base.group_user,cgsms.group_cgsms_manager", cls.company
        )

    def _send(self, numbers):
        self.env["sms.sms"].sudo().create(
            [{"number": number, "body": "Olá", "state": "outgoing"} for number in numbers]
        )
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)

    def test_account_without_destinations_gets_its_country_and_those_it_sent_to(self):
        self.account.allowed_country_ids = [Command.clear()]  # as a release before the policy
        self._send(["+447400123456", "+34612345678"])
        self.assertEqual(len(self._gateway_messages()), 2, "it sent to any country")
        notes = self.account.message_ids
        self.env["cgsms.account"]._cgsms_upgrade_destinations()
        self.assertEqual(
            sorted(self.account.allowed_country_ids.mapped("code")), ["ES", "GB", "PT"]
        )
        note = self.account.message_ids - notes
        self.assertEqual(len(note), 1)
        self.assertIn(self.manager.partner_id, note.partner_ids, "the SMS managers are told")
        self.assertIn("no destinations", note.body)
        # again: nothing changes, nobody is told twice
        self.env["cgsms.account"]._cgsms_upgrade_destinations()
        self.assertEqual(self.account.message_ids - notes, note)
        # and the policy now applies: a country it never sent to is refused
        self.gateway.reset()
        self._send(["+33612345678"])
        self.assertEqual(self._gateway_messages(), [])

    def test_account_with_destinations_is_left_as_it_is(self):
        chosen = self.env.ref("base.pt") | self.env.ref("base.fr")
        self.account.allowed_country_ids = [Command.set(chosen.ids)]
        self.env["cgsms.account"]._cgsms_upgrade_destinations()
        self.assertEqual(self.account.allowed_country_ids, chosen)
