import logging
import math
import threading

from odoo import api, models

_logger = logging.getLogger(__name__)

# Jobs per account waiting or running at the same time. More than the channel's capacity
# only makes jobs wait; fewer leaves workers idle. The account's rate limit holds whatever
# the number, it is shared by all jobs through the database.
DEFAULT_PARALLEL_JOBS = 4
# SMS one job claims and delivers when the delivery engine gives no size of its own.
DEFAULT_CHUNK_SIZE = 10


class SmsSms(models.Model):
    _inherit = "sms.sms"

    @api.model
    def _process_queue(self, ids=None):
        """The SMS queue cron: the queue of each CgSMS account becomes chunk jobs on channel
        ``root.cgsms``, run by as many Odoo workers and servers as the channel allows. SMS of
        companies without an account keep Odoo's own path."""
        accounts = self._cgsms_qj_accounts_with_queue()
        for account in accounts:
            self._cgsms_qj_enqueue(account)
        domain = [("state", "=", "outgoing"), ("to_delete", "!=", True)]
        if accounts:
            domain.append(("cgsms_company_id", "not in", accounts.company_id.ids))
        others = self.sudo().search(domain, limit=10000).ids
        if ids:
            others = sorted(set(others) & set(ids))
        if not others:
            return None
        return super()._process_queue(ids=others)

    # ------------------------------------------------------------------ the job

    def _cgsms_job_send_chunk(self, account, slot=0):
        """One job: claim one chunk of the account's queue, deliver it, then queue the next
        job of this slot while SMS are left. A job run twice (retry, duplicate, killed
        worker) cannot send an SMS twice: only SMS it claimed itself leave, and a claim is
        committed before the provider is called."""
        account = account.sudo()
        SmsSudo = self.sudo()
        if not account.active:
            return self.env._("The SMS account is archived: nothing sent.")
        limit = SmsSudo._cgsms_qj_chunk_size(account)
        claimed = SmsSudo._cgsms_qj_claim(account, limit)
        if not claimed:
            return self.env._("Nothing to send.")
        SmsSudo._cgsms_qj_deliver(account, claimed)
        left = SmsSudo._cgsms_qj_count_left(account)
        if left and len(claimed) >= limit:
            SmsSudo._cgsms_qj_enqueue(account, left=left)
        return self.env._(
            "%(count)s SMS sent, %(left)s left in the queue.", count=len(claimed), left=left
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
    def _cgsms_qj_accounts_with_queue(self):
        self.env.cr.execute(
            """
            SELECT DISTINCT cgsms_company_id FROM sms_sms
             WHERE state = 'outgoing' AND to_delete IS NOT TRUE AND cgsms_company_id IS NOT NULL
            """
        )
        company_ids = [row[0] for row in self.env.cr.fetchall()]
        if not company_ids:
            return self.env["cgsms.account"]
        by_company = self.env["cgsms.account"]._get_active_by_company(company_ids)
        return self.env["cgsms.account"].sudo().browse([a.id for a in by_company.values()])

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

    # ------------------------------------------------------------------ delivery engine
    # The only place that speaks to the delivery engine.

    @api.model
    def _cgsms_qj_chunk_size(self, account):
        value = self.env["ir.config_parameter"].sudo().get_param("cgsms_queue_job.chunk_size")
        if value and value.isdigit() and int(value) > 0:
            return int(value)
        return DEFAULT_CHUNK_SIZE

    @api.model
    def _cgsms_qj_claim(self, account, limit):
        """SMS of the account's queue that this job alone will send, locked against the others
        until their reservation is committed."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id FROM sms_sms
             WHERE state = 'outgoing' AND to_delete IS NOT TRUE AND cgsms_company_id = %s
             ORDER BY id
             LIMIT %s
               FOR UPDATE SKIP LOCKED
            """,
            [account.company_id.id, limit],
        )
        return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _cgsms_qj_deliver(self, account, claimed):
        testing = getattr(threading.current_thread(), "testing", False)
        claimed.with_context(cgsms_commit=not testing)._cgsms_send(account)
