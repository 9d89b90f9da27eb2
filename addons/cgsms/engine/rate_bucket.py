"""The token bucket of an account's rate (messages per second), shared by every worker and
server through a row of the unlogged table ``cgsms_rate_bucket``, apart from the account's
row so that it never waits for a credit reservation."""

from . import time_budget, transaction


def reserve_slots(model, account, count, cursor=None, rate=None, then=None):
    """Reserve ``count`` send slots in the account's token bucket, shared by every worker
    and server (a row of the database), and return the ``time_budget.clock()`` instant of
    each. The bucket is updated in a short transaction of its own when committing is
    allowed, so that it never waits for our claim's locks. ``rate``: the account's, when
    the caller has it; ``then(cursor)``: called in the same short transaction of
    ``cursor``, before it commits (only when the bucket is updated there: with a ``cursor``
    and a rate)."""
    if rate is None:
        rate = account.cgsms_rate_limit
    rate = rate or 0.0
    if rate <= 0 or count <= 0:
        return [time_budget.clock()] * count
    query = (
        "INSERT INTO cgsms_rate_bucket AS b (account_id, next_slot) "
        "VALUES (%(id)s, EXTRACT(EPOCH FROM clock_timestamp()) + %(span)s) "
        "ON CONFLICT (account_id) DO UPDATE SET next_slot = GREATEST("
        "EXTRACT(EPOCH FROM clock_timestamp()), b.next_slot) + %(span)s "
        "RETURNING b.next_slot - %(span)s, EXTRACT(EPOCH FROM clock_timestamp())"
    )
    params = {"span": count / rate, "id": account.id}
    if cursor is not None:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        cursor.execute(query, params)
        start, db_now = cursor.fetchone()
        if then is not None:
            then(cursor)
        cursor.commit()
    elif transaction.owns(model.env.cr):
        with model.env.registry.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(query, params)
            start, db_now = cr.fetchone()
    else:
        model.env.cr.execute(query, params)
        start, db_now = model.env.cr.fetchone()
    first = time_budget.clock() + (float(start) - float(db_now))
    return [first + i / rate for i in range(count)]


def hold_rate(model, account, seconds):
    """The provider answered 429: no slot of this account starts before ``seconds``."""
    query = (
        "INSERT INTO cgsms_rate_bucket AS b (account_id, next_slot) "
        "VALUES (%(id)s, EXTRACT(EPOCH FROM clock_timestamp()) + %(seconds)s) "
        "ON CONFLICT (account_id) DO UPDATE SET next_slot = GREATEST("
        "b.next_slot, EXTRACT(EPOCH FROM clock_timestamp()) + %(seconds)s)"
    )
    params = {"id": account.id, "seconds": seconds}
    if transaction.owns(model.env.cr):
        with model.env.registry.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(query, params)
    else:
        model.env.cr.execute(query, params)
