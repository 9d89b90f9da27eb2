"""Several accounts per company: routing by destination, failover that never double-sends,
accounts out of rotation and back."""

from collections import Counter
from datetime import timedelta

from odoo import fields
from odoo.tests import Form, tagged

from .common import CgsmsCase

DOWN = "http://127.0.0.1:9"  # nothing listens there: connection refused


@tagged("post_install", "-at_install")
class TestFailover(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.write({"sequence": 1, "name": "Primary"})
        cls.second = cls._cgsms_make_account(
            cls.company, provider="lusosms", sequence=2, name="Second"
        )
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.second.id, "kind": "topup", "amount": 1000, "reference": "Pack"}
        )
        uk = cls.env.ref("base.uk")
        (cls.account | cls.second).write({"allowed_country_ids": [fields.Command.link(uk.id)]})

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("cgsms.reconcile_delay", "0")

    def _queue(self, numbers):
        return (
            self.env["sms.sms"]
            .sudo()
            .create([{"number": n, "body": "Hello", "state": "outgoing"} for n in numbers])
        )

    def _balance(self, account):
        account.invalidate_recordset(["credit_available"])
        return account.credit_available

    def _providers(self):
        return sorted((m["to"], m["provider"]) for m in self._gateway_messages())

    def test_company_keeps_two_active_accounts_and_the_lowest_sequence_is_primary(self):
        self.assertTrue(self.account.active and self.second.active)
        self.assertEqual(self.company.cgsms_account_id, self.account)
        self.second.sequence = 0
        self.company.invalidate_recordset(["cgsms_account_id"])
        self.assertEqual(self.company.cgsms_account_id, self.second)

    def test_prefixes_send_each_destination_through_its_account(self):
        self.account.route_prefixes = "+44"
        self.second.route_prefixes = "+351"
        sms = self._queue(["+447400123456", "+351912345678"])
        self._run_sms_queue()
        self.assertEqual(
            self._providers(), [("+351912345678", "lusosms"), ("+447400123456", "sandbox")]
        )
        lines = sms.cgsms_recipient_id
        self.assertEqual(lines.mapped("account_id"), self.account | self.second)

    def test_longest_prefix_wins_over_sequence(self):
        self.account.route_prefixes = "+3"
        self.second.route_prefixes = "+351"
        self._queue(["+351912345678"])
        self._run_sms_queue()
        self.assertEqual(self._providers(), [("+351912345678", "lusosms")])

    def test_destination_refused_by_the_primary_policy_goes_through_the_other(self):
        self.account.allowed_country_ids = self.env.ref("base.pt")
        self._queue(["+447400123456"])
        self._run_sms_queue()
        self.assertEqual(self._providers(), [("+447400123456", "lusosms")])

    def test_refused_connection_moves_each_sms_once_and_keeps_primary_credits(self):
        self.account.base_url = DOWN
        before = self._balance(self.account), self._balance(self.second)
        numbers = [f"+35191200{i:04d}" for i in range(6)]
        sms = self._queue(numbers)
        self._run_sms_queue()
        self.assertEqual(self._providers(), [(n, "lusosms") for n in numbers])
        lines = sms.cgsms_recipient_id
        self.assertEqual(set(lines.mapped("state")), {"sent"})
        self.assertEqual(lines.mapped("account_id"), self.second)
        self.assertAlmostEqual(self._balance(self.account), before[0], places=4)
        self.assertAlmostEqual(self._balance(self.second), before[1] - 6 * 1.44, places=4)

    def test_lost_answer_is_looked_up_at_the_first_provider_not_resent_elsewhere(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("cgsms.reconcile_delay", "3600")
        self.gateway.fail_next("sandbox", "drop_after")
        sms = self._queue(["+351912000001"])
        self._run_sms_queue()
        line = sms.cgsms_recipient_id
        self.assertEqual(line.state, "checking")
        self.assertEqual(line.account_id, self.account)
        self._run_sms_queue()  # the next run does not hand it to the other account
        self.assertEqual(line.state, "checking")
        params.set_param("cgsms.reconcile_delay", "0")
        self.env["sms.sms"]._cgsms_reconcile(self.account)
        self.assertEqual(line.state, "sent")
        self.assertEqual(self._providers(), [("+351912000001", "sandbox")])

    def test_errors_over_threshold_take_the_account_out_then_back(self):
        manager = self._cgsms_user(
            "route_manager", "base.group_user,cgsms.group_cgsms_manager", self.company
        )
        self.account.write({"base_url": DOWN, "health_error_threshold": 2, "cgsms_in_flight": 1})
        self._queue([f"+35191300{i:04d}" for i in range(5)])
        self._run_sms_queue()
        self.assertEqual(self.account.rotation_state, "out")
        self.assertIn("errors", self.account.out_of_rotation_reason)
        self.assertEqual(len(self._gateway_messages()), 5)
        switch = self.account.message_ids.filtered(lambda m: "Out of rotation" in (m.body or ""))
        self.assertEqual(len(switch), 1)
        self.assertIn(manager.partner_id, switch.notified_partner_ids)
        # While it is out, new SMS go straight to the other account.
        self.gateway.reset()
        self.account.base_url = self.gateway.url
        self._queue(["+351913009999"])
        self._run_sms_queue()
        self.assertEqual(self._providers(), [("+351913009999", "lusosms")])
        # The pause is over: the primary is tried again and takes the traffic back.
        self.gateway.reset()
        self.account.out_of_rotation_until = fields.Datetime.now() - timedelta(seconds=1)
        self._queue(["+351913008888"])
        self._run_sms_queue()
        self.assertEqual(self._providers(), [("+351913008888", "sandbox")])
        self.assertEqual(self.account.rotation_state, "in")
        self.assertTrue(
            self.account.message_ids.filtered(lambda m: "Back in rotation" in (m.body or ""))
        )

    def test_single_account_company_is_never_taken_out_of_rotation(self):
        self.second.active = False
        self.account.write({"base_url": DOWN, "health_error_threshold": 1})
        sms = self._queue(["+351912000002", "+351912000003"])
        self._run_sms_queue()
        self.assertEqual(self.account.rotation_state, "in")
        self.assertEqual(set(sms.cgsms_recipient_id.mapped("state")), {"queued"})

    def test_sms_beyond_the_primary_credits_leave_through_the_second(self):
        self.env["cgsms.credit.line"].create(
            {
                "account_id": self.account.id,
                "kind": "adjustment",
                "amount": round(-self._balance(self.account) + 2 * 1.44, 4),
            }
        )
        numbers = [f"+35191400{i:04d}" for i in range(5)]
        sms = self._queue(numbers)
        self._run_sms_queue()
        self.assertEqual(len(self._gateway_messages()), 5)
        self.assertEqual(set(sms.cgsms_recipient_id.mapped("state")), {"sent"})
        by_account = Counter(line.account_id.name for line in sms.cgsms_recipient_id)
        self.assertEqual(by_account, Counter({"Primary": 2, "Second": 3}))
        self.assertAlmostEqual(self._balance(self.account), 0.0, places=4)

    def test_refused_credentials_take_the_account_out_at_once(self):
        self.account.password = "wrong-token"
        sms = self._queue(["+351912000011", "+351912000012"])
        self._run_sms_queue()
        self.assertEqual(self._providers(), [(n, "lusosms") for n in sms.mapped("number")])
        self.assertEqual(self.account.rotation_state, "out")
        self.assertIn("credentials", self.account.out_of_rotation_reason)

    def test_mostly_slow_answers_take_the_account_out(self):
        self.gateway.latency = 0.2
        self.account.write({"health_slow_seconds": 0.1, "cgsms_in_flight": 10})
        self._queue([f"+35191500{i:04d}" for i in range(25)])
        self._run_sms_queue()
        self.gateway.latency = 0.0
        self.assertEqual(self.account.rotation_state, "out")
        self.assertIn("slower than", self.account.out_of_rotation_reason)

    def test_send_form_names_the_account_of_each_number(self):
        self.account.route_prefixes = "+44"
        form = Form(self.env["cgsms.message"])
        form.free_numbers = "+447400123456; +351912345678"
        form.body = "Hello"
        message = form.save()
        message.action_send()
        lines = {line.number: line.account_id for line in message.recipient_ids}
        self.assertEqual(lines, {"+447400123456": self.account, "+351912345678": self.second})
        self.assertEqual(message.state, "done")
