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
