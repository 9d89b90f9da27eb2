"""The health of an account: its errors and slow answers over a window (a row of the unlogged
table ``cgsms_account_health``, apart from the account's row so that it never waits for a
credit reservation). Past its threshold the account is taken out of rotation for a while,
then tried again, as GOV.UK Notify does; every switch is posted on the account and notified
to the SMS managers."""

import logging
import time
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import api, fields

from . import transaction
from .failure import ProviderFailure

_logger = logging.getLogger(__name__)

# Errors that say something about the account or the provider, not about one number.
HEALTH_CLASSES = frozenset({"temporary", "auth", "insufficient_credit", "unknown", "rate_limited"})
# Nothing sends until a person acts: out of rotation at once.
ACCOUNT_CLASSES = frozenset({"auth", "insufficient_credit"})
# A share of slow answers is judged on at least this many calls.
MIN_CALLS_FOR_SHARE = 20

# Calls answered well since this process last wrote an account's health: {(db, id): count}.
_HEALTHY_CALLS = {}

_UPSERT = """
INSERT INTO cgsms_account_health AS h (account_id, window_start, calls, errors, slow)
VALUES (%(id)s, %(now)s, %(calls)s, %(errors)s, %(slow)s)
ON CONFLICT (account_id) DO UPDATE SET
    calls = CASE WHEN h.window_start < %(since)s THEN %(calls)s ELSE h.calls + %(calls)s END,
    errors = CASE WHEN h.window_start < %(since)s THEN %(errors)s ELSE h.errors + %(errors)s END,
    slow = CASE WHEN h.window_start < %(since)s THEN %(slow)s ELSE h.slow + %(slow)s END,
    window_start = CASE WHEN h.window_start < %(since)s THEN %(now)s ELSE h.window_start END
RETURNING calls, errors, slow
"""


def create_table(cr):
    cr.execute(
        """
        CREATE UNLOGGED TABLE IF NOT EXISTS cgsms_account_health (
            account_id integer PRIMARY KEY REFERENCES cgsms_account (id) ON DELETE CASCADE,
            window_start double precision NOT NULL,
            calls integer NOT NULL DEFAULT 0,
            errors integer NOT NULL DEFAULT 0,
            slow integer NOT NULL DEFAULT 0
        )
        """
    )


def record(model, account, answers, company_id=None):
    """Count the provider's answers (``[(sms, SendResult)]``) of ``account``; take it out of
    rotation when they cross its thresholds. Only for companies with several accounts
    (``company_id``: the account's company, when the caller has it). The bookkeeping never
    stops a send: a failure of its own is logged."""
    try:
        _record(model, account, answers, company_id)
    except Exception:
        _logger.exception("Health of SMS account %s not recorded", account.id)


def _record(model, account, answers, company_id=None):
    counted = [r for _sms, r in answers if r.provider_code != "not_attempted"]
    if not counted:
        return
    # The route table is cached per process: with the company known, a batch of results
    # does not read the account's row again.
    company_id = company_id or account.company_id.id
    if len(model.env["cgsms.account"]._cgsms_route_table(company_id)) < 2:
        return
    account = account.sudo()
    errors = [r for r in counted if not r.ok and r.error_class in HEALTH_CLASSES]
    slow_after = account.health_slow_seconds or 0.0
    slow = sum(
        1 for r in counted if slow_after and (getattr(r, "elapsed", 0.0) or 0.0) > slow_after
    )
    key = (model.env.cr.dbname, account.id)
    if not errors and not slow:
        # Healthy answers are only counted (in this process) until something goes wrong:
        # no write per batch while all is well.
        _HEALTHY_CALLS[key] = _HEALTHY_CALLS.get(key, 0) + len(counted)
        return
    now = time.time()
    params = {
        "id": account.id,
        "now": now,
        "since": now - max(1, account.health_window),
        "calls": len(counted) + _HEALTHY_CALLS.pop(key, 0),
        "errors": len(errors),
        "slow": slow,
    }
    calls, error_count, slow_count = _execute(model, _UPSERT, params)
    reason = _verdict(model.env, account, calls, error_count, slow_count, errors)
    if reason:
        _execute(model, "DELETE FROM cgsms_account_health WHERE account_id = %(id)s", params)
        switch(account, True, reason)


def _verdict(env, account, calls, error_count, slow_count, errors):
    if account.rotation_state == "out":
        return ""
    urgent = next((r for r in errors if r.error_class in ACCOUNT_CLASSES), None)
    if urgent is not None:
        return account._error_message(ProviderFailure(urgent))
    threshold = account.health_error_threshold
    if threshold and error_count > threshold:
        return env._(
            "%(errors)s errors in %(seconds)s seconds (last: %(last)s)",
            errors=error_count,
            seconds=account.health_window,
            last=account._error_message(ProviderFailure(errors[-1])) if errors else "",
        )
    share = account.health_slow_share
    if share and calls >= MIN_CALLS_FOR_SHARE and slow_count * 100.0 > share * calls:
        return env._(
            "%(slow)s of %(calls)s answers slower than %(limit)s seconds in %(seconds)s seconds",
            slow=slow_count,
            calls=calls,
            limit=account.health_slow_seconds,
            seconds=account.health_window,
        )
    return ""


def switch(account, out, reason):
    """Take ``account`` out of rotation (``out``) for its pause, or put it back; posted on the
    account with ``reason`` and notified to its company's SMS managers. In a transaction of
    its own when the engine owns the current one (the account's row is also locked by
    credit reservations)."""
    env = account.env
    if not transaction.owns(env.cr):
        _switch(account.sudo(), out, reason)
        return
    try:
        with env.registry.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            _switch(account.with_env(api.Environment(cr, env.uid, env.context)).sudo(), out, reason)
    except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
        _logger.info("Rotation switch of account %s skipped (concurrent update)", account.id)
    account.invalidate_recordset(["out_of_rotation_until", "out_of_rotation_reason"])


def back_in_rotation(account):
    switch(account, False, account.env._("The pause is over: the account is tried again."))


def _switch(account, out, reason):
    # NO KEY UPDATE: a plain FOR UPDATE would make the credit movements of transactions
    # already under way (their foreign key takes a KEY SHARE lock) fail to serialize.
    account.env.cr.execute(
        "SELECT out_of_rotation_until FROM cgsms_account WHERE id = %s FOR NO KEY UPDATE",
        [account.id],
    )
    row = account.env.cr.fetchone()
    if row is None or bool(row[0]) == bool(out):
        return  # another worker switched it already
    until = fields.Datetime.now() + timedelta(seconds=account.health_pause) if out else False
    account.invalidate_recordset(["out_of_rotation_until"])
    account.write(
        {"out_of_rotation_until": until, "out_of_rotation_reason": reason if out else False}
    )
    if out:
        body = account.env._(
            "Out of rotation until %(until)s: %(reason)s. Its SMS leave through the company's "
            "other SMS accounts meanwhile.",
            until=fields.Datetime.to_string(until),
            reason=reason,
        )
    else:
        body = account.env._("Back in rotation: %(reason)s", reason=reason)
    _logger.warning("SMS account %s: %s", account.id, body)
    account.message_post(
        body=body,
        partner_ids=account._low_balance_recipients().partner_id.ids,
        subtype_xmlid="mail.mt_note",
    )


def _execute(model, query, params):
    if transaction.owns(model.env.cr):
        with model.env.registry.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(query, params)
            return cr.fetchone() if cr.description else None
    model.env.cr.execute(query, params)
    return model.env.cr.fetchone() if model.env.cr.description else None
