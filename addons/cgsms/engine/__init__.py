"""The delivery engine: plain modules, one concern each; the models call into it.

- ``transaction``: whose transaction a send runs in (the engine's own, or a user's);
- ``handoff``: a user's transaction only queues, its SMS leave after its commit;
- ``targets``, ``compose``: a send's entries resolved into checked numbers, then queued;
- ``policy``: who may send, to which numbers, at what price, credits, length, opt-out;
- ``run_loop``: drain an account's queue within the ``time_budget``;
- ``claim``: take a chunk, check it, write its history lines, reserve its credits
  (``ledger``), mark it "sending", commit;
- ``dispatch``: the provider calls on a thread pool, paced by the ``rate_bucket``;
- ``results``: save what the provider answered;
- ``reconcile``: look up at the provider what may have left;
- ``route``: which of a company's accounts sends each SMS, and the next one after a failure;
- ``health``: an account's errors and slow answers; out of rotation for a while past them;
- ``failure``: a provider's refusal of one SMS read as an account error;
- ``sql``: bulk updates of the hot path, and its statements as PL/pgSQL functions (planned
  once per connection).
"""

from . import (
    claim,
    compose,
    dispatch,
    failure,
    handoff,
    health,
    ledger,
    policy,
    rate_bucket,
    reconcile,
    results,
    route,
    run_loop,
    sql,
    targets,
    time_budget,
    transaction,
)
