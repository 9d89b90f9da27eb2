"""The time budget of a queue run: Odoo's workers are killed at their real-time and CPU
limits, so a run stops claiming early enough for the calls in flight to come back, commits
and re-triggers itself."""

import resource
import sys
import time

from odoo.service.server import WorkerCron
from odoo.tools import config

# A queue run stops claiming this long before the worker's time limit, or a quarter of it.
TIME_MARGIN = 25.0
# Pacing needs the real clock, also when a test freezes time (freezegun replaces the time
# functions it finds as module attributes, not the ones kept in a container).
_REAL_CLOCK = (time.monotonic,)


def deadline():
    """``clock()`` instant at which a queue run stops claiming: before the
    worker's real-time limit (``limit_time_real_cron``, else ``limit_time_real``), with a
    margin for the calls still in flight."""
    limit = config.get("limit_time_real_cron") or 0
    if limit <= 0:
        limit = config.get("limit_time_real") or 0
    if limit <= 0:
        return None
    cron_worker_heartbeat()
    return clock() + time_budget(limit)


def deadline_within(seconds):
    """:func:`deadline`, but no later than ``seconds`` from now."""
    limit = deadline()
    soon = clock() + seconds
    return soon if limit is None else min(limit, soon)


def time_left(deadline):
    if deadline is not None and clock() >= deadline:
        return False
    # Prefork workers are also killed at their CPU limit (RLIMIT_CPU, set per job).
    soft, _hard = resource.getrlimit(resource.RLIMIT_CPU)
    if soft != resource.RLIM_INFINITY:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        if usage.ru_utime + usage.ru_stime > soft - 10:
            return False
    return True


def cron_worker_heartbeat():
    """In a prefork cron worker, tell the watchdog that the worker is alive.

    The watchdog counts from the worker's last heartbeat, sent before the worker sleeps up to
    a minute waiting for jobs: a job starting after that sleep would be killed long before the
    time limit it is given. One heartbeat when the queue run starts makes the watchdog and the
    run's budget count from the same instant; the run then stops within the limit."""
    frame = sys._getframe(1)
    while frame is not None:
        worker = frame.f_locals.get("self")
        if isinstance(worker, WorkerCron) and getattr(worker, "multi", None):
            worker.multi.pipe_ping(worker.watchdog_pipe)
            return True
        frame = frame.f_back
    return False


def time_budget(limit):
    """Seconds a queue run may claim within a worker's real-time ``limit``: it keeps a margin
    for the calls still in flight when it stops."""
    return max(limit - max(TIME_MARGIN, limit / 4), limit / 4)


def clock():
    return _REAL_CLOCK[0]()
