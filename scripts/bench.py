#!/usr/bin/env python3
"""Benchmark: a CgSMS send against Odoo's stock ``sms.composer`` mass send, same partners.

    .venv/bin/python scripts/bench.py [--sizes 1000,10000,100000] [--db cgsms_bench]
        [--paths cgsms,stock] [--latency MS] [--compose-only]
    .venv/bin/python scripts/bench.py --production cron --sizes 5000 --latency 250 \
        --workers 2 --limit-time-real-cron 90

Both paths send to the project's fake gateway, running in its own process: CgSMS through the
sandbox provider account (one HTTP call per SMS, as real provider APIs work), the stock path
through IAP's JSON-RPC protocol (``sms.endpoint`` pointed at the gateway, batches of 500).
``--latency MS`` makes the gateway wait that long before answering each provider or IAP call,
as a provider that far away would.

For each size and path two phases are measured, each in a fresh Odoo process:
  compose + queue  CgSMS: a ``cgsms.message`` to N customers, sent (numbers normalised,
                   duplicates and opt-outs dropped, history lines and ``sms.sms`` created,
                   queued); stock: ``sms.composer`` in mass mode (``mass_keep_log=False``,
                   ``mass_force_send=False``) on the same N partners.
  delivery         ``sms.sms._process_queue()`` (what the SMS cron does) until the queue is
                   empty; the gateway must then hold exactly N messages, one per number.
Time is wall-clock seconds; SMS/s is N divided by it; memory is the growth of the process's
peak RSS during the phase (``getrusage`` maxrss after the phase minus before it, registry
already loaded).

``--failover`` measures a campaign whose primary provider fails half-way instead (see
``bench_failover.py``): a second account at a second gateway takes the rest, each number
leaves once (``--failover --sizes 5000``).

``--campaign`` measures a send to a customer group of N partners end to end instead: the
compose through the SMS form over HTTP, then the delivery on queue_job's workers, with the
seconds, peak memory and CPU of each phase and the time another user takes to open a form
meanwhile (see ``bench_campaign.py``; ``--campaign --sizes 100000``).

``--replies`` measures inbound replies instead: N customers answer at once over 16
connections, on the production set-up (2 HTTP workers), each reply matched and posted on its
record (see ``bench_replies.py``; ``--replies --sizes 500,5000 [--profile]``).

``--production MODES`` measures the CgSMS delivery as it runs in production instead: Odoo is
started as a server with prefork workers (``--workers``, Odoo's default limits unless given),
a send to N customers is queued from another process, and the SMS queue cron in Odoo's cron
workers delivers it. Measured from the end of the compose until no SMS is left to send; then
the gateway must hold exactly N messages, one per number, none may be left "sending" or
"unknown", and the server log must show no worker killed. Modes: ``cron`` (the SMS queue cron,
``--workers`` workers) and ``queue_job`` (addon ``cgsms_queue_job``, installed for the run:
``--queue-job-workers`` workers, ``--load=base,web,queue_job`` and
``ODOO_QUEUE_JOB_CHANNELS=root:4,root.cgsms:4``). Before the compose every HTTP worker loads the
registry (a server in service has it loaded); the CPU time of the Odoo server's processes,
PostgreSQL's and the gateway's during the delivery is reported per SMS. The account's rate
holds for all workers together: ``--rate`` above the figure to reach (e.g.
``--production cron,queue_job --sizes 5000 --latency 100 --rate 1000``).

The database is created (cgsms installed, no demo data) when missing, and kept (the queue_job
mode uses its own, ``<db>_queue_job``, where cgsms_queue_job is installed): the partners
are created once for the largest size. ``--rebuild`` starts from a new database.

One module per mode: ``bench_in_process.py`` (the default), ``bench_production.py``
(``--production``), ``bench_failover.py``, ``bench_replies.py``; what they share is in
``bench_common.py``. This file keeps the command line and the worker phases' dispatch.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import bench_campaign
import bench_common
import bench_failover
import bench_in_process
import bench_production
import bench_replies
from bench_common import (
    _ensure_database,
    _free_port,
    _Gateway,
    _odoo_init,
    _project_env,
    _psql_db,
    _worker,
)
from bench_in_process import _run_in_process
from bench_production import _mode_db, _run_production, _Server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    series = os.environ.get("ODOO_SERIES") or "18.0"
    parser.add_argument(
        "--db",
        # one per series (ODOO_SERIES=19.0: cgsms_bench_19), as the test databases
        default="cgsms_bench" + ("" if series == "18.0" else "_" + series.split(".")[0]),
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--paths", default="cgsms,stock", help="cgsms, stock or both")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the database")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="MS", help="gateway latency per call"
    )
    parser.add_argument("--compose-only", action="store_true", help="skip the delivery phase")
    parser.add_argument(
        "--production",
        metavar="MODES",
        help="cron and/or queue_job: deliver with an Odoo server in prefork mode",
    )
    parser.add_argument("--workers", type=int, default=2, help="HTTP workers (cron mode)")
    parser.add_argument("--queue-job-workers", type=int, default=4)
    parser.add_argument(
        "--limit-time-real-cron", type=int, help="Odoo's option (default: Odoo's default)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="give up a production run after S seconds"
    )
    parser.add_argument(
        "--ports",
        type=int,
        default=0,
        metavar="BASE",
        help="gateway on BASE, Odoo on BASE+1 and BASE+2 (default: free ports)",
    )
    parser.add_argument(
        "--update", action="store_true", help="update the cgsms module of the database first"
    )
    parser.add_argument(
        "--in-flight", type=int, help="the account's calls in flight (default: the account's)"
    )
    parser.add_argument(
        "--rate", type=float, help="the account's messages per second (default: the account's)"
    )
    parser.add_argument(
        "--extra-addons",
        metavar="DIR",
        help="one more addons directory (e.g. where cgsms_queue_job is, if not in addons/)",
    )
    parser.add_argument(
        "--failover",
        action="store_true",
        help="a campaign whose primary provider fails half-way (a second account takes over)",
    )
    parser.add_argument(
        "--replies", action="store_true", help="inbound replies at once (bench_replies.py)"
    )
    parser.add_argument(
        "--campaign",
        action="store_true",
        help="a send to a group of N customers end to end, compose and queue_job delivery",
    )
    parser.add_argument(
        "--probe-interval", type=float, default=3.0, help="--campaign: seconds between opens"
    )
    parser.add_argument(
        "--channels",
        help="queue_job's channels (default root:4,root.cgsms:4, e.g. root:4,root.cgsms:3 to "
        "keep one worker for the users)",
    )
    parser.add_argument("--connections", type=int, default=16, help="--replies: connections")
    parser.add_argument("--profile", action="store_true", help="--replies: profile first")
    parser.add_argument("--profile-size", type=int, default=300)
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="--production: every Odoo thread under cProfile, then where the CPU went",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--args", default="{}", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        return _worker_main(options.worker, options.db, json.loads(options.args))
    # Stopped from outside: the servers and the gateway are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))

    if not shutil.which("psql"):
        raise SystemExit("psql not found: run scripts/setup.sh first")
    sizes = [int(s) for s in options.sizes.split(",") if s.strip()]
    paths = [p for p in options.paths.split(",") if p.strip()]
    if set(paths) - {"cgsms", "stock"}:
        raise SystemExit("--paths: cgsms and/or stock")
    env, python, odoo_src = _project_env()
    if options.extra_addons:
        env["CGSMS_ADDONS"] += "," + str(Path(options.extra_addons).resolve())
    started = time.monotonic()
    # The queue_job mode has a database of its own: with cgsms_queue_job installed, the SMS
    # queue cron only queues jobs, which a server without queue_job loaded never runs.
    modes = options.production.split(",") if options.production else []
    databases = {mode: _mode_db(options.db, mode) for mode in modes} or {"": options.db}
    if options.campaign:
        databases = {"campaign": _mode_db(options.db, "queue_job")}
    for db in dict.fromkeys(databases.values()):
        _ensure_database(env, python, odoo_src, db, options.rebuild)
        if options.update:
            print(f"Updating cgsms in {db}...", flush=True)
            _odoo_init(env, python, odoo_src, db, "-u", "cgsms")
    base = options.ports
    gateway = _Gateway(python, base, options.latency)
    status = 0
    try:
        for db in dict.fromkeys(databases.values()):
            setup = _worker(
                env,
                python,
                db,
                "setup",
                gateway=gateway.url,
                partners=max(sizes),
                in_flight=options.in_flight,
                rate=options.rate,
            )
            print(
                f"Database {db}: {setup['partners']} partners ready; account: {setup['account']}",
                flush=True,
            )
        if options.replies:
            http_port = base + 1 if base else _free_port()
            gevent_port = base + 2 if base else _free_port()
            status = bench_replies.run(
                options,
                env,
                python,
                odoo_src,
                sizes,
                lambda: _Server(
                    env, python, odoo_src, options.db, options, "cron", http_port, gevent_port
                ),
                _worker,
                _psql_db,
            )
        elif options.failover:
            status = bench_failover.run(
                options, env, python, sizes, gateway, _worker, _Gateway, _free_port
            )
        elif options.production or options.campaign:
            run = bench_campaign.run if options.campaign else _run_production
            ports = (base + 1, base + 2) if base else (_free_port(), _free_port())
            status = run(options, env, python, odoo_src, sizes, gateway, *ports)
        else:
            _run_in_process(options, env, python, sizes, paths, gateway)
    finally:
        gateway.stop()
    print(
        f"\nlatency {options.latency:.0f} ms per call; total run {time.monotonic() - started:.0f}s"
    )
    return status


# ------------------------------------------------------------------------------ worker side


def _worker_main(phase, db, args):
    from odoo.tools import config

    odoo_args = [f"--addons-path={os.environ['CGSMS_ADDONS']}", f"-d{db}", "--log-level=warn"]
    for option, var in (("db_host", "PGHOST"), ("db_port", "PGPORT"), ("db_user", "PGUSER")):
        if os.environ.get(var):
            odoo_args.append(f"--{option}={os.environ[var]}")
    config.parse_config(odoo_args)
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        result = PHASES[phase](env, args)
        cr.commit()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


PHASES = {
    **bench_common.PHASES,
    **bench_in_process.PHASES,
    **bench_production.PHASES,
    **bench_failover.PHASES,
    **bench_replies.PHASES,
    **bench_campaign.PHASES,
}


if __name__ == "__main__":
    sys.exit(main())
