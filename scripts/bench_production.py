"""The production mode of ``bench.py --production cron,queue_job``: an Odoo server with
prefork workers delivers a send queued from another process; the CPU of every Odoo process,
PostgreSQL backend and of the gateway is read from ``/proc`` meanwhile."""

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from concurrent import futures
from pathlib import Path

import bench_cprofile
import requests
from bench_common import (
    LOG_DIR,
    _ensure_module,
    _module_dir,
    _odoo_cmd,
    _psql,
    _psql_db,
    _rate,
    _worker,
)

# Lines of an Odoo server log telling that a worker was stopped by one of its limits.
KILLED_RE = re.compile(
    r"timeout after \d+s|CPU time limit|virtual memory limit|killed|Exception occurred, exiting",
    re.IGNORECASE,
)
QUEUE_JOB_CHANNELS = "root:4,root.cgsms:4"


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
            server_env["ODOO_QUEUE_JOB_CHANNELS"] = options.channels or QUEUE_JOB_CHANNELS
        self.args = args
        self.workers = workers
        cmd = _odoo_cmd(env, python, odoo_src, db, *args)
        self.profile_dir = None
        if getattr(options, "cprofile", False):
            # every thread of every Odoo process under cProfile (bench_cprofile.py)
            self.profile_dir = LOG_DIR / f"profile-{mode}-{time.strftime('%H%M%S')}"
            self.profile_dir.mkdir(parents=True)
            server_env["CGSMS_BENCH_PROFILE_DIR"] = str(self.profile_dir)
            cmd = [cmd[0], str(Path(__file__).with_name("bench_cprofile.py")), *cmd[1:]]
        self.proc = subprocess.Popen(
            cmd,
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


def _wait_delivered(env, db, message_id, meter, deadline):
    """Until no SMS of the send is left to deliver (or the deadline), CPU sampled. The
    question is asked with two EXISTS on the partial indexes of the queue and of the lines
    waiting to leave: counting the states of every line at each poll cost PostgreSQL about
    0.1 ms per SMS at 50,000 (counted with the engine's CPU). It is asked on one connection
    kept for the wait: a ``psql`` per poll started a PostgreSQL backend each time (a few ms
    of PostgreSQL's CPU each, also counted with the engine's)."""
    query = (
        "SELECT EXISTS (SELECT 1 FROM sms_sms WHERE state = 'outgoing'"
        " AND to_delete IS NOT TRUE)"
        " OR EXISTS (SELECT 1 FROM cgsms_recipient WHERE message_id = "
        f"{int(message_id)} AND state IN ('queued', 'sending'))"
    )
    with _connection(env, db) as ask:
        while time.monotonic() < deadline:
            if not ask(query):
                return
            meter.sample()
            time.sleep(0.5)


@contextlib.contextmanager
def _connection(env, db):
    """``ask(query)``: the first value of ``query``'s first row, on one connection kept for
    the wait (psycopg2: the bench runs in the virtualenv of Odoo's requirements)."""
    import psycopg2

    cnx = psycopg2.connect(
        dbname=db,
        host=env.get("PGHOST") or None,
        port=env.get("PGPORT") or None,
        user=env.get("PGUSER") or None,
        password=env.get("PGPASSWORD") or None,
    )
    cnx.autocommit = True

    def ask(query):
        with cnx.cursor() as cr:
            cr.execute(query)
            return cr.fetchone()[0]

    try:
        yield ask
    finally:
        cnx.close()


def _against_gateway(cpu):
    """Odoo's and PostgreSQL's CPU as multiples of the gateway's in the same run: the gateway
    does the same work in every run, so these move far less with the machine's load than
    the figures themselves (on a shared machine the same work can cost 60 % more CPU from one
    run to the next)."""
    if not cpu.get("gateway"):
        return ""
    return (
        f" (against the gateway's: odoo {cpu['odoo'] / cpu['gateway']:.2f}, "
        f"postgres {cpu['postgres'] / cpu['gateway']:.2f})"
    )


def _mode_db(db, mode):
    return f"{db}_queue_job" if mode == "queue_job" else db


def _durability(env):
    """PostgreSQL's durability settings, said with every figure: the scripts' private cluster
    turns them off (flattering PostgreSQL's CPU); a server with its defaults has them on
    (PGHOST/PGPORT/PGUSER point the bench at one)."""
    names = ("fsync", "synchronous_commit", "full_page_writes")
    values = _psql(
        env,
        "SELECT string_agg(setting, ',' ORDER BY name) FROM pg_settings "
        f"WHERE name IN {names!r}",
    )
    return ", ".join(f"{n}={v}" for n, v in zip(sorted(names), values.split(","), strict=False))


def _run_production(options, env, python, odoo_src, sizes, gateway, http_port, gevent_port):
    rows = []
    print(f"PostgreSQL {env.get('PGHOST')}:{env.get('PGPORT')}: {_durability(env)}", flush=True)
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
                _wait_delivered(env, db, message_id, meter, deadline)
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
                + _against_gateway(cpu)
                + f", load average {os.getloadavg()[0]:.2f}"
                f"{'' if ok else '  << NOT OK'}",
                flush=True,
            )
            for line in killed[:5]:
                print(f"    {line}")
            if server.profile_dir:
                for line in bench_cprofile.report(server.profile_dir, size):
                    print(f"    {line}")
                print(f"    profiles in {server.profile_dir}")
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


# ------------------------------------------------------------------------------ worker side


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


PHASES = {"crons": _phase_crons}
