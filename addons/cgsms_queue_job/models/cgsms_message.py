from odoo import api, fields, models


class CgsmsMessage(models.Model):
    _inherit = "cgsms.message"

    left_count = fields.Integer(
        "Left", compute="_compute_job_progress", help="Numbers whose SMS has not left yet."
    )
    job_running_count = fields.Integer("Jobs running", compute="_compute_job_progress")
    job_waiting_count = fields.Integer("Jobs waiting", compute="_compute_job_progress")

    @api.depends("recipient_ids.state", "account_id", "state")
    def _compute_job_progress(self):
        left = dict(
            self.env["cgsms.recipient"]
            .sudo()
            ._read_group(
                [("message_id", "in", self.ids), ("state", "in", ("queued", "sending"))],
                ["message_id"],
                ["__count"],
            )
        )
        jobs = {}
        accounts = self.filtered(lambda m: m.state == "sending").account_id
        if accounts:
            for account, state, count in self._cgsms_qj_job_groups(accounts):
                jobs[account, state] = count
        for message in self:
            message.left_count = left.get(message, 0) if message.id else 0
            account_id = message.account_id.id
            message.job_running_count = jobs.get((account_id, "started"), 0)
            message.job_waiting_count = jobs.get((account_id, "pending"), 0) + jobs.get(
                (account_id, "enqueued"), 0
            )

    def action_view_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("queue_job.action_queue_job")
        action["domain"] = [
            ("identity_key", "=like", self._cgsms_qj_key_prefix(self.account_id) + "%")
        ]
        action["context"] = {}
        return action

    def _cgsms_queue_big_send(self, sms):
        """Big sends become jobs at once, in the sender's transaction: they start as soon as
        it commits, on every worker the channel allows, without waiting for the cron."""
        res = super()._cgsms_queue_big_send(sms)
        self.env["sms.sms"]._cgsms_qj_enqueue(self.account_id)
        return res

    def _cgsms_qj_key_prefix(self, account):
        return f"cgsms-queue:{account.id}:"

    def _cgsms_qj_job_groups(self, accounts):
        """(account id, job state, count) of the accounts' SMS jobs not finished yet."""
        self.env["queue.job"].flush_model(["identity_key", "state"])
        self.env.cr.execute(
            """
            SELECT split_part(identity_key, ':', 2)::int, state, count(*)
              FROM queue_job
             WHERE identity_key LIKE %s
               AND split_part(identity_key, ':', 2) IN %s
               AND state IN ('pending', 'enqueued', 'started')
             GROUP BY 1, 2
            """,
            ["cgsms-queue:%", tuple(str(account_id) for account_id in accounts.ids)],
        )
        return self.env.cr.fetchall()
