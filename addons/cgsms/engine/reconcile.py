"""Exactly once through ambiguity: an SMS whose send may have reached the provider (answer
lost, worker killed) is looked up there, never resent blindly; sent if found, back in the
queue if the provider certainly does not have it, else a person decides."""

import logging
from concurrent import futures
from datetime import UTC, datetime, timedelta

from psycopg2.extensions import TransactionRollbackError

from odoo import fields
from odoo.exceptions import UserError

from .. import compat
from ..providers import DeliveryReport, OutgoingSms
from . import time_budget, transaction

_logger = logging.getLogger(__name__)

# An SMS left "sending" longer than this was interrupted between the provider call and the
# commit (crash, killed worker): it is looked up at the provider like an ambiguous send.
STALE_SENDING = timedelta(minutes=5)
# An ambiguous send is looked up this long after the failure (``cgsms.reconcile_delay``,
# seconds): a slow provider may still be handling the call that timed out.
RECONCILE_DELAY = 60
# Lookups that fail (provider unreachable) are tried this many times before a person decides.
MAX_LOOKUPS = 5
# Without a lookup call (Vonage), a delivery receipt carrying our reference resolves the SMS;
# after this long without one, a person checks.
RECEIPT_WAIT = timedelta(hours=2)


def schedule_reconcile(model):
    delay = reconcile_delay(model)
    cron = model.env.ref("cgsms.ir_cron_cgsms_reconcile", raise_if_not_found=False)
    if cron:
        cron.sudo()._trigger(fields.Datetime.now() + timedelta(seconds=delay + 1))


def reconcile_delay(model):
    param = model.env["ir.config_parameter"].sudo().get_param("cgsms.reconcile_delay")
    try:
        return max(0, int(param)) if param not in (None, "") else RECONCILE_DELAY
    except ValueError:
        return RECONCILE_DELAY


def reconcile_stale(model):
    """Cron: resolve the SMS whose send was ambiguous (answer lost) or interrupted (crash,
    killed worker) by looking them up at the provider."""
    deadline = model._cgsms_deadline()
    Account = model.env["cgsms.account"].sudo().with_context(active_test=False)
    groups = (
        model.env["cgsms.recipient"]
        .sudo()
        ._read_group([("state", "in", ("checking", "sending"))], ["account_id"])
    )
    with transaction.owning(model.env.cr, not compat.testing()):
        for (account,) in groups:
            if account and time_budget.time_left(deadline):
                reconcile(model, Account.browse(account.id), deadline)


def reconcile(model, account, deadline=None, limit=200):
    """Look up at the provider the SMS of ``account`` whose send was ambiguous (once the
    reconcile delay has passed) or interrupted (left "sending" too long). Each ends sent
    (with its provider id), back in the queue (the provider certainly does not have it)
    or, when the provider cannot tell, with a person ("To check")."""
    account = account.sudo()
    if account.neutralized:
        return  # a neutralized copy asks no provider; the lines wait as they are
    commit = transaction.owns(model.env.cr)
    # To the microsecond (write_date has them): a line is due once its delay has passed.
    now = datetime.now(UTC).replace(tzinfo=None)
    Recipient = model.env["cgsms.recipient"].sudo()
    Recipient.flush_model()
    try:
        model.env.cr.execute(
            "SELECT id FROM cgsms_recipient WHERE account_id = %s AND ("
            "(state = 'checking' AND write_date <= %s) OR "
            "(state = 'sending' AND write_date < %s)) "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            [
                account.id,
                now - timedelta(seconds=reconcile_delay(model)),
                now - STALE_SENDING,
                limit,
            ],
        )
    except TransactionRollbackError:
        if not commit:
            raise
        model.env.cr.rollback()  # a sender saved one of them meanwhile: next run
        return
    lines = Recipient.browse([row[0] for row in model.env.cr.fetchall()])
    if not lines:
        return
    outcomes = lookup(model, account, lines)
    for line in lines:
        resolve(model, account, line, outcomes[line.id])
    if commit:
        model.env.cr.commit()  # pylint: disable=invalid-commit
    _logger.info("Reconciled %s SMS of account %s with the provider", len(lines), account.id)


def lookup(model, account, lines):
    """{line id: LookupResult, None (no lookup at this provider) or ProviderError}; the
    calls are made concurrently, without the ORM in the threads."""
    provider = account._cgsms_send_provider()
    known = {
        r.provider_message_id
        for r in model.env["cgsms.recipient"]
        .sudo()
        .search(
            [
                ("account_id", "=", account.id),
                ("number", "in", lines.mapped("number")),
                ("provider_message_id", "!=", False),
            ]
        )
    }
    jobs = {
        line.id: (
            OutgoingSms(
                ref=line.sms_uuid or "",
                to=line.number or "",
                body=line.body or "",
                sender=account.sender or "",
            ),
            line.date_attempt or line.write_date or fields.Datetime.now(),
        )
        for line in lines
    }

    def lookup(job):
        message, since = job
        try:
            return provider.lookup(message, since, known_ids=known)
        except Exception as exc:  # reported per line, never lost
            return exc

    size = max(1, min(len(jobs), account.cgsms_in_flight or 1))
    with futures.ThreadPoolExecutor(size, thread_name_prefix="cgsms-lookup") as pool:
        results = dict(zip(jobs, pool.map(lookup, jobs.values()), strict=True))
    return results


def resolve(model, account, line, outcome):
    """Apply one lookup ``outcome`` to the history ``line``."""
    sms = model.sudo().search([("uuid", "=", line.sms_uuid)], limit=1) if line.sms_uuid else None
    if outcome is None or isinstance(outcome, Exception):
        if isinstance(outcome, Exception):
            _logger.warning("Lookup of SMS %s at %s failed: %s", line.id, account.provider, outcome)
            waited = line.lookup_count + 1 >= MAX_LOOKUPS
        else:
            waited = (line.date_attempt or line.write_date) < fields.Datetime.now() - RECEIPT_WAIT
        if not waited:
            line.write({"lookup_count": line.lookup_count + 1, "state": "checking"})
            schedule_reconcile(model)
            return
        reason = model.env._(
            "The provider could not tell whether this SMS left. Check with the recipient, "
            "then use Check and resend if it did not arrive."
        )
        line.write({"state": "unknown", "error_class": "unknown", "failure_reason": reason})
        if sms:
            sms.sms_tracker_id._action_update_from_sms_state(
                "error", failure_type="unknown", failure_reason=reason
            )
            sms.write({"state": "error", "failure_type": "unknown"})
        return
    if outcome.found:
        line.write(
            {
                "state": "sent",
                "provider_message_id": outcome.message_id,
                "date_sent": line.date_attempt or fields.Datetime.now(),
                "error_class": False,
                "failure_reason": False,
            }
        )
        if sms:
            sms.sms_tracker_id._action_update_from_sms_state("pending")
            sms.write({"state": "pending", "failure_type": False, "to_delete": True})
        if outcome.status in ("delivered", "failed"):
            model.env["cgsms.recipient"].sudo()._apply_delivery_reports(
                account, [DeliveryReport(message_id=outcome.message_id, status=outcome.status)]
            )
        line._cgsms_apply_pending_reports()  # reports that came early
        return
    # The provider certainly does not have it: safe to send again.
    requeue(model, line, sms)


def requeue(model, line, sms=None):
    """Put the SMS of history ``line`` back in the queue (credits given back, they are
    reserved again when it leaves) and wake the queue up."""
    line._refund(model.env._("Not sent"))
    line.write(
        {"state": "queued", "error_class": False, "failure_reason": False, "lookup_count": 0}
    )
    if sms:
        sms.write({"state": "outgoing", "failure_type": False, "to_delete": False})
    else:
        model.sudo().create(
            {
                "uuid": line.sms_uuid,
                "number": line.number,
                "body": line.body,
                "partner_id": line.partner_id.id,
                "mail_message_id": line.mail_message_id.id,
                "cgsms_company_id": line.company_id.id,
                "cgsms_recipient_id": line.id,
                "state": "outgoing",
            }
        )
    cron = model.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
    if cron:
        cron.sudo()._trigger()


def check_and_resend(model, lines):
    """A person's "Check and resend" on lines "To check": looked up once more; sent if
    the provider has it, else back in the queue. Returns how many were queued again."""
    queued = 0
    for account, group in lines.sudo().grouped("account_id").items():
        outcomes = lookup(model, account, group) if account else {}
        for line in group:
            outcome = outcomes.get(line.id)
            if isinstance(outcome, Exception):
                raise UserError(
                    model.env._(
                        "The provider could not be reached to check the SMS to %(number)s. "
                        "Try again in a few minutes.",
                        number=line.number,
                    )
                )
            sms = model.sudo().search([("uuid", "=", line.sms_uuid)], limit=1)
            if outcome is not None and outcome.found:
                resolve(model, account, line, outcome)
            else:
                # Not at the provider, or no way to ask: the person checked, send again.
                requeue(model, line, sms)
                queued += 1
    return queued
