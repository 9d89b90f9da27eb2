"""Where the CPU of a production bench goes (``bench.py --production ... --cprofile``).

As a launcher (``bench_cprofile.py ODOO_BIN ARGS...``) it runs odoo-bin with every thread of
every process under its own ``cProfile`` (the prefork workers' request threads, the engine's
HTTP threads, the job runner), each written to ``$CGSMS_BENCH_PROFILE_DIR`` when the thread
ends, measuring each thread's CPU time (``time.thread_time``), not its waits. ``report`` then
adds them up and splits the delivery's CPU among the steps of the hot path. cProfile slows
what it measures several times over: the shares are what the table is for; applied to the
CPU measured in a run without it, they give the milliseconds of each step.
"""

import cProfile
import os
import pstats
import runpy
import sys
import threading
import time
from pathlib import Path

# (label, [(file ending, function)]): the cumulative CPU time of the functions found in the
# profiles; indented labels are parts of the one above them.
STEPS = [
    ("claim (whole)", [("engine/claim.py", "claim_chunk")]),
    ("  text made GSM-7 (per SMS)", [("models/cgsms_account_provider.py", "_cgsms_prepare_body")]),
    ("  segment count (per SMS)", [("tools/sms_segments.py", "count_segments")]),
    ("  normalise numbers", [("tools/phone.py", "normalize_number")]),
    ("  policy and pricing", [("engine/policy.py", "destination")]),
    ("  history lines (create missing)", [("engine/claim.py", "ensure_recipients")]),
    ("  ledger (reserve credits)", [("engine/ledger.py", "reserve")]),
    ("submit: messages, rate bucket", [("engine/dispatch.py", "submit")]),
    ("  rate bucket", [("engine/rate_bucket.py", "reserve_slots")]),
    ("HTTP call and JSON (threads)", [("engine/dispatch.py", "_call")]),
    ("  HTTP exchange (transport.py)", [("providers/transport.py", "request")]),
    ("  JSON encode and decode", [("json/__init__.py", "dumps"), ("json/__init__.py", "loads")]),
    ("results (whole)", [("engine/results.py", "apply_results")]),
    (
        "  trackers and notifications",
        [("sms/models/sms_tracker.py", "_action_update_from_sms_state")],
    ),
    (
        "  early delivery reports",
        # the lookup both ways in (an SMS saved, or a lookup that found it) go through
        [("models/cgsms_delivery_report.py", "_cgsms_apply_pending")],
    ),
    ("bulk SQL updates (engine/sql.py)", [("engine/sql.py", "bulk_update")]),
    ("commits", [("odoo/sql_db.py", "commit")]),
    ("SQL execute (all)", [("odoo/sql_db.py", "execute")]),
    ("queue_job: job runner (master)", [("queue_job/jobrunner/runner.py", "run")]),
]


# What the delivery is: the queue_job jobs (each a request to /queue_job/runjob), the engine's
# HTTP threads and the job runner of the master.
DELIVERY = [
    [("queue_job/controllers/main.py", "runjob")],
    [("engine/dispatch.py", "_call")],
    [("queue_job/jobrunner/runner.py", "run")],
]


def _profiled_run(original):
    def run(self):
        profile = cProfile.Profile(time.thread_time)  # CPU of this thread, not waits
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()
            name = f"{os.getpid()}-{threading.get_ident()}-{id(self)}.prof"
            profile.dump_stats(os.path.join(os.environ["CGSMS_BENCH_PROFILE_DIR"], name))

    return run


def _launch(argv):
    threading.Thread.run = _profiled_run(threading.Thread.run)
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")


def _cumulative(stats, targets):
    total = 0.0
    for (filename, _line, function), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        for ending, name in targets:
            if function == name and filename.endswith(ending):
                total += ct
    return total


def report(directory, sms_count):
    """Lines of the table: step, share of the delivery's profiled CPU (the jobs, the HTTP
    threads and the job runner; not the warm-up requests) and its ms per SMS under cProfile.
    Applied to the CPU measured without the profiler, the shares tell the ms of each step."""
    files = sorted(str(p) for p in Path(directory).glob("*.prof") if p.stat().st_size)
    if not files:
        return ["no profile written (did the threads end?)"]
    stats = pstats.Stats(files[0])
    for name in files[1:]:
        stats.add(name)
    delivery = sum(_cumulative(stats, targets) for targets in DELIVERY)
    lines = [
        f"profiled CPU: {stats.total_tt:.1f} s in {len(files)} threads, of which the delivery "
        f"{delivery:.1f} s ({1000 * delivery / sms_count:.2f} ms per SMS under cProfile)",
        f"{'step':<36} | {'share':>6} | {'ms/SMS under cProfile':>7}",
    ]
    for label, targets in STEPS:
        seconds = _cumulative(stats, targets)
        share = seconds / delivery if delivery else 0.0
        lines.append(f"{label:<36} | {100 * share:>5.1f}% | {1000 * seconds / sms_count:>7.3f}")
    return lines


def top(directory, limit=25):
    """The functions with the most time of their own, over every profile of ``directory``."""
    files = sorted(str(p) for p in Path(directory).glob("*.prof") if p.stat().st_size)
    stats = pstats.Stats(files[0])
    for name in files[1:]:
        stats.add(name)
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:limit]
    return [
        f"{tt:8.2f}s own {ct:8.2f}s cum  {f}:{line} {fn}"
        for (f, line, fn), (_c, _n, tt, ct, _) in rows
    ]


if __name__ == "__main__":
    _launch(sys.argv[1:])
