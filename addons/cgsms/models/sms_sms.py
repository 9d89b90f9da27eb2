import logging

from odoo import api, fields, models

from .. import compat
from ..engine import claim, dispatch, handoff, policy, reconcile, run_loop, time_budget, transaction

_logger = logging.getLogger(__name__)


def _testing():
    return compat.testing()


class SmsSms(models.Model):
    _inherit = "sms.sms"

    cgsms_company_id = fields.Many2one(
        "res.company",
        "Sending company",
        default=lambda self: self.env.company,
        help="The company whose SMS account sends this SMS.",
    )
    cgsms_recipient_id = fields.Many2one(
        "cgsms.recipient", "SMS history line", index="btree_not_null", ondelete="set null"
    )

    @api.model_create_multi
    def create(self, vals_list):
        # An SMS about a document is sent with the account of the document's company.
        message_ids = {v["mail_message_id"] for v in vals_list if v.get("mail_message_id")}
        companies = {}
        if message_ids:
            for message in self.env["mail.message"].sudo().browse(message_ids):
                company = message.record_company_id
                if company:
                    companies[message.id] = company.id
        for vals in vals_list:
            if not vals.get("cgsms_company_id") and vals.get("mail_message_id") in companies:
                vals["cgsms_company_id"] = companies[vals["mail_message_id"]]
        self._cgsms_check_senders(vals_list)
        return super().create(vals_list)

    def _cgsms_check_senders(self, vals_list):
        """Whoever queues an SMS that a CgSMS account sends and charges must be allowed to
        (the sending policy), whatever the screen: chatter, Odoo's composer, repairs..."""
        company_ids = {v.get("cgsms_company_id") or self.env.company.id for v in vals_list}
        accounts = self.env["cgsms.account"]._get_active_by_company(company_ids)
        for company_id in accounts:
            policy.check_sender(self.env, self.env["res.company"].browse(company_id))

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        # Odoo's SMS queue cron sends with auto_commit: that transaction is the engine's own.
        commit = bool(auto_commit) and not _testing()
        with transaction.owning(self.env.cr, commit):
            return super().send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
                **compat.sms_send_kwargs(auto_commit),
            )

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Route SMS of companies with an active CgSMS account through their provider; the
        others keep Odoo's own path (IAP, or whatever another module plugs in)."""
        if compat.SMS_API_PLUGIN:  # Odoo 19.0 routes per SMS API: models/sms_api_cgsms.py
            return super()._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        company_ids = set(self.cgsms_company_id.ids)
        accounts = (
            self.env["cgsms.account"]._get_active_by_company(company_ids) if company_ids else {}
        )
        ours = self.filtered(lambda s: s.cgsms_company_id.id in accounts)
        for company, sms_batch in ours.grouped("cgsms_company_id").items():
            sms_batch._cgsms_send(accounts[company.id], unlink_failed, unlink_sent)
        others = self - ours
        if others:
            return super(SmsSms, others)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        return None

    @api.model
    def _process_queue(self, ids=None):
        """The SMS queue cron: each company with an active account drains its queue in small
        concurrent chunks within the worker's time budget, then re-triggers itself if SMS are
        left; SMS of other companies keep Odoo's path."""
        accounts = self.env["cgsms.account"].sudo().search([("active", "=", True)])
        commit = not _testing()
        deadline = self._cgsms_deadline()
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        # The transaction holds nothing of the caller: a lost claim race may be rolled back.
        queue = self
        if ids:
            queue = queue.browse(ids)
        left = 0
        with transaction.owning(self.env.cr, commit, clean=commit):
            for account in accounts:
                try:
                    left += queue._cgsms_process_account_queue(account, deadline)
                    queue._cgsms_reconcile(account, deadline)
                except Exception:
                    _logger.exception("Failed processing the SMS queue of account %s", account.id)
                    if not commit:
                        raise
                    self.env.cr.rollback()
        if left and not time_budget.time_left(deadline):
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
            _logger.info("SMS queue: time budget spent, %s SMS left for the next run", left)
        domain = [("state", "=", "outgoing"), ("to_delete", "!=", True)]
        if accounts:
            domain.append(("cgsms_company_id", "not in", accounts.company_id.ids))
        others = self.search(domain, limit=10000).ids
        if ids:
            others = list(set(others) & set(ids))
        if others:
            if compat.ODOO_19:  # 19.0 takes no ids: it splits its queue per SMS API itself
                return super()._process_queue()
            return super()._process_queue(ids=others)
        return None

    # ------------------------------------------------------------------ CgSMS sending

    def _cgsms_send(self, account, unlink_failed=False, unlink_sent=True):
        """Send these SMS (a user's send, or Odoo's ``send()``) through ``account``.

        Inside a user's transaction they are only queued: they leave once it commits, in a
        cursor of the engine's own (``engine.handoff``). Only a transaction that is the
        engine's own (the SMS queue cron, a queue job: ``engine.transaction``) calls the
        provider here. Tests, which never commit, send in their transaction."""
        if handoff.deferred(self.env):
            # Every queued SMS has its history line from now on, in the state "queued".
            claim.ensure_recipients(self.sudo(), account)
            handoff.after_commit(self, account, unlink_failed, unlink_sent)
            return
        sms_all = self.sudo().with_context(sms_skip_msg_notification=True)
        self._cgsms_process_account_queue(
            account, None, unlink_failed=unlink_failed, unlink_sent=unlink_sent
        )
        sms_all.exists().mail_message_id._notify_message_notification_update()

    # ------------------------------------------------------------------ the engine's entry points
    # What the crons, cgsms_queue_job and the tests call; the work is in ``engine``.

    def _cgsms_process_account_queue(
        self, account, deadline=None, unlink_failed=False, unlink_sent=True
    ):
        """Drain the queue of ``account`` (only these SMS when not empty) within ``deadline``
        (``engine.time_budget``); returns how many SMS are left. See ``engine.run_loop``."""
        return run_loop.process_account_queue(
            self, account, deadline, unlink_failed=unlink_failed, unlink_sent=unlink_sent
        )

    def _cgsms_claim_chunk(self, account, limit, stats=None):
        return claim.claim_chunk(self, account, limit, stats)

    def _cgsms_deliver_chunk(self, account, claimed, unlink_failed=False, unlink_sent=True):
        return dispatch.deliver_chunk(self, account, claimed, unlink_failed, unlink_sent)

    def _cgsms_after_run(self, account):
        return run_loop.after_run(self, account)

    @api.model
    def _cgsms_deadline(self):
        return time_budget.deadline()

    @api.model
    def _cgsms_reconcile(self, account, deadline=None, limit=200):
        return reconcile.reconcile(self, account, deadline, limit)

    @api.model
    def _cgsms_reconcile_stale(self):
        """Cron: look up at the provider the SMS whose send was ambiguous or interrupted."""
        return reconcile.reconcile_stale(self)

    @api.model
    def _cgsms_check_and_resend(self, lines):
        return reconcile.check_and_resend(self, lines)
