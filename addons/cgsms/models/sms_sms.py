"""Odoo's SMS queue (``sms.sms``), routed to CgSMS for the companies with an active account.

Odoo 18.0 and 19.0 side by side. On 18.0, ``sms.sms._send`` takes the SMS of those companies
and hands them to CgSMS. On 19.0, Odoo asks each company for its SMS API
(``res.company._get_sms_api_class``, see ``res_company.py``) and splits the queue per API
(``sms.sms._split_by_api``): the SMS of those companies go to :class:`SmsApiCgsms`, the way
Odoo's ``sms_twilio`` plugs in (a company that chose Twilio there keeps it). Both ways end in
``_cgsms_send``, which only queues in a user's transaction (``engine.handoff``). The other
SMS keep Odoo's own path (IAP, or another module's), untouched.
"""

import logging

from odoo import api, fields, models

from .. import compat
from ..engine import (
    claim,
    dispatch,
    handoff,
    policy,
    reconcile,
    run_loop,
    sql,
    time_budget,
    transaction,
)

_logger = logging.getLogger(__name__)


def _testing():
    return compat.testing()


if compat.SMS_API_PLUGIN:
    from odoo.addons.sms.tools.sms_api import SmsApiBase  # 19.0 only

    # The CgSMS failure types are Odoo's own (see FAILURE_TYPES in sms_sms.py).
    _FAILURE_STATES = (
        "sms_acc",
        "sms_credit",
        "sms_number_format",
        "sms_number_missing",
        "sms_server",
        "sms_blacklist",
        "sms_duplicate",
        "unknown",
    )

    def uses_twilio(company):
        """A company that chose Odoo's Twilio connector (``sms_twilio``) keeps it."""
        return "sms_provider" in company._fields and company.sms_provider == "twilio"

    class SmsApiCgsms(SmsApiBase):
        """The SMS API of a company with an active CgSMS account."""

        PROVIDER_TO_SMS_FAILURE_TYPE = SmsApiBase.PROVIDER_TO_SMS_FAILURE_TYPE | {
            state: state for state in _FAILURE_STATES
        }

        def __init__(self, env, account=None):
            super().__init__(env, account=account)
            self.account = account

        def _set_company(self, company):
            super()._set_company(company)
            if self.account and self.account.company_id != company:
                self.account = None

        def _get_account(self):
            if not self.account:
                self.account = self.env["cgsms.account"]._get_active(self.company)
            return self.account

        def _send_records(self, sms, unlink_failed=False, unlink_sent=True):
            """Send ``sms`` (sms.sms records) with the company's CgSMS account."""
            return sms._cgsms_send(self._get_account(), unlink_failed, unlink_sent)

        def _send_sms_batch(self, messages, delivery_reports_url=False):
            """Odoo's batch interface, for callers that hand over numbers and texts instead of
            sms.sms records (e.g. a mailing's test SMS): each number becomes (or is) an
            sms.sms of its uuid, sent through CgSMS once, and reported in Odoo's format."""
            account = self._get_account()
            Sms = self.env["sms.sms"].sudo()
            wanted = [
                (message["content"], number)
                for message in messages
                for number in message["numbers"]
            ]
            existing = Sms.search([("uuid", "in", [n["uuid"] for _b, n in wanted])])
            by_uuid = {sms.uuid: sms for sms in existing}
            missing = [(body, n) for body, n in wanted if n["uuid"] not in by_uuid]
            created = Sms.create(
                [
                    {
                        "uuid": n["uuid"],
                        "number": n["number"],
                        "body": body,
                        "state": "outgoing",
                        "cgsms_company_id": account.company_id.id,
                    }
                    for body, n in missing
                ]
            )
            by_uuid.update({sms.uuid: sms for sms in created})
            sms_all = Sms.browse([by_uuid[n["uuid"]].id for _b, n in wanted])
            self._send_records(sms_all.filtered(lambda s: s.state == "outgoing"), False, False)
            # In a user's transaction the SMS only queued: they leave once it commits.
            handed_over = handoff.deferred(self.env)
            results = []
            for sms in sms_all:
                if sms.state in ("pending", "sent") or (handed_over and sms.state == "outgoing"):
                    results.append({"uuid": sms.uuid, "state": "success"})
                elif sms.state == "outgoing":  # provider down: left in the queue
                    results.append({"uuid": sms.uuid, "state": "server_error"})
                else:
                    results.append(
                        {
                            "uuid": sms.uuid,
                            "state": sms.failure_type or "unknown",
                            "failure_reason": sms.cgsms_recipient_id.failure_reason or "",
                        }
                    )
            return results


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
    # Not indexed: only read by the claim among the SMS of the queue (its own index), and
    # each write of an SMS (queued, claimed, sent) would add an entry.
    cgsms_account_id = fields.Many2one(
        "cgsms.account",
        "Routed to",
        ondelete="set null",
        help="The account of the sending company that sends this SMS (several accounts: "
        "chosen by destination, or the next one after a failure where it certainly did not "
        "leave). Empty: not routed yet.",
    )
    # Accounts this SMS moved away from (ids, comma-separated): never tried there again.
    cgsms_tried_accounts = fields.Char("Accounts tried", copy=False)

    def init(self):
        super().init()
        # The engine claims the queue of a company in id order (engine/claim.py). Without
        # this index each claim read every row of the table (the SMS sent and not collected
        # yet too): 1.3 ms per chunk of 40 with 5,000 SMS, growing with the queue.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_cgsms_outgoing_idx"
            " ON sms_sms (cgsms_company_id, id) WHERE state = 'outgoing'"
        )
        # Each SMS is written as it leaves (claimed), never in place (its state is in the
        # index above): the index of the account it is routed to (1.0) was written each time
        # and never read.
        self.env.cr.execute("DROP INDEX IF EXISTS sms_sms__cgsms_account_id_index")
        # The delivery engine's statements planned once per connection (engine/sql.py).
        sql.ensure_functions(self.env.cr)

    def _register_hook(self):
        super()._register_hook()
        # New code deployed without updating the module still finds the engine's functions
        # as it declares them (one read of the catalog at each start).
        if not sql.functions_current(self.env.cr):
            sql.ensure_functions(self.env.cr)

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

    @api.autovacuum
    def _gc_device(self):
        # Odoo's clean-up of the SMS marked for deletion, except those whose provider has not
        # answered yet: the engine marks an SMS sent when it claims it (engine/claim.py), and
        # puts it back in the queue if the call fails or the provider turns out not to have it.
        self.flush_model(["to_delete", "cgsms_recipient_id"])
        self.env["cgsms.recipient"].flush_model(["state"])
        self.env.cr.execute(
            """
            DELETE FROM sms_sms s
             WHERE s.to_delete = TRUE
               AND NOT EXISTS (
                SELECT 1 FROM cgsms_recipient r
                 WHERE r.id = s.cgsms_recipient_id AND r.state IN ('sending', 'checking')
               )
            """
        )
        _logger.info("GC'd %d sms marked for deletion", self.env.cr.rowcount)

    def _cgsms_check_senders(self, vals_list):
        """Whoever answers for an SMS that a CgSMS account sends and charges must be allowed
        to (the sending policy), whatever the screen: the person who queues it (chatter,
        Odoo's composer, repairs...), the person of the door around it (a mailing's
        responsible user), never anyone for an automation (``policy.automated``)."""
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
        kwargs = {
            "unlink_failed": unlink_failed,
            "unlink_sent": unlink_sent,
            "raise_exception": raise_exception,
        }
        if compat.SMS_API_PLUGIN:
            # 19.0: send() splits per SMS API; its queue and other callers come here without
            # one, for SMS of several companies: split them the same way.
            if self.env.context.get("sms_api") or not self:
                return super()._send(**kwargs)
            for sms_api, sms in self._split_by_api():
                super(SmsSms, sms.with_context(sms_api=sms_api))._send(**kwargs)
            return None
        # 18.0: one _send for every SMS.
        company_ids = set(self.cgsms_company_id.ids)
        accounts = (
            self.env["cgsms.account"]._get_active_by_company(company_ids) if company_ids else {}
        )
        ours = self.filtered(lambda s: s.cgsms_company_id.id in accounts)
        for company, sms_batch in ours.grouped("cgsms_company_id").items():
            sms_batch._cgsms_send(accounts[company.id], unlink_failed, unlink_sent)
        others = self - ours
        if others:
            return super(SmsSms, others)._send(**kwargs)
        return None

    if compat.SMS_API_PLUGIN:  # 19.0's routing per SMS API (later 18.0 builds have it too)

        def _split_by_api(self):
            accounts = (
                self.env["cgsms.account"]._get_active_by_company(set(self.cgsms_company_id.ids))
                if self
                else {}
            )
            ours = self.browse()
            for company, sms in self.grouped("cgsms_company_id").items():
                account = accounts.get(company.id)
                if account and not uses_twilio(company):
                    sms_api = SmsApiCgsms(self.env, account=account)
                    sms_api._set_company(company)
                    ours |= sms
                    yield sms_api, sms
            others = self - ours
            if others:
                yield from super(SmsSms, others)._split_by_api()

        def _send_with_api(
            self, sms_api, unlink_failed=False, unlink_sent=True, raise_exception=False
        ):
            if isinstance(sms_api, SmsApiCgsms):
                return sms_api._send_records(
                    self.with_context(sms_api=None), unlink_failed, unlink_sent
                )
            return super()._send_with_api(
                sms_api,
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )

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
        primaries = self.env["cgsms.account"]._get_active_by_company(set(accounts.company_id.ids))
        with transaction.owning(self.env.cr, commit, clean=commit):
            for account in accounts:
                try:
                    if primaries.get(account.company_id.id) == account:
                        # Each company's accounts in sequence order, from its primary one.
                        left += run_loop.process_company_queue(queue, account, deadline) or 0
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
            with transaction.owning(self.env.cr, commit, clean=commit):
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
        run_loop.process_company_queue(
            self, account, None, unlink_failed=unlink_failed, unlink_sent=unlink_sent
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

    @api.model
    def _cgsms_wake_accounts(self, accounts):
        """SMS were routed or moved to ``accounts``: the SMS queue sends them (in the queue
        run under way, or in the next one)."""
        if not accounts or self.env.context.get("cgsms_company_run"):
            return  # the company's queue run under way sends them
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    def _cgsms_claim_chunk(self, account, limit, stats=None, unlink_sent=True):
        return claim.claim_chunk(self, account, limit, stats, unlink_sent=unlink_sent)

    def _cgsms_deliver_chunk(self, account, claimed, unlink_failed=False):
        return dispatch.deliver_chunk(self, account, claimed, unlink_failed)

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
