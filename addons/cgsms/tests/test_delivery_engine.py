"""The delivery engine inside Odoo: concurrent calls, ambiguous failures looked up at the
provider, the account that really sent an SMS, the person's "Check and resend"."""

from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestDeliveryEngine(CgsmsCase):
    def setUp(self):
        super().setUp()
        # Ambiguous sends are looked up at once in these tests (the gateway answers at once).
        self.env["ir.config_parameter"].sudo().set_param("cgsms.reconcile_delay", "0")

    def _queue(self, numbers, body="Hello"):
        return (
            self.env["sms.sms"]
            .sudo()
            .create([{"number": n, "body": body, "state": "outgoing"} for n in numbers])
        )

    def _balance(self):
        self.account.invalidate_recordset(["credit_available"])
        return self.account.credit_available

    def test_queue_sends_each_sms_once_with_its_provider_id(self):
        numbers = [f"+35191234{i:04d}" for i in range(45)]
        sms = self._queue(numbers)
        self.account.cgsms_in_flight = 8
        left = self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(left, 0)
        sent = self._gateway_messages()
        self.assertEqual(sorted(m["to"] for m in sent), numbers)
        lines = sms.cgsms_recipient_id
        self.assertEqual(set(lines.mapped("state")), {"sent"})
        by_ref = {m["ref"]: m["id"] for m in sent}
        for line in lines:
            self.assertEqual(line.provider_message_id, by_ref[line.sms_uuid])

    def _ledger_sum(self):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM cgsms_credit_line WHERE account_id = %s",
            [self.account.id],
        )
        return float(self.env.cr.fetchone()[0])

    def test_balance_stays_that_of_the_ledger_through_debits_refunds_and_folds(self):
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "topup", "amount": 50.0}
        )
        self._queue([f"+35191234{i:04d}" for i in range(6)])
        self.gateway.fail_next("sandbox", "invalid_number")  # refunded
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertAlmostEqual(self._balance(), self._ledger_sum(), places=4)
        self.account._credit_fold()
        self.assertAlmostEqual(self._balance(), self._ledger_sum(), places=4)
        self.env.cr.execute(
            "SELECT count(*) FROM cgsms_credit_delta WHERE account_id = %s", [self.account.id]
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0, "folded into the balance row")
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -2.5}
        )
        self.assertAlmostEqual(self._balance(), self._ledger_sum(), places=4)

    def test_chunk_larger_than_the_credits_sends_what_is_paid_for(self):
        self.env["cgsms.credit.line"].create(
            {
                "account_id": self.account.id,
                "kind": "adjustment",
                "amount": round(-self._balance() + 2 * self.account.cost_per_segment, 4),
            }
        )
        sms = self._queue([f"+35191234{i:04d}" for i in range(4)])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(len(self._gateway_messages()), 2)
        lines = sms.cgsms_recipient_id
        self.assertEqual(sorted(lines.mapped("state")), ["failed", "failed", "sent", "sent"])
        refused = lines.filtered(lambda line: line.state == "failed")
        self.assertEqual(set(refused.mapped("error_class")), {"insufficient_credit"})
        # Nothing was debited for them, so nothing can ever be refunded for them.
        self.assertEqual(refused.mapped("cost"), [0.0, 0.0])
        self.assertEqual(refused.mapped("attempts"), [0, 0])
        self.assertAlmostEqual(self._balance(), 0.0, places=4)
        self.assertAlmostEqual(self._ledger_sum(), 0.0, places=4)

    def test_answer_lost_after_the_provider_took_it_resolves_to_sent(self):
        before = self._balance()
        for mode in ("drop_after", "error_after"):
            self.gateway.fail_next("sandbox", mode)
        sms = self._queue(["+351912000001", "+351912000002"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        lines = sms.cgsms_recipient_id
        self.assertEqual(set(lines.mapped("state")), {"checking"})
        self.env["sms.sms"]._cgsms_reconcile(self.account)
        self.assertEqual(set(lines.mapped("state")), {"sent"})
        self.assertEqual(len(self._gateway_messages()), 2)  # one copy each, never resent
        by_ref = {m["ref"]: m["id"] for m in self._gateway_messages()}
        self.assertEqual(
            [by_ref[line.sms_uuid] for line in lines], lines.mapped("provider_message_id")
        )
        self.assertAlmostEqual(self._balance(), before - 2 * 1.44, places=4)

    def test_gateway_timeout_without_the_sms_is_sent_again_once(self):
        before = self._balance()
        self.gateway.timeout_delay = 0.2
        self.gateway.fail_next("sandbox", "timeout")  # 504 and the message was NOT taken
        sms = self._queue(["+351912000003"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(sms.cgsms_recipient_id.state, "checking")
        self.assertEqual(self._gateway_messages(), [])
        self.env["sms.sms"]._cgsms_reconcile(self.account)
        self.assertEqual(sms.cgsms_recipient_id.state, "queued")  # safe to send again
        self.assertEqual(sms.state, "outgoing")
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(sms.cgsms_recipient_id.state, "sent")
        self.assertEqual(len(self._gateway_messages()), 1)
        self.assertAlmostEqual(self._balance(), before - 1.44, places=4)

    def test_provider_that_cannot_be_asked_goes_to_a_person(self):
        self.gateway.timeout_delay = 0.2
        self.gateway.fail_next("sandbox", "timeout")  # 504, the message was not taken
        sms = self._queue(["+351912000004"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        line = sms.cgsms_recipient_id
        self.gateway.fail_next("sandbox", "server_error", count=100)  # lookups fail too
        for _i in range(5):
            self.env["sms.sms"]._cgsms_reconcile(self.account)
        self.assertEqual(line.state, "unknown")
        self.assertEqual(sms.state, "error")
        self.assertIn("Check and resend", line.failure_reason)
        # The provider answers again; the person checked with the recipient and resends.
        self.gateway.reset()
        line.action_cgsms_check_resend()
        self.assertEqual(line.state, "queued")
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(line.state, "sent")
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_check_and_resend_finds_an_sms_that_had_left(self):
        self.gateway.fail_next("sandbox", "drop_after")
        sms = self._queue(["+351912000005"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        line = sms.cgsms_recipient_id
        line.write({"state": "unknown"})
        line.action_cgsms_check_resend()
        self.assertEqual(line.state, "sent")
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_check_and_resend_is_for_managers_only(self):
        self.gateway.fail_next("sandbox", "drop_after")
        sms = self._queue(["+351912000006"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        line = sms.cgsms_recipient_id
        line.write({"state": "unknown"})
        user = new_test_user(
            self.env, "sms_user_engine", groups="base.group_user,cgsms.group_cgsms_user"
        )
        with self.assertRaises(AccessError):
            line.with_user(user).action_cgsms_check_resend()
        self.assertEqual(line.state, "unknown")

    def test_retried_sms_names_the_account_that_really_sent_it(self):
        sms = self._queue(["+351912000007"])
        self.account.base_url = "http://127.0.0.1:9"  # provider down: back to the queue
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        line = sms.cgsms_recipient_id
        self.assertEqual(line.state, "queued")
        self.account.active = False
        other = self._cgsms_make_account(self.company, provider="lusosms")
        self.env["cgsms.credit.line"].create(
            {"account_id": other.id, "kind": "topup", "amount": 100}
        )
        self.env["sms.sms"]._cgsms_process_account_queue(other)
        self.assertEqual(line.state, "sent")
        self.assertEqual(line.account_id, other)
        [message] = self._gateway_messages()
        self.assertEqual(message["provider"], "lusosms")
        # Its delivery report now matches the line.
        from ..providers import DeliveryReport

        self.env["cgsms.recipient"]._apply_delivery_reports(
            other, [DeliveryReport(message_id=message["id"], status="delivered")]
        )
        self.assertEqual(line.state, "delivered")

    def test_rate_limited_sms_are_sent_later_not_lost(self):
        self.gateway.rate_limit = 1000
        self.gateway.rate_burst = 3  # only the first 3 of a burst pass, the rest get 429
        self.account.write({"cgsms_in_flight": 10, "cgsms_rate_limit": 0})
        numbers = [f"+35191300{i:04d}" for i in range(10)]
        sms = self._queue(numbers)
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(set(sms.cgsms_recipient_id.mapped("state")), {"sent"})
        self.assertEqual(sorted(m["to"] for m in self._gateway_messages()), numbers)

    def test_invalid_numbers_in_a_chunk_do_not_stop_the_queue(self):
        self.account.cgsms_in_flight = 4
        invalid = [f"+3519{i:02d}" for i in range(10)]
        valid = ["+351912000010", "+351912000011"]
        sms = self._queue(invalid + valid)
        left = self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(left, 0)
        self.assertEqual(sorted(m["to"] for m in self._gateway_messages()), valid)
        states = sms.cgsms_recipient_id.mapped("state")
        self.assertEqual(states.count("failed"), len(invalid))
        self.assertEqual(states.count("sent"), len(valid))

    def test_queue_run_stops_at_its_time_budget_and_triggers_itself_again(self):
        sms = self._queue([f"+35191400{i:04d}" for i in range(6)])
        self.account.cgsms_in_flight = 2
        # A budget already spent: nothing is claimed, the cron is asked to run again.
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        with patch.object(type(self.env["sms.sms"]), "_cgsms_deadline", lambda self: 0.0):
            self.env["sms.sms"]._process_queue()
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})
        self.assertEqual(self._gateway_messages(), [])
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers
        )
        self.env["sms.sms"]._process_queue()
        self.assertEqual(len(self._gateway_messages()), 6)

    def test_results_are_saved_in_batches_of_half_the_calls_in_flight(self):
        # Paced at 100 SMS/s, the answers come back 10 ms apart: each save waits for the
        # others of its batch instead of committing every two or three.
        from odoo.addons.cgsms.engine import results

        self.account.write({"cgsms_in_flight": 20, "cgsms_rate_limit": 100})
        numbers = [f"+35191500{i:04d}" for i in range(20)]
        sms = self._queue(numbers)
        batches = []
        original = results.apply_results

        def apply_results(model, account, answers, *args, **kwargs):
            batches.append(len(answers))
            return original(model, account, answers, *args, **kwargs)

        with patch.object(results, "apply_results", apply_results):
            left = self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(left, 0)
        self.assertEqual(sorted(m["to"] for m in self._gateway_messages()), numbers)
        self.assertEqual(set(sms.cgsms_recipient_id.mapped("state")), {"sent"})
        self.assertEqual(sum(batches), 20)
        self.assertLessEqual(len(batches), 4, batches)

    def test_the_claim_hands_over_what_the_calls_need_as_a_read_would(self):
        from odoo.addons.cgsms.engine import dispatch

        self.account.gsm7_safe = True
        partner = self.env["res.partner"].create(
            {"name": "João", "country_id": self.env.ref("base.pt").id}
        )
        sms = self._queue(["912345678", "+351912345679"], body="Olá João, até já")
        sms[0].partner_id = partner
        stats = {}
        claimed = self.env["sms.sms"]._cgsms_claim_chunk(self.account, 10, stats)
        self.assertEqual(claimed, sms)
        known = dispatch.outgoing(claimed, stats["outgoing"])
        read = dispatch.outgoing(claimed)
        self.assertEqual(known, read)
        self.assertEqual([row[2] for row in known], ["+351912345678", "+351912345679"])
        # "é" is GSM-7 and stays; "á" and "ã" are not.
        self.assertEqual({row[3] for row in known}, {"Ola Joao, até ja"})
        self.assertEqual([row[4] for row in known], sms.cgsms_recipient_id.ids)

    def test_odoo_garbage_collection_keeps_the_sms_whose_provider_has_not_answered(self):
        sent = self._queue(["+351912000011"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(sent.cgsms_recipient_id.state, "sent")
        # Claimed, the provider not answered yet (or the worker killed before its answer).
        claimed = self._queue(["+351912000012"])
        self.assertEqual(self.env["sms.sms"]._cgsms_claim_chunk(self.account, 10), claimed)
        self.assertEqual(claimed.cgsms_recipient_id.state, "sending")
        self.assertEqual((claimed.state, claimed.to_delete), ("pending", True))
        # The answer was lost: looked up at the provider before anything else.
        self.gateway.fail_next("sandbox", "drop_after")
        checking = self._queue(["+351912000013"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(checking.cgsms_recipient_id.state, "checking")
        self.assertEqual((checking.state, checking.to_delete), ("process", False))
        self.env["sms.sms"]._gc_device()
        self.assertFalse(sent.exists())
        self.assertEqual(claimed.exists() + checking.exists(), claimed + checking)
        self.env["sms.sms"]._cgsms_reconcile(self.account)
        self.assertEqual(checking.cgsms_recipient_id.state, "sent")
        self.env["sms.sms"]._gc_device()
        self.assertFalse(checking.exists())

    def test_an_sms_that_did_not_leave_is_back_in_the_queue_and_sent_later(self):
        from odoo.addons.cgsms.engine import results
        from odoo.addons.cgsms.providers import SendResult

        sms = self._queue(["+351912000014"])
        self.assertEqual(self.env["sms.sms"]._cgsms_claim_chunk(self.account, 10), sms)
        unreachable = SendResult(
            ref=sms.uuid, ok=False, status="failed", error_class="temporary", provider_code="503"
        )
        results.apply_results(self.env["sms.sms"], self.account, [(sms, unreachable)])
        self.assertEqual(sms.cgsms_recipient_id.state, "queued")
        self.assertEqual((sms.state, sms.to_delete), ("outgoing", False))
        self.env["sms.sms"]._gc_device()
        self.assertTrue(sms.exists())
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(sms.cgsms_recipient_id.state, "sent")
        self.assertEqual([m["to"] for m in self._gateway_messages()], ["+351912000014"])

    def test_new_code_deployed_without_an_update_finds_the_engine_functions_it_declares(self):
        from odoo.addons.cgsms.engine import sql

        self.assertTrue(sql.functions_current(self.env.cr))
        # One function missing, another as an older release wrote it.
        self.env.cr.execute("DROP FUNCTION cgsms_sends_done")
        self.env.cr.execute("DROP FUNCTION cgsms_reports_kept")
        self.env.cr.execute(
            "CREATE FUNCTION cgsms_reports_kept(integer[], text[], text[])"
            " RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN false; END $$"
        )
        self.assertFalse(sql.functions_current(self.env.cr))
        self.env["sms.sms"]._register_hook()  # as at each start of Odoo
        self.assertTrue(sql.functions_current(self.env.cr))
        sms = self._queue(["+351912000015"])
        self.env["sms.sms"]._cgsms_process_account_queue(self.account)
        self.assertEqual(sms.cgsms_recipient_id.state, "sent")
