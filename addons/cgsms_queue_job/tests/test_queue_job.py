from collections import Counter

from odoo.addons.cgsms.tests.common import CgsmsCase
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import new_test_user, tagged


@tagged("post_install", "-at_install")
class TestQueueJob(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("cgsms_queue_job.chunk_size", 10)
        params.set_param("cgsms_queue_job.parallel_jobs", 4)
        cls.Sms = cls.env["sms.sms"].sudo()
        # Jobs commit nothing under test; queue_job releases that honour allow_commit run such
        # jobs in a cursor of their own, which would not see this test's records.
        function = cls.env.ref("cgsms_queue_job.queue_job_function_sms_send_chunk")
        if "allow_commit" in function._fields:
            function.allow_commit = False

    def _queue(self, count, start=0):
        return self.Sms.create(
            [
                {
                    "number": f"+3519120{start + i:05d}",
                    "body": "Promotion",
                    "state": "outgoing",
                    "cgsms_company_id": self.company.id,
                }
                for i in range(count)
            ]
        )

    def _jobs(self):
        return self.env["queue.job"].search([("identity_key", "=like", "cgsms-queue:%")])

    def _gateway_counts(self):
        return Counter(m["to"] for m in self.gateway.messages)

    @staticmethod
    def _perform_all(trap):
        rounds = 0
        while trap.enqueued_jobs:
            rounds += 1
            assert rounds < 50, "the jobs never stop queueing each other"
            trap.perform_enqueued_jobs()

    def test_cron_queues_chunk_jobs_on_cgsms_channel_instead_of_sending(self):
        self._queue(25)
        self.Sms._process_queue()
        jobs = self._jobs()
        # 25 SMS in chunks of 10: three jobs, each a slot of its own.
        self.assertEqual(len(jobs), 3)
        self.assertEqual(set(jobs.mapped("channel")), {"root.cgsms"})
        self.assertEqual(set(jobs.mapped("state")), {"pending"})
        self.assertEqual(
            sorted(jobs.mapped("identity_key")),
            [f"cgsms-queue:{self.account.id}:{slot}" for slot in range(3)],
        )
        self.assertFalse(self.gateway.messages, "the cron itself sends nothing")

    def test_cron_again_does_not_pile_up_jobs(self):
        self._queue(100)
        self.Sms._process_queue()
        self.Sms._process_queue()
        self.env["sms.sms"]._cgsms_qj_enqueue(self.account)
        self.assertEqual(len(self._jobs()), 4, "one waiting job per slot, however often")

    def test_jobs_send_each_number_exactly_once(self):
        sms = self._queue(45)
        numbers = set(sms.mapped("number"))
        with trap_jobs() as trap:
            self.Sms._process_queue()
            trap.assert_jobs_count(4, only=self.env["sms.sms"]._cgsms_job_send_chunk)
            trap.assert_enqueued_job(
                self.env["sms.sms"]._cgsms_job_send_chunk,
                args=(self.account, 0),
                properties={"identity_key": f"cgsms-queue:{self.account.id}:0"},
            )
            self._perform_all(trap)
        counts = self._gateway_counts()
        self.assertEqual(set(counts), numbers)
        self.assertEqual(set(counts.values()), {1})
        self.assertFalse(sms.exists().filtered(lambda s: s.state == "outgoing"))

    def test_duplicated_or_retried_job_never_sends_twice(self):
        sms = self._queue(6)
        self.Sms._cgsms_job_send_chunk(self.account, 0)
        # The same job run again (retried after an error, or queued twice)
        result = self.Sms._cgsms_job_send_chunk(self.account, 0)
        self.Sms._cgsms_job_send_chunk(self.account, 1)
        self.assertEqual(result, "Nothing to send.")
        counts = self._gateway_counts()
        self.assertEqual(len(counts), 6)
        self.assertEqual(set(counts.values()), {1})
        self.assertEqual(set(sms.cgsms_recipient_id.mapped("state")), {"sent"})

    def test_job_claims_one_chunk_and_queues_the_next(self):
        self._queue(25)
        self.env["ir.config_parameter"].sudo().set_param("cgsms_queue_job.job_seconds", 0)
        with trap_jobs() as trap:
            self.Sms._cgsms_job_send_chunk(self.account, 0)
            self.assertEqual(len(self.gateway.messages), 10, "one chunk per job")
            # 15 left: the slots needed for them are queued again.
            trap.assert_jobs_count(2, only=self.env["sms.sms"]._cgsms_job_send_chunk)

    def test_job_with_time_budget_sends_chunk_after_chunk(self):
        sms = self._queue(35)
        self.env["ir.config_parameter"].sudo().set_param("cgsms_queue_job.job_seconds", 30)
        with trap_jobs() as trap:
            self.Sms._cgsms_job_send_chunk(self.account, 0)
            trap.assert_jobs_count(0, only=self.env["sms.sms"]._cgsms_job_send_chunk)
        counts = self._gateway_counts()
        self.assertEqual(set(counts), set(sms.mapped("number")))
        self.assertEqual(set(counts.values()), {1})

    def test_provider_down_job_does_not_queue_more_jobs(self):
        sms = self._queue(25)
        self.account.base_url = "http://127.0.0.1:9"  # nothing listens: refused, not sent
        with trap_jobs() as trap:
            self.Sms._cgsms_job_send_chunk(self.account, 0)
            trap.assert_jobs_count(0)
        self.assertFalse(self.gateway.messages)
        self.assertEqual(set(sms.mapped("state")), {"outgoing"}, "kept for the retry")

    def test_archived_account_job_sends_nothing(self):
        self._queue(3)
        self.account.active = False
        result = self.Sms._cgsms_job_send_chunk(self.account, 0)
        self.assertIn("archived", result)
        self.assertFalse(self.gateway.messages)

    def test_sms_of_company_without_account_not_turned_into_jobs(self):
        other = self.env["res.company"].create({"name": "No SMS account"})
        self.Sms.create(
            {
                "number": "+351912000999",
                "body": "Hi",
                "state": "outgoing",
                "cgsms_company_id": other.id,
            }
        )
        with trap_jobs() as trap:
            self.Sms._cgsms_qj_enqueue(self.account)
            trap.assert_jobs_count(0)

    def test_big_send_by_sms_user_runs_as_jobs_with_progress_on_the_form(self):
        user = new_test_user(
            self.env, login="cgsms_qj_user", groups="base.group_user,cgsms.group_cgsms_user"
        )
        message = (
            self.env["cgsms.message"]
            .with_user(user)
            .with_context(cgsms_direct_send_limit=5)
            .create(
                {
                    "name": "Campaign",
                    "body": "Summer sale",
                    "free_numbers": ";".join(f"+3519130{i:05d}" for i in range(23)),
                }
            )
        )
        with trap_jobs() as trap:
            message.action_send()
            trap.assert_jobs_count(3, only=self.env["sms.sms"]._cgsms_job_send_chunk)
            self.assertFalse(self.gateway.messages, "big sends leave the browser at once")
            message.invalidate_recordset()
            self.assertEqual(message.state, "sending")
            self.assertEqual(message.left_count, 23)
            self._perform_all(trap)
        message.invalidate_recordset()
        self.assertEqual(message.left_count, 0)
        self.assertEqual(message.sent_count, 23)
        self.assertEqual(message.failed_count, 0)
        self.assertEqual(len(self._gateway_counts()), 23)

    def test_send_form_counts_waiting_jobs(self):
        message = (
            self.env["cgsms.message"]
            .with_context(cgsms_direct_send_limit=5)
            .create(
                {
                    "name": "Big",
                    "body": "Hello",
                    "free_numbers": ";".join(f"+3519140{i:05d}" for i in range(30)),
                }
            )
        )
        message.action_send()
        message.invalidate_recordset()
        self.assertEqual(message.job_waiting_count, 3)
        self.assertEqual(message.job_running_count, 0)
        self.assertEqual(message.left_count, 30)
        action = message.action_view_jobs()
        self.assertEqual(self.env["queue.job"].search_count(action["domain"]), 3)
