"""Provider results saved on the history lines, Odoo's sms.sms and its trackers: sent,
back to the queue (the provider certainly did not take it), "checking" (it may have), or
failed with the reason."""

from datetime import timedelta

from odoo import fields
from odoo.tools import SQL

from . import reconcile, route, sql, transaction
from .failure import ProviderFailure

# After this many temporary failures (provider unreachable) an SMS is given up.
MAX_ATTEMPTS = 5
# After this many "too many requests" an SMS waits for the next run of the queue.
MAX_RATE_LIMITED = 15
# Failures where the SMS certainly did not leave and another account may send it: the
# provider unreachable, the account refused (credentials, credit) or the destination refused.
FAILOVER_CLASSES = frozenset({"temporary", "auth", "insufficient_credit", "rejected"})
# Our error classes mapped onto Odoo's sms.sms failure types (None: provider error kept
# as the notification's failure reason, see sms.tracker._action_update_from_provider_error).
FAILURE_TYPES = {
    "auth": "sms_acc",
    "insufficient_credit": "sms_credit",
    "invalid_number": "sms_number_format",
    "missing_number": "sms_number_missing",
    "rate_limited": "sms_server",
    "temporary": "sms_server",
    "blacklisted": "sms_blacklist",
    "duplicate": "sms_duplicate",
    "rejected": None,
    "unknown": None,
}
# The history lines of the SMS the provider took (``apply_results``): planned once per
# connection (``sql.function``).
LINES_SENT = sql.function(
    "cgsms_recipient_sent",
    "p_ids integer[], p_provider_ids text[], p_sent timestamp, p_written timestamp,"
    " p_uid integer",
    "void",
    """
UPDATE cgsms_recipient r
   SET provider_message_id = v.provider_message_id, state = 'sent', date_sent = p_sent,
       write_date = p_written, write_uid = p_uid
  FROM unnest(p_ids, p_provider_ids) AS v(id, provider_message_id)
 WHERE r.id = v.id;
""",
)
# Odoo's trackers of the SMS of uuids ``p_uuids`` (sms.sms's sms_tracker_id, found by uuid
# as it does).
TRACKERS = sql.function(
    "cgsms_sms_trackers",
    "p_uuids text[]",
    "SETOF integer",
    "RETURN QUERY SELECT id FROM sms_tracker WHERE sms_uuid = ANY(p_uuids);",
)
# An SMS that did not leave, back in Odoo's queue: the claim marked it sent and to be
# garbage-collected (``claim.claim``).
_BACK_IN_QUEUE = {"state": "outgoing", "failure_type": False, "to_delete": False}


def apply_results(model, account, results, unlink_failed=False, lines=None, early=None):
    """Save provider results (``[(sms, SendResult)]``), in the calling thread. Returns
    (requeued count, whether the run should stop: provider unreachable). ``lines``: {sms id:
    (history line id, uuid, send id)} of those SMS when the caller has them (the SMS sent
    are then not read again; the claim already marked them sent in Odoo's queue).
    ``early``: where the caller looks, after this commit, for delivery reports of these SMS
    committed meanwhile (``EarlyReports``); without it, a transaction of its own does once
    this one commits."""
    now = fields.Datetime.now()
    lines = lines or {}
    sent_ids, sent_rows, sent_uuids = [], [], []
    sends = set()  # the sends of the SMS sent, None when one of them is not known
    requeued, stop, checking, retry_at = 0, False, False, 0
    moved = model.env["cgsms.account"]
    for sms, result in results:
        if result.ok:
            known = lines.get(sms.id)
            if known:
                line_id, uuid, message_id = known
                if sends is not None:
                    sends.add(message_id)
            else:
                line_id, uuid, sends = sms.cgsms_recipient_id.id, sms.uuid, None
            sent_rows.append((line_id, result.message_id))
            sent_uuids.append(uuid)
            sent_ids.append(sms.id)
            continue
        recipient = sms.cgsms_recipient_id
        if result.maybe_taken:
            # The provider may have taken it: looked up later, never resent blindly.
            mark_checking(sms, result)
            checking = True
            continue
        recipient._refund(model.env._("Not sent"))
        reason = account._error_message(ProviderFailure(result))
        if may_fail_over(result, recipient):
            target = route.next_account(model.env, account, sms, recipient.number)
            if target:
                move(sms, account, target, reason)
                moved |= target
                continue
        if result.error_class == "rate_limited":
            vals = {"state": "queued", "error_class": "rate_limited", "failure_reason": reason}
            if result.provider_code == "not_attempted":
                vals["attempts"] = max(0, recipient.attempts - 1)  # never reached it
            recipient.write(vals)
            sms.write(_BACK_IN_QUEUE)
            requeued += 1
            if recipient.attempts >= MAX_RATE_LIMITED:
                stop = True
                retry_at = max(retry_at, recipient.attempts)
            continue
        if result.error_class == "temporary" and recipient.attempts < MAX_ATTEMPTS:
            # Provider unreachable: back to the queue, the SMS queue cron tries later.
            recipient.write(
                {"state": "queued", "error_class": "temporary", "failure_reason": reason}
            )
            sms.write(_BACK_IN_QUEUE)
            stop = True
            retry_at = max(retry_at, recipient.attempts)
            continue
        fail(sms, result.error_class or "unknown", reason, unlink_failed)
    sent = model.env["sms.sms"].sudo().browse(sent_ids)
    if sent:
        Recipient = model.env["cgsms.recipient"].sudo()
        line_ids = [row[0] for row in sent_rows]
        Recipient.flush_model(["provider_message_id", "state", "date_sent"])
        model.env.cr.execute(
            SQL(
                "SELECT %s(%s, %s, %s, %s, %s)",
                SQL.identifier(LINES_SENT),
                line_ids,
                [row[1] for row in sent_rows],
                now,
                sql.transaction_now(model.env.cr),
                model.env.uid,
            )
        )
        sql.written(Recipient, line_ids, ["provider_message_id", "state", "date_sent"])
        sent_lines = Recipient.browse(line_ids)
        sent_lines._cgsms_left_queue(None if sends is None else sends - {None, False})
        Tracker = model.env["sms.tracker"].sudo()
        Tracker.flush_model(["sms_uuid"])
        model.env.cr.execute(f"SELECT * FROM {TRACKERS}(%s)", [sent_uuids])
        trackers = Tracker.browse([row[0] for row in model.env.cr.fetchall()])
        trackers._action_update_from_sms_state("pending")
        # Reports that came early (from what was just saved: reading the lines again
        # would fetch every column of each), and those committed while this transaction
        # ran, which its snapshot does not show.
        Report = model.env["cgsms.delivery.report"].sudo()
        provider_ids = [row[1] for row in sent_rows]
        if early is not None:
            # The caller looks after this commit, which also finds those committed before.
            early.add(provider_ids, sent_uuids)
        else:
            Report._cgsms_apply_pending([account.id], provider_ids, sent_uuids)
            Report._cgsms_recheck_after_commit(account, provider_ids, sent_uuids)
    if moved:
        sent._cgsms_wake_accounts(moved)
    if retry_at:
        schedule_retry(model, retry_at)
    if checking:
        reconcile.schedule_reconcile(model)
    if transaction.owns(model.env.cr):
        model.env.cr.commit()  # pylint: disable=invalid-commit
    return requeued, stop


def may_fail_over(result, recipient):
    """Whether the SMS of ``result`` certainly did not leave and may go through another
    account: never after an ambiguous failure, which is looked up at this provider first."""
    if result.maybe_taken or result.provider_code == "not_attempted":
        return False
    if result.error_class == "rate_limited":
        return recipient.attempts >= MAX_RATE_LIMITED  # a 429 beyond a wait
    return result.error_class in FAILOVER_CLASSES


def move(sms, account, target, reason):
    """Back in the queue for ``target`` (another account of the company), never again
    through ``account``."""
    tried = route.tried_ids(sms) | {account.id}
    sms.cgsms_recipient_id.write(
        {
            "state": "queued",
            "failure_reason": sms.env._(
                "Not sent through %(account)s (%(reason)s): moved to %(target)s.",
                account=account.name,
                reason=reason,
                target=target.name,
            ),
        }
    )
    sms.write(
        {
            **_BACK_IN_QUEUE,
            "cgsms_account_id": target.id,
            "cgsms_tried_accounts": ",".join(str(i) for i in sorted(tried)),
        }
    )


def mark_checking(model, result):
    """The call failed in a way where the provider may have taken the SMS: the debit is
    kept and the SMS is looked up at the provider before anything else happens."""
    model.ensure_one()
    detail = " ".join(p for p in (result.provider_code, result.provider_text) if p)
    model.cgsms_recipient_id.write(
        {
            "state": "checking",
            "error_class": "unknown",
            "failure_reason": model.env._(
                "The provider's answer was lost (%(detail)s): checking with the provider "
                "whether the SMS left.",
                detail=detail or model.env._("no answer"),
            ),
        }
    )
    # Odoo's "Processing" until the provider tells, kept by the garbage collection.
    model.write({"state": "process", "to_delete": False})


def fail(model, error_class, reason, unlink_failed=False):
    model.ensure_one()
    model.cgsms_recipient_id.write(
        {"state": "failed", "error_class": error_class, "failure_reason": reason}
    )
    failure_type = FAILURE_TYPES.get(error_class)
    if failure_type:
        model.sms_tracker_id._action_update_from_sms_state(
            "error", failure_type=failure_type, failure_reason=reason
        )
    else:
        model.sms_tracker_id._action_update_from_provider_error(error_class)
    model.write(
        {
            "state": "error",
            "failure_type": failure_type or "unknown",
            "to_delete": unlink_failed,
        }
    )


def flag_unknown(model, reason, unlink_failed=False):
    """The SMS may have left (no answer in time): keep the debit, never resend it
    automatically, show it as failed with the reason so that a person decides."""
    model.ensure_one()
    model.cgsms_recipient_id.write(
        {"state": "unknown", "error_class": "unknown", "failure_reason": reason}
    )
    model.sms_tracker_id._action_update_from_sms_state(
        "error", failure_type="unknown", failure_reason=reason
    )
    model.write({"state": "error", "failure_type": "unknown", "to_delete": unlink_failed})


def schedule_retry(model, attempts):
    cron = model.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
    if cron:
        cron.sudo()._trigger(fields.Datetime.now() + timedelta(minutes=2 ** min(attempts, 6)))
