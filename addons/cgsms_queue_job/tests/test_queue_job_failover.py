from collections import Counter

from odoo.addons.cgsms.tests.common import CgsmsCase
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import tagged


@tagged("post_install", "-at_install")
class TestQueueJobFailover(CgsmsCase):
    """Several accounts per company when the SMS leave through jobs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("cgsms_queue_job.chunk_size", 10)
        function = cls.env.ref("cgsms_queue_job.queue_job_function_sms_send_chunk")
        if "allow_commit" in function._fields:
            function.allow_commit = False
        cls.account.sequence = 1
        cls.second = cls._cgsms_make_account(cls.company, provider="lusosms", sequence=2)
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.second.id, "kind": "topup", "amount": 1000}
        )
        cls.Sms = cls.env["sms.sms"].sudo()

    def _queue(self, numbers):
        return self.Sms.create(
            [
                {
                    "number": n,
                    "body": "Promotion",
                    "state": "outgoing",
                    "cgsms_company_id": self.company.id,
                }
                for n in numbers
            ]
        )

    def _send_with_jobs(self):
        with trap_jobs() as trap:
            self.Sms._process_queue()
            rounds = 0
            while trap.enqueued_jobs:
                rounds += 1
                self.assertLess(rounds, 50, "the jobs never stop queueing each other")
                trap.perform_enqueued_jobs()

    def test_jobs_move_what_the_primary_could_not_send_to_the_second_account(self):
        self.account.base_url = "http://127.0.0.1:9"  # connection refused
        numbers = [f"+3519121{i:05d}" for i in range(25)]
        sms = self._queue(numbers)
        self._send_with_jobs()
        sent = Counter((m["to"], m["provider"]) for m in self.gateway.messages)
        self.assertEqual(sent, Counter({(n, "lusosms"): 1 for n in numbers}))
        self.assertEqual(sms.cgsms_recipient_id.account_id, self.second)
        self.assertEqual(set(sms.cgsms_recipient_id.mapped("state")), {"sent"})

    def test_jobs_route_each_destination_to_its_account(self):
        self.account.route_prefixes = "+44"
        self.account.allowed_country_ids |= self.env.ref("base.uk")
        self._queue(["+447400123456", "+351912345678"])
        self._send_with_jobs()
        self.assertEqual(
            sorted((m["to"], m["provider"]) for m in self.gateway.messages),
            [("+351912345678", "lusosms"), ("+447400123456", "sandbox")],
        )
