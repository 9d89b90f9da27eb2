import math
import time

from odoo import api, models
from odoo.addons.cgsms import compat
from odoo.addons.cgsms.engine import transaction
from odoo.addons.cgsms.engine.time_budget import time_budget
from odoo.tools import config

# Jobs per account waiting or running at the same time. More than the channel's capacity
# only makes jobs wait; fewer leaves workers idle. The account's rate limit holds whatever
# the number, it is shared by all jobs through the database.
DEFAULT_PARALLEL_JOBS = 4
# Seconds a job keeps the account's calls in flight, chunk after chunk (the delivery engine's
# loop), before it hands over to the next job. One chunk per job (0) pays the job runner's
# dispatch and the job's bookkeeping every few dozen SMS and lets the calls in flight drain
# at the end of each chunk. Capped by the worker's real-time limit.
DEFAULT_JOB_SECONDS = 20


class SmsSms(models.Model):
    _inherit = "sms.sms"

    @api.model
    def _process_queue(self, ids=None):
        """The SMS queue cron: the queue of each CgSMS account becomes chunk jobs on channel
        ``root.cgsms``, run by as many Odoo workers and servers as the channel allows. The cron
        still reconciles ambiguous sends; SMS of companies without an account keep Odoo's
        own path."""
        queue = super(SmsSms, self.with_context(cgsms_queue_job_enqueue=True))
        # 19.0's own _process_queue takes no ids: pass them only when there are some.
        return queue._process_queue(ids=ids) if ids else queue._process_queue()

    def _cgsms_process_account_queue(
        self, account, deadline=None, unlink_failed=False, unlink_sent=True
    ):
        if self.env.context.get("cgsms_queue_job_enqueue"):
            self._cgsms_qj_enqueue(account)
            return self._cgsms_qj_count_left(account)
        return super()._cgsms_process_account_queue(
            account, deadline, unlink_failed=unlink_failed, unlink_sent=unlink_sent
        )

    @api.model
    def _cgsms_wake_accounts(self, accounts):
        super()._cgsms_wake_accounts(accounts)
        if self.env.context.get("cgsms_queue_job_enqueue") is False:
            # Inside a job: SMS routed or moved to another account get that account's jobs.
            for account in accounts:
                self._cgsms_qj_enqueue(account)

    # ------------------------------------------------------------------ the job

    def _cgsms_job_send_chunk(self, account, slot=0):
        """One job: claim one chunk of the account's queue, deliver it, then queue the jobs
        still needed while SMS are left. A job run twice (retry, duplicate, killed worker)
        cannot send an SMS twice: only SMS it claimed itself leave, and a claim is committed
        before the provider is called."""
        commit = not compat.testing()
        # queue_job committed the job's start before running it: the transaction holds nothing
        # of the caller, so each claim runs in a transaction of its own (READ COMMITTED, after
        # the claims that other jobs committed meanwhile) instead of failing on them.
        Sms = self.sudo().with_context(cgsms_queue_job_enqueue=False)
        with transaction.owning(self.env.cr, commit, clean=commit):
            return Sms._cgsms_qj_run_chunk(account.sudo())

    def _cgsms_qj_run_chunk(self, account):
        Sms = self
        if not account.active:
            return self.env._("The SMS account is archived: nothing sent.")
        seconds = Sms._cgsms_qj_job_seconds()
        if seconds:
            return Sms._cgsms_qj_send_for(account, seconds)
        limit = Sms._cgsms_qj_chunk_size(account)
        claimed = Sms._cgsms_claim_chunk(account, limit)
        if not claimed:
            return self.env._("Nothing to send.")
        Sms._cgsms_deliver_chunk(account, claimed)
        claimed.invalidate_recordset(["state"])
        # All back in the queue (provider down): the retry the engine scheduled takes them,
        # rather than jobs calling a provider that does not answer.
        still = claimed.exists()
        progressed = not still or any(sms.state != "outgoing" for sms in still)
        left = Sms._cgsms_qj_count_left(account)
        if left and progressed and len(claimed) >= limit:
            Sms._cgsms_qj_enqueue(account, left=left)
        elif not left:
            Sms._cgsms_after_run(account)
        return self.env._(
            "%(count)s SMS sent, %(left)s left in the queue.", count=len(claimed), left=left
        )

    def _cgsms_qj_send_for(self, account, seconds):
        """A job that keeps the account's calls in flight for ``seconds`` (chunk after chunk,
        the delivery engine's loop) instead of one chunk: fewer jobs for the same queue."""
        before = self._cgsms_qj_count_left(account)
        if not before:
            return self.env._("Nothing to send.")
        left = self._cgsms_process_account_queue(account, time.monotonic() + seconds)
        if left and left < before:
            self._cgsms_qj_enqueue(account, left=left)
        return self.env._(
            "%(count)s SMS sent, %(left)s left in the queue.", count=before - left, left=left
        )

    # ------------------------------------------------------------------ enqueuing

    @api.model
    def _cgsms_qj_enqueue(self, account, left=None):
        """Queue up to the account's number of parallel jobs, one per slot. A slot's identity
        key keeps a slot to one waiting job, however often this runs (cron, sends, the jobs
        themselves); a duplicate that slips through finds nothing left to claim."""
        account = account.sudo()
        if left is None:
            left = self._cgsms_qj_count_left(account)
        if not left:
            return 0
        chunk = self._cgsms_qj_chunk_size(account)
        wanted = min(self._cgsms_qj_parallel_jobs(), math.ceil(left / chunk))
        for slot in range(wanted):
            self.sudo().with_delay(
                description=self.env._(
                    "Send SMS of %(account)s (slot %(slot)s)",
                    account=account.display_name,
                    slot=slot,
                ),
                identity_key=f"cgsms-queue:{account.id}:{slot}",
            )._cgsms_job_send_chunk(account, slot)
        return wanted

    @api.model
    def _cgsms_qj_count_left(self, account):
        return self.sudo().search_count(
            [
                ("state", "=", "outgoing"),
                ("to_delete", "!=", True),
                ("cgsms_company_id", "=", account.company_id.id),
            ]
        )

    @api.model
    def _cgsms_qj_parallel_jobs(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("cgsms_queue_job.parallel_jobs", DEFAULT_PARALLEL_JOBS)
        )
        try:
            return max(1, int(value))
        except ValueError:
            return DEFAULT_PARALLEL_JOBS

    @api.model
    def _cgsms_qj_job_seconds(self):
        value = self.env["ir.config_parameter"].sudo().get_param("cgsms_queue_job.job_seconds")
        seconds = int(value) if value and value.strip().isdigit() else DEFAULT_JOB_SECONDS
        # Within the HTTP worker's real-time limit, as the engine's queue run.
        limit = config.get("limit_time_real") or 0
        if seconds and limit > 0:
            seconds = min(seconds, time_budget(limit))
        return seconds

    @api.model
    def _cgsms_qj_chunk_size(self, account):
        """SMS per job: the account's calls in flight, so that one job keeps one worker's
        provider connections busy (``cgsms_queue_job.chunk_size`` to change it)."""
        value = self.env["ir.config_parameter"].sudo().get_param("cgsms_queue_job.chunk_size")
        if value and value.isdigit() and int(value) > 0:
            return int(value)
        return max(1, account.cgsms_in_flight or 1)
