"""The hand-over from a user's transaction to the delivery engine.

No provider call ever happens inside a user's transaction: a request that rolls back (an
error after the send button, a serialization failure replayed by Odoo) would otherwise have
sent SMS that nothing records, and a replayed request would send them again. A front door
only queues (``sms.sms`` rows in state "outgoing"); the SMS it queued leave once its
transaction has committed, in a cursor of the engine's own, which claims (history line,
"sending", debit) and commits that claim before any call. A rolled-back request queued
nothing, so nothing leaves; a replayed one queues once.

The SMS queue cron is triggered as well: if the process dies between the commit and the
hand-over, or the hand-over fails, the queue run sends what is left.
"""

import logging
from datetime import timedelta

from odoo import api, fields

from .. import compat
from . import run_loop, time_budget, transaction

_logger = logging.getLogger(__name__)

_PENDING_KEY = "cgsms.handoff"
# A hand-over keeps the request this long at most; what is left goes to the SMS queue cron.
HANDOFF_SECONDS = 20.0


def deferred(env):
    """Whether an SMS sent in ``env``'s transaction only queues (a user's transaction): it
    leaves after the commit. Tests, which never commit, send at once."""
    return not (transaction.owns(env.cr) or compat.testing())


def after_commit(sms, account, unlink_failed=False, unlink_sent=True):
    """Send ``sms`` (sms.sms records, "outgoing") through ``account`` once the current
    transaction commits, in a cursor of the engine's own."""
    cr = sms.env.cr
    data = cr.postcommit.data
    pending = data.get(_PENDING_KEY)
    if pending is None:
        pending = data[_PENDING_KEY] = {}
        dbname, uid, context = sms.env.cr.dbname, sms.env.uid, dict(sms.env.context)
        cr.postcommit.add(lambda: _run(dbname, uid, context, pending))
        # Safety net, once per transaction and after the hand-over's budget (not racing it):
        # the queue run sends whatever the hand-over could not.
        cron = sms.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(fields.Datetime.now() + timedelta(seconds=HANDOFF_SECONDS * 2))
    key = (account.id, bool(unlink_failed), bool(unlink_sent))
    pending.setdefault(key, set()).update(sms.ids)


def _run(dbname, uid, context, pending):
    from odoo.modules.registry import Registry

    registry = Registry(dbname)
    for (account_id, unlink_failed, unlink_sent), ids in pending.items():
        try:
            with registry.cursor() as cr:
                env = api.Environment(cr, uid, context)
                run_now(env, account_id, sorted(ids), unlink_failed, unlink_sent)
        except Exception:
            # Committed and queued: the SMS queue cron sends them.
            _logger.exception(
                "Hand-over of %s SMS to account %s failed: the SMS queue sends them",
                len(ids),
                account_id,
            )


def run_now(env, account_id, sms_ids, unlink_failed=False, unlink_sent=True):
    """Deliver the SMS ``sms_ids`` of ``account_id`` in ``env``'s own transaction, which the
    engine commits at each step (claims before calls, results after them)."""
    Sms = env["sms.sms"].sudo()
    account = env["cgsms.account"].sudo().browse(account_id).exists()
    sms = Sms.browse(sms_ids).exists().filtered(lambda s: s.state == "outgoing")
    if not (account and account.active and sms):
        return
    deadline = time_budget.deadline_within(HANDOFF_SECONDS)
    with transaction.owning(env.cr, clean=True):
        run_loop.process_company_queue(
            sms, account, deadline, unlink_failed=unlink_failed, unlink_sent=unlink_sent
        )
    sms.exists().mail_message_id._notify_message_notification_update()
    env.cr.commit()
