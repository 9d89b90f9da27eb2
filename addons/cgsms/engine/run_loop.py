"""The run loop: drain an account's queue in small chunks, the next one claimed while the
calls of the last are in flight, within the time budget."""

import logging

from psycopg2.extensions import TransactionRollbackError

from . import claim, dispatch, time_budget, transaction

_logger = logging.getLogger(__name__)


def process_account_queue(model, account, deadline=None, unlink_failed=False, unlink_sent=True):
    """Drain the queue of ``account``'s company (only the SMS of ``model`` when it is not
    empty): claim small chunks and keep up to the account's calls in flight, until the
    queue is empty or the time budget (``deadline``, ``time_budget.clock()``) is spent.
    Returns how many SMS are left in the queue."""
    account = account.sudo()
    in_flight = max(1, account.cgsms_in_flight or 1)
    # Chunks of half the calls in flight: one leaves each time half of them are back.
    refill = max(1, in_flight // 2)
    # Read once per run, not once per chunk.
    default_country = account.company_id.country_id.code or ""
    # Without commits everything is claimed at once: a later claim failing on a
    # concurrent update would roll back the results of SMS already handed over.
    claim_all = bool(model) and not transaction.owns(model.env.cr)
    error = None
    # The next chunk is claimed while the calls are in flight (the claim takes as long
    # as a provider call): it leaves as soon as there is room.
    ready, known = model.browse(), None
    # Each claim goes on from the last one; once nothing is left after it, one claim from
    # the start takes what came back to the queue meanwhile (429s, routed here).
    after = 0
    with dispatch.Dispatcher(model, account, unlink_failed) as dispatcher:
        exhausted = False
        while True:
            room = len(model) if claim_all else in_flight - dispatcher.running
            if ready and room >= len(ready):
                dispatcher.submit(ready, known)
                ready, known = model.browse(), None
                continue
            if (
                not ready
                and not exhausted
                and not dispatcher.stopped
                and time_budget.time_left(deadline)
            ):
                stats = {}
                try:
                    claimed = claim.claim_chunk(
                        model,
                        account,
                        room if claim_all else max(room, refill),
                        stats,
                        default_country=default_country,
                        unlink_sent=unlink_sent,
                        after=after,
                    )
                except Exception as exc:
                    if not transaction.is_clean(model.env.cr):
                        raise  # nothing handed over yet: the caller's retry starts over
                    # Save what is in flight first; the error is raised afterwards.
                    error = exc
                    model.env.cr.rollback()
                    exhausted = True
                    continue
                if claim_all:
                    exhausted = True
                if transaction.owns(model.env.cr):
                    # Committed: what the caller did before is safe from a rollback.
                    transaction.mark_clean(model.env.cr)
                after = stats.get("last", after)
                if claimed:
                    ready, known = claimed, stats.get("outgoing")
                    continue
                if stats.get("taken"):
                    continue  # all refused before sending (invalid numbers...): go on
                if after:
                    after = 0
                    continue
                exhausted = True
            if not dispatcher.busy:
                if exhausted and dispatcher.requeued and not dispatcher.stopped:
                    # 429s went back to the queue: take them again at the paced rate.
                    exhausted = dispatcher.requeued = False
                    after = 0
                    continue
                break
            dispatcher.collect()
            if dispatcher.requeued and not dispatcher.stopped and not error:
                exhausted = dispatcher.requeued = False
    if error is not None:
        raise error
    after_run(model, account)
    return count_queued(model, account)


def process_company_queue(model, account, deadline=None, unlink_failed=False, unlink_sent=True):
    """Drain the queue of ``account``'s company through each of its active accounts in
    sequence order (the SMS routed to each, and those moved to it when another one certainly
    could not send them). Returns how many SMS are left in the queue."""
    Account = model.env["cgsms.account"].sudo()
    ids = [row[0] for row in Account._cgsms_route_table(account.company_id.id)] or [account.id]
    # The accounts SMS are routed or moved to run in this loop: no need to wake them.
    model = model.with_context(cgsms_company_run=True)
    left = None
    # A second pass when SMS moved to an account that ran before (failover, rerouting).
    for _pass in range(3 if len(ids) > 1 else 1):
        before = left
        for current in Account.browse(ids):
            left = model._cgsms_process_account_queue(
                current, deadline, unlink_failed=unlink_failed, unlink_sent=unlink_sent
            )
        if not left or left == before or not time_budget.time_left(deadline):
            break
    return left


def after_run(model, account):
    commit = transaction.owns(model.env.cr)
    try:
        with model.env.cr.savepoint():
            account._check_low_balance()
    except TransactionRollbackError:
        _logger.info("Low-balance check of account %s skipped (concurrent update)", account.id)
    if commit:
        model.env.cr.commit()  # pylint: disable=invalid-commit


def count_queued(model, account):
    domain = [
        ("state", "=", "outgoing"),
        ("to_delete", "!=", True),
        ("cgsms_company_id", "=", account.company_id.id),
    ]
    if model.ids:
        domain.append(("id", "in", model.ids))
    return model.sudo().search_count(domain)
