"""The transaction policy of the delivery engine: whose transaction a send runs in.

A provider is called only in a transaction that is the engine's own (the SMS queue cron, a
queue job, the hand-over after a user's commit): there the engine commits its claims before
the calls and the results after them. Every other transaction (a user's request, an
automation, a test) only queues. Which transaction is the engine's is said by the code that
opened it, with :func:`owning`, never by a context key, which any JSON-RPC caller could set.
"""

import threading
from contextlib import contextmanager

_local = threading.local()


def _owned():
    owned = getattr(_local, "owned", None)
    if owned is None:
        owned = _local.owned = set()
    return owned


@contextmanager
def owning(cr, commit=True):
    """Within this block, ``cr``'s transaction is the engine's own (when ``commit``): the
    engine may commit it and call providers in it."""
    owned = _owned()
    key = id(cr)
    added = commit and key not in owned
    if added:
        owned.add(key)
    try:
        yield
    finally:
        if added:
            owned.discard(key)


def owns(cr):
    """Whether ``cr``'s transaction is the engine's own (see :func:`owning`)."""
    return id(cr) in _owned()
