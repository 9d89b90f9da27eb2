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
"""

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

import bench_failover
import bench_replies
import requests

ROOT = Path(__file__).resolve().parent.parent
BODY = "Promo da semana: 10% em todas as reparacoes ate sexta. Responda STOP para sair."
BATCH = 1000
PARTNER_REF = "cgsms-bench"
LOG_DIR = ROOT / ".var" / "bench"
# Lines of an Odoo server log telling that a worker was stopped by one of its limits.
KILLED_RE = re.compile(
    r"timeout after \d+s|CPU time limit|virtual memory limit|killed|Exception occurred, exiting",
    re.IGNORECASE,
)
QUEUE_JOB_CHANNELS = "root:4,root.cgsms:4"


# ------------------------------------------------------------------------------ orchestrator


def _project_env():
    script = (
        f". {ROOT}/scripts/lib.sh; pg_env; "
        'printf "%s\\n" "$PGHOST" "$PGPORT" "$PGUSER" "$PY" "$ODOO_SRC" "$CGSMS_ADDONS"'
    )
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    keys = ("PGHOST", "PGPORT", "PGUSER", "PY", "ODOO_SRC", "CGSMS_ADDONS")
    values = dict(zip(keys, out, strict=True))
    env = dict(os.environ)
    env.update({k: values[k] for k in ("PGHOST", "PGPORT", "PGUSER", "CGSMS_ADDONS")})
    python = values["PY"] if Path(values["PY"]).exists() else sys.executable
    return env, python, values["ODOO_SRC"]


def _psql(env, sql):
    out = subprocess.run(
        ["psql", "-Atc", sql, "postgres"], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _ensure_database(env, python, odoo_src, db, rebuild):
    exists = _psql(env, f"SELECT 1 FROM pg_database WHERE datname = '{db}'") == "1"
    if exists and not rebuild:
        return
    subprocess.run(["dropdb", "--if-exists", db], env=env, check=True)
    subprocess.run(["createdb", db], env=env, check=True)
    print(f"Installing cgsms in {db}...", flush=True)
    # 19.0 takes --without-demo as a flag
    no_demo = "--without-demo=all" if env.get("ODOO_SERIES", "18.0") == "18.0" else "--without-demo"
    _odoo_init(env, python, odoo_src, db, "-i", "cgsms", no_demo)


def _odoo_cmd(env, python, odoo_src, db, *args):
    return [
        python,
        str(Path(odoo_src) / "odoo-bin"),
        f"--addons-path={env['CGSMS_ADDONS']}",
        f"--db_host={env['PGHOST']}",
        f"--db_port={env['PGPORT']}",
        f"--db_user={env['PGUSER']}",
        "-d",
        db,
        *args,
    ]


def _module_dir(env, python, name):
    """Where addon ``name`` is, in the addons path or the venv's ``odoo/addons`` (wheels)."""
    dirs = [Path(p) for p in env["CGSMS_ADDONS"].split(",")]
    dirs += Path(python).resolve().parent.parent.glob("lib/python3*/site-packages/odoo/addons")
    dirs += Path(python).parent.parent.glob("lib/python3*/site-packages/odoo/addons")
    for path in dirs:
        if (path / name / "__manifest__.py").exists():
            return path / name
    return None


def _odoo_init(env, python, odoo_src, db, *args):
    """Runs odoo-bin once on db (install or update) and waits for it to end."""
    subprocess.run(
        _odoo_cmd(
            env,
            python,
            odoo_src,
            db,
            *args,
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ),
        env=env,
        check=True,
    )


def _ensure_module(env, python, odoo_src, db, name):
    if (
        _psql_db(env, db, f"SELECT state FROM ir_module_module WHERE name = '{name}'")
        == "installed"
    ):
        return
    print(f"Installing {name} in {db}...", flush=True)
    _odoo_init(env, python, odoo_src, db, "-i", name)


def _psql_db(env, db, sql):
    out = subprocess.run(["psql", "-Atc", sql, db], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"psql failed on {db}: {out.stderr.strip()}")
    return out.stdout.strip()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Gateway:
    def __init__(self, python, port=0, latency_ms=0.0):
        self.url = f"http://127.0.0.1:{port or _free_port()}"
        self.latency = latency_ms / 1000.0
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [python, str(ROOT / "scripts" / "fake_gateway.py"), "--port", port],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(self.url + "/_control/accounts", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def reset(self):
        requests.post(self.url + "/_control/reset", json={}, timeout=30).raise_for_status()
        # The sandbox account's own balance (100) would stop the run after 2000 SMS.
        requests.post(
            self.url + "/_control/balance",
            json={"provider": "sandbox", "amount": 1e9},
            timeout=30,
        ).raise_for_status()
        requests.post(
            self.url + "/_control/settings", json={"latency": self.latency}, timeout=30
        ).raise_for_status()

    def count(self, provider):
        data = requests.get(self.url + "/_control/messages", timeout=300).json()["messages"]
        data = [m for m in data if m["provider"] == provider]
        return len(data), len({m["to"] for m in data})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def _worker(env, python, db, phase, **args):
    cmd = [python, __file__, "--worker", phase, "--db", db, "--args", json.dumps(args)]
    # The stock composer reads its record ids with literal_eval, capped at 100 KiB by default
    # (about 14,000 ids): raise the cap, as an Odoo administrator would for such sends.
    env = dict(env, ODOO_LIMIT_LITEVAL_BUFFER=str(64 * 1024 * 1024))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "workers.log", "a") as log:
        log.write(f"\n===== {time.strftime('%H:%M:%S')} {phase} {args}\n{proc.stderr}")
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.stderr.write(proc.stderr[-4000:])
    raise SystemExit(f"bench worker {phase} {args} failed (rc={proc.returncode})")


def _rate(size, seconds):
    return size / seconds if seconds else float("nan")


def _table(rows, paths):
    header = f"{'N':>7} | {'phase':<15}"
    for path in paths:
        header += f" | {path + ' s':>9} | {'SMS/s':>7} | {path + ' MB':>9}"
    lines = [header, "-" * len(header)]
    for row in rows:
        line = f"{row['size']:>7} | {row['phase']:<15}"
        for path in paths:
            r = row[path]
            line += (
                f" | {r['seconds']:>9.2f} | {_rate(row['size'], r['seconds']):>7.1f} | "
                f"{r['peak_mb']:>9.1f}"
            )
        lines.append(line)
    return "\n".join(lines)


def _run_in_process(options, env, python, sizes, paths, gateway):
    rows = []
    for size in sizes:
        results = {}
        for path in paths:
            _worker(env, python, options.db, "clean", path=path)
            gateway.reset()
            compose = _worker(env, python, options.db, "compose", path=path, size=size)
            results[path] = [compose]
            line = (
                f"  {path:<5} N={size:<7} compose+queue {compose['seconds']:8.2f}s "
                f"{compose['peak_mb']:7.1f} MB (queued {compose['queued']})"
            )
            if not options.compose_only:
                deliver = _worker(env, python, options.db, "deliver", path=path, size=size)
                provider = "sandbox" if path == "cgsms" else "iap"
                received, numbers = gateway.count(provider)
                if received != size or numbers != size:
                    raise SystemExit(
                        f"{path} at {size}: the gateway received {received} SMS for "
                        f"{numbers} numbers, expected {size}"
                    )
                if deliver.get("left"):
                    raise SystemExit(f"{path} at {size}: not all sent: {deliver['left']}")
                results[path].append(deliver)
                line += (
                    f", delivery {deliver['seconds']:8.2f}s "
                    f"({_rate(size, deliver['seconds']):.1f} SMS/s) {deliver['peak_mb']:7.1f} MB"
                    f" (gateway got {received})"
                )
            print(line, flush=True)
        phases = ("compose + queue",) if options.compose_only else ("compose + queue", "delivery")
        for index, phase in enumerate(phases):
            rows.append({"size": size, "phase": phase, **{p: results[p][index] for p in paths}})
    print()
    print(_table(rows, paths))


class _Server:
    """An Odoo server in production mode (prefork workers), in its own process group."""

    def __init__(self, env, python, odoo_src, db, options, mode, http_port, gevent_port):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log = LOG_DIR / f"server-{mode}-{time.strftime('%H%M%S')}.log"
        self.url = f"http://127.0.0.1:{http_port}"
        workers = options.queue_job_workers if mode == "queue_job" else options.workers
        args = [
            f"--workers={workers}",
            f"--http-port={http_port}",
            f"--gevent-port={gevent_port}",
            "--http-interface=127.0.0.1",
            f"--db-filter=^{re.escape(db)}$",
            f"--logfile={self.log}",
            "--log-level=info",
        ]
        if options.limit_time_real_cron:
            args.append(f"--limit-time-real-cron={options.limit_time_real_cron}")
        server_env = dict(env)
        if mode == "queue_job":
            args.append("--load=base,web,queue_job")
            server_env["ODOO_QUEUE_JOB_CHANNELS"] = QUEUE_JOB_CHANNELS
        self.args = args
        self.workers = workers
        self.proc = subprocess.Popen(
            _odoo_cmd(env, python, odoo_src, db, *args),
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the Odoo server stopped at start, see {self.log}")
            try:
                if requests.get(self.url + "/web/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the Odoo server did not answer in 180 s, see {self.log}")
            time.sleep(0.5)

    def warm_up(self):
        """Have every HTTP worker load the database's registry, as the workers of a server
        in service have: the measure is then the delivery, not Odoo's start."""

        def hit(_index):
            with contextlib.suppress(requests.RequestException):
                requests.get(self.url + "/web/login", timeout=120)

        for _round in range(3):
            with futures.ThreadPoolExecutor(self.workers * 2) as pool:
                list(pool.map(hit, range(self.workers * 2)))

    def killed_lines(self):
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if KILLED_RE.search(line)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # workers left behind by the master (they exit with it; make sure of it)
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class _CpuMeter:
    """CPU seconds (user + system) spent during a phase by the Odoo server's processes
    (master, workers, job runner), PostgreSQL's (the cluster's postmaster and backends) and
    the gateway's. Sampled from ``/proc`` while the phase runs, so that processes ending
    meanwhile (a recycled worker, a closed connection) still count."""

    def __init__(self, env, server, gateway):
        self.tick = os.sysconf("SC_CLK_TCK")
        self.server_pgid = server.proc.pid
        self.gateway_pid = gateway.proc.pid
        try:
            data_dir = _psql(env, "SHOW data_directory")
            self.postmaster = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, subprocess.CalledProcessError):
            self.postmaster = None
        self.start = self._read()
        self.last = dict(self.start)

    def _read(self):
        values = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid, pgid = int(fields[1]), int(fields[2])
            pid = int(entry.name)
            if pgid == self.server_pgid:
                group = "odoo"
            elif pid == self.gateway_pid:
                group = "gateway"
            elif self.postmaster and self.postmaster in (pid, ppid):
                group = "postgres"
            else:
                continue
            values[pid] = (group, (int(fields[11]) + int(fields[12])) / self.tick)
        return values

    def sample(self):
        self.last.update(self._read())

    def seconds(self):
        """{group: CPU seconds since the meter started}."""
        self.sample()
        total = {"odoo": 0.0, "postgres": 0.0, "gateway": 0.0}
        for pid, (group, cpu) in self.last.items():
            total[group] += cpu - self.start.get(pid, (group, 0.0))[1]
        return total


def _queue_state(env, db, message_id):
    row = _psql_db(
        env,
        db,
        "SELECT"
        " (SELECT count(*) FROM sms_sms WHERE state = 'outgoing' AND to_delete IS NOT TRUE),"
        f" (SELECT json_object_agg(state, n) FROM (SELECT state, count(*) AS n"
        f"  FROM cgsms_recipient WHERE message_id = {int(message_id)} GROUP BY state) s)",
    )
    outgoing, states = row.split("|", 1)
    return int(outgoing), json.loads(states) if states else {}


def _mode_db(db, mode):
    return f"{db}_queue_job" if mode == "queue_job" else db


def _run_production(options, env, python, odoo_src, sizes, gateway, http_port, gevent_port):
    rows = []
    for mode in options.production.split(","):
        db = _mode_db(options.db, mode)
        if mode == "queue_job":
            if not _module_dir(env, python, "cgsms_queue_job"):
                raise SystemExit(
                    "--production queue_job needs the addon cgsms_queue_job (and OCA queue_job) "
                    "in the addons path"
                )
            _ensure_module(env, python, odoo_src, db, "cgsms_queue_job")
        elif mode != "cron":
            raise SystemExit(f"unknown production mode {mode!r}: cron or queue_job")
        for size in sizes:
            _worker(env, python, db, "clean", path="cgsms")
            _worker(env, python, db, "crons", active=True)
            gateway.reset()
            server = _Server(env, python, odoo_src, db, options, mode, http_port, gevent_port)
            try:
                server.warm_up()
                compose = _worker(env, python, db, "compose", path="cgsms", size=size)
                started = time.monotonic()
                meter = _CpuMeter(env, server, gateway)
                deadline = started + options.timeout
                message_id = compose["message_id"]
                while True:
                    outgoing, states = _queue_state(env, db, message_id)
                    waiting = states.get("queued", 0) + states.get("sending", 0)
                    if not outgoing and not waiting:
                        break
                    if time.monotonic() > deadline:
                        break
                    meter.sample()
                    time.sleep(0.5)
                seconds = time.monotonic() - started
                cpu = meter.seconds()
                time.sleep(3)  # anything still on its way (a late copy) reaches the gateway
                received, numbers = gateway.count("sandbox")
                outgoing, states = _queue_state(env, db, message_id)
            finally:
                server.stop()
                _worker(env, python, db, "crons", active=False)
            killed = server.killed_lines()
            row = {
                "mode": mode,
                "workers": server.workers,
                "size": size,
                "seconds": seconds,
                "received": received,
                "numbers": numbers,
                "states": states,
                "outgoing": outgoing,
                "killed": len(killed),
                "cpu": cpu,
                "log": str(server.log),
            }
            rows.append(row)
            ok = (
                received == size
                and numbers == size
                and not outgoing
                and set(states) <= {"sent", "delivered"}
                and not killed
            )
            row["ok"] = ok
            print(
                f"  {mode:<9} workers={server.workers} N={size:<7} {seconds:8.2f}s "
                f"{_rate(size, seconds):7.1f} SMS/s, gateway got {received} for {numbers} "
                f"numbers, lines {states}, workers killed {len(killed)}; CPU ms per SMS: "
                + ", ".join(f"{k} {1000 * v / size:.2f}" for k, v in cpu.items())
                + f", load average {os.getloadavg()[0]:.2f}"
                f"{'' if ok else '  << NOT OK'}",
                flush=True,
            )
            for line in killed[:5]:
                print(f"    {line}")
    print()
    header = (
        f"{'mode':<9} | {'workers':>7} | {'N':>6} | {'latency':>7} | {'seconds':>8} | "
        f"{'SMS/s':>7} | {'at gateway':>10} | {'numbers':>7} | {'left':>5} | {'killed':>6} | "
        f"{'CPU ms/SMS':>10} | ok"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        left = sum(n for state, n in r["states"].items() if state not in ("sent", "delivered"))
        print(
            f"{r['mode']:<9} | {r['workers']:>7} | {r['size']:>6} | "
            f"{options.latency:>5.0f}ms | {r['seconds']:>8.2f} | "
            f"{_rate(r['size'], r['seconds']):>7.1f} | {r['received']:>10} | {r['numbers']:>7} | "
            f"{left + r['outgoing']:>5} | {r['killed']:>6} | "
            f"{1000 * sum(r['cpu'].values()) / r['size']:>10.2f} | {'yes' if r['ok'] else 'NO'}"
        )
    return 0 if all(r["ok"] for r in rows) else 1


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
    parser.add_argument("--connections", type=int, default=16, help="--replies: connections")
    parser.add_argument("--profile", action="store_true", help="--replies: profile first")
    parser.add_argument("--profile-size", type=int, default=300)
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
        elif options.production:
            status = _run_production(
                options,
                env,
                python,
                odoo_src,
                sizes,
                gateway,
                base + 1 if base else _free_port(),
                base + 2 if base else _free_port(),
            )
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


def _measure(env, func):
    """Run ``func`` and return (its result, seconds, growth of the peak RSS in MB)."""
    env.cr.commit()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    value = func()
    env.cr.commit()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value, seconds, (after - before) / 1024.0


def _phase_setup(env, args):
    company = env.company
    company.country_id = env.ref("base.pt")
    icp = env["ir.config_parameter"]
    icp.set_param("web.base.url", "http://127.0.0.1:8069")
    icp.set_param("sms.endpoint", args["gateway"])  # stock path: IAP protocol at the gateway
    env["ir.cron"].search([]).write({"active": False})  # nothing runs behind the bench's back
    Account = env["cgsms.account"].with_context(active_test=False)
    account = Account.search([("company_id", "=", company.id), ("provider", "=", "sandbox")])
    account = account[:1]
    vals = {
        "base_url": args["gateway"],
        "username": "sandbox",
        "password": "sandbox-token",
        "sender": "CgSMS",
        "low_balance_threshold": 0,
    }
    # the delivery engine's settings, when given (else the account's own)
    for option, fname in (("in_flight", "cgsms_in_flight"), ("rate", "cgsms_rate_limit")):
        if args.get(option) is not None and fname in Account._fields:
            vals[fname] = args[option]
    if account:
        account.write(vals)
    else:
        Account.search([("company_id", "=", company.id)]).write({"active": False})
        account = Account.create(dict(vals, company_id=company.id, provider="sandbox"))
    env.cr.commit()
    settings = {
        fname: account[fname]
        for fname in ("cgsms_in_flight", "cgsms_rate_limit")
        if fname in account._fields
    }
    Partner = env["res.partner"].with_context(
        mail_create_nolog=True, mail_create_nosubscribe=True, tracking_disable=True
    )
    mobile = _mobile_field(env)
    existing = Partner.search_count([("ref", "=", PARTNER_REF)])
    for start in range(existing, args["partners"], BATCH):
        stop = min(start + BATCH, args["partners"])
        Partner.create(
            [
                {
                    "name": f"Bench customer {i:06d}",
                    "ref": PARTNER_REF,
                    mobile: f"+35191{i:07d}",
                    "country_id": company.country_id.id,
                }
                for i in range(start, stop)
            ]
        )
        env.cr.commit()
        env.invalidate_all()
    return {"partners": Partner.search_count([("ref", "=", PARTNER_REF)]), "account": settings}


def _mobile_field(env):
    """The partner's mobile number: "mobile" on 18.0, "phone" on 19.0 (it has no mobile)."""
    return "mobile" if "mobile" in env["res.partner"]._fields else "phone"


def _use_path(env, path):
    account = (
        env["cgsms.account"]
        .with_context(active_test=False)
        .search([("company_id", "=", env.company.id), ("provider", "=", "sandbox")], limit=1)
    )
    if account.active != (path == "cgsms"):
        account.active = path == "cgsms"
    if path == "cgsms":
        balance = account.credit_available
        if balance < 1_000_000:
            env["cgsms.credit.line"].create(
                {"account_id": account.id, "kind": "topup", "amount": 2_000_000 - balance}
            )
    env.cr.commit()
    return account


def _phase_clean(env, args):
    _use_path(env, args["path"])
    env.cr.execute("DELETE FROM sms_sms")
    env.cr.execute("DELETE FROM sms_tracker")
    return {}


def _partner_ids(env, size):
    ids = env["res.partner"].search([("ref", "=", PARTNER_REF)], order="id", limit=size).ids
    if len(ids) != size:
        raise SystemExit(f"only {len(ids)} bench partners, {size} needed")
    return ids


def _phase_compose(env, args):
    path, size = args["path"], args["size"]
    _use_path(env, path)
    ids = _partner_ids(env, size)
    env.invalidate_all()

    def cgsms_send():
        if "cgsms.message" in env:
            message = env["cgsms.message"].create(
                {"name": f"Bench {size}", "body": BODY, "partner_ids": [(6, 0, ids)]}
            )
            message.with_context(cgsms_direct_send_limit=0).action_send()
            return message.id
        # Fallback: queue sms.sms rows as a cgsms send does.
        partners = env["res.partner"].browse(ids)
        for start in range(0, size, BATCH):
            env["sms.sms"].create(
                [
                    {
                        "number": p[_mobile_field(env)],
                        "partner_id": p.id,
                        "body": BODY,
                        "state": "outgoing",
                        "cgsms_company_id": env.company.id,
                    }
                    for p in partners[start : start + BATCH]
                ]
            )
        return 0

    def stock_send():
        composer = env["sms.composer"].create(
            {
                "composition_mode": "mass",
                "res_model": "res.partner",
                "res_ids": repr(ids),
                "body": BODY,
                "number_field_name": _mobile_field(env),
                "mass_keep_log": False,
                "mass_force_send": False,
            }
        )
        composer.action_send_sms()
        return 0

    message_id, seconds, peak = _measure(env, cgsms_send if path == "cgsms" else stock_send)
    queued = env["sms.sms"].search_count([("state", "=", "outgoing")])
    return {"seconds": seconds, "peak_mb": peak, "queued": queued, "message_id": message_id}


def _phase_deliver(env, args):
    _use_path(env, args["path"])
    Sms = env["sms.sms"]

    def deliver():
        rounds = 0
        while Sms.search_count([("state", "=", "outgoing"), ("to_delete", "!=", True)]):
            Sms._process_queue()
            env.invalidate_all()
            rounds += 1
            if rounds > 100:
                raise RuntimeError("the SMS queue does not empty")
        return rounds

    rounds, seconds, peak = _measure(env, deliver)
    left = {}
    if args["path"] == "cgsms":
        message = env["cgsms.message"].search([], limit=1, order="id desc")
        left = {
            state: count
            for state, count in env["cgsms.recipient"]._read_group(
                [("message_id", "=", message.id), ("state", "not in", ("sent", "delivered"))],
                ["state"],
                ["__count"],
            )
        }
    return {"seconds": seconds, "peak_mb": peak, "rounds": rounds, "left": left}


def _phase_crons(env, args):
    """Switch on (or off again) the crons a production server delivers with: the SMS queue,
    and those of CgSMS and of the job queue."""
    crons = env.ref("sms.ir_cron_sms_scheduler_action")
    data = env["ir.model.data"].search(
        [("model", "=", "ir.cron"), ("module", "in", ("cgsms", "cgsms_queue_job", "queue_job"))]
    )
    crons |= env["ir.cron"].with_context(active_test=False).browse(data.mapped("res_id")).exists()
    crons.with_context(active_test=False).write({"active": bool(args["active"])})
    return {"crons": crons.mapped("cron_name")}


PHASES = {
    "setup": _phase_setup,
    "clean": _phase_clean,
    "compose": _phase_compose,
    "deliver": _phase_deliver,
    "crons": _phase_crons,
    **bench_failover.PHASES,
    **bench_replies.PHASES,
}


if __name__ == "__main__":
    sys.exit(main())
