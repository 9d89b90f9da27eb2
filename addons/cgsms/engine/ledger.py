"""The credits of a claim: reserved under the account's row lock, so that concurrent sends
never overdraw, and debited in one INSERT (``cgsms.credit.line``)."""

from . import policy, results, route


def reserve(model, account, candidates, now, read_committed=False):
    """Reserve the credits of ``candidates`` (sms, history line, E.164, segment info, cost,
    (line's cost, attempts) before the claim) on ``account``'s ledger, in order, while they
    last. Returns the sms.sms reserved; the others fail for want of credits.
    ``read_committed``: the claim runs in a READ COMMITTED transaction of its own, where the
    balance is folded first."""
    Sms = model.env["sms.sms"].sudo()
    # The row lock is held only for the balance and the debits.
    account._lock()
    if read_committed:
        account._credit_fold()
    available = account._credit_balances().get(account.id, 0.0)
    reserved = Sms
    debits = []
    moved = model.env["cgsms.account"]
    for sms, recipient, e164, info, cost, before in candidates:
        if not policy.has_credits(cost, available):
            # Not reserved: the line keeps what it had before this claim.
            recipient.write({"cost": before[0], "attempts": before[1]})
            reason = policy.credits_error(model.env, cost, available)
            # Another account of the company, with credits of its own, may send it.
            target = route.next_account(model.env, account, sms, e164)
            if target:
                results.move(sms, account, target, reason)
                moved |= target
            else:
                results.fail(sms, "insufficient_credit", reason)
            continue
        available -= cost
        debits.append((recipient.id, e164, info.segments, -cost))
        reserved |= sms
    # The low-balance check runs once at the end of the queue run, not per chunk.
    model.env["cgsms.credit.line"].sudo()._cgsms_insert_debits(account, debits, now)
    if moved:
        Sms._cgsms_wake_accounts(moved)
    return reserved
