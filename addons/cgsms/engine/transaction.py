"""The transaction policy of the delivery engine: whose transaction a send runs in.

A provider is called only in a transaction that is the engine's own (the SMS queue cron, a
queue job, the hand-over after a user's commit): there the engine commits its claims before
the calls and the results after them. Every other transaction (a user's request, an
automation, a test) only queues. Which transaction is the engine's is said by the code that
opened it, with :func:`owning`, never by a context key, which any JSON-RPC caller could set.

An owned transaction is *clean* when it holds nothing of a caller that a rollback could lose
(the cron and the jobs commit before the engine starts; a run loop's transaction is clean
once its first claim has committed): a claim that loses a race there is rolled back and tried
again, in a READ COMMITTED transaction of its own.
"""

import threading
from contextlib import contextmanager

_local = threading.local()


def _owned():
    owned = getattr(_local, "owned", None)
    if owned is None:
        owned = _local.owned = {}
    return owned


@contextmanager
def owning(cr, commit=True, clean=False):
    """Within this block, ``cr``'s transaction is the engine's own (when ``commit``): the
    engine may commit it and call providers in it. ``clean``: see the module's docstring."""
    owned = _owned()
    key = id(cr)
    added = commit and key not in owned
    if added:
        owned[key] = {"clean": bool(clean)}
    try:
        yield
    finally:
        if added:
            owned.pop(key, None)


def owns(cr):
    """Whether ``cr``'s transaction is the engine's own (see :func:`owning`)."""
    return id(cr) in _owned()


def is_clean(cr):
    """Whether ``cr``'s transaction is the engine's own and holds nothing of a caller."""
    state = _owned().get(id(cr))
    return bool(state and state["clean"])


def mark_clean(cr):
    """What the caller did before is committed: ``cr``'s transaction is clean from now on."""
    state = _owned().get(id(cr))
    if state is not None:
        state["clean"] = True


@contextmanager
def read_committed(env):
    """A transaction of its own, READ COMMITTED, committed at the end of the block (rolled back
    on an error); yields a superuser environment on it.

    For work that serialises on an advisory lock and must then see what the others committed
    meanwhile: in Odoo's REPEATABLE READ, a lock taken after the transaction's first query
    shows nothing committed since that query, and a request has always queried before its
    controller runs. Under a test cursor (Odoo's tests share one transaction), the block runs
    in a savepoint of the caller's transaction instead."""
    from odoo import SUPERUSER_ID, api

    if shares_transaction(env.cr):
        with env.cr.savepoint():
            yield env(su=True)
        return
    with env.registry.cursor() as cr:
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        yield api.Environment(cr, SUPERUSER_ID, dict(env.context))


def shares_transaction(cr):
    """Whether ``cr`` is part of a test's single transaction (Odoo's tests never commit), where
    a transaction of one's own would not see the test's data."""
    from odoo import sql_db

    from .. import compat

    return compat.testing() or type(cr) is not sql_db.Cursor
