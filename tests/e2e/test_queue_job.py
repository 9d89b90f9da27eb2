"""Scale-out on OCA queue_job with real processes: one Odoo server in production mode
(``--workers=4 --load=base,web,queue_job``, channels ``root:4,root.cgsms:4``) drains the SMS
queue as chunk jobs, each number exactly once, also when a worker is killed in the middle of
a job.

The database (``CGSMS_E2E_QJ_DB``, default ``cgsms_e2e_qj``, ``cgsms_e2e_qj_19`` on 19.0) has
``cgsms_queue_job`` (and so ``queue_job``) installed; the Odoo server listens on
``CGSMS_E2E_QJ_PORT`` (default: a free port, so that the series can run side by side)."""

import contextlib
import os
import signal
import subprocess
import time

import pytest
import requests

from .helpers import (
    ROOT,
    Runner,
    db_exists,
    free_port,
    install_database,
    odoo_command,
    wait_until,
)

SERIES = os.environ.get("ODOO_SERIES") or "18.0"
DB = os.environ.get("CGSMS_E2E_QJ_DB") or (
    "cgsms_e2e_qj" if SERIES == "18.0" else "cgsms_e2e_qj_" + SERIES.split(".")[0]
)
PORT = int(os.environ.get("CGSMS_E2E_QJ_PORT") or free_port())
REUSE = bool(os.environ.get("CGSMS_E2E_REUSE_DB"))
LATENCY = 0.1  # seconds each provider call takes at the gateway
KILL_LATENCY = 2.0  # longer calls in the kill test: the worker dies with a chunk in flight
SIZE = int(os.environ.get("CGSMS_E2E_QJ_SIZE", "2000"))
CHANNELS = "root:4,root.cgsms:4"
# Seconds a job keeps sending (system parameter cgsms_queue_job.job_seconds; 0: one chunk;
# not set: the addon's default).
JOB_SECONDS = os.environ.get("CGSMS_E2E_QJ_JOB_SECONDS", "")


def _psql(env, sql, db=DB):
    out = subprocess.run(
        ["psql", "-XAtq", "-F", "|", "-c", sql, db],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split("|") for line in out.stdout.splitlines() if line]


def _odoo_args(project):
    return [*odoo_command(project, DB), f"--db-filter=^{DB}$"]


@pytest.fixture(scope="module")
def qj_database(project):
    env = project["env"]
    if not (REUSE and db_exists(env, DB)):
        install_database(
            project, DB, "cgsms_queue_job", "install-queue-job.log", project["without_demo"]
        )
    yield DB
    if not REUSE:
        subprocess.run(["dropdb", "--if-exists", DB], env=env, check=False)


@pytest.fixture(scope="module")
def qj_runner(project, qj_database, gateway):
    runner = Runner(project["python"], qj_database, project["env"], project["log_dir"])
    runner.run("setup_account", gateway=gateway.url, credits=10 * SIZE)
    yield runner
    runner.close()


class OdooServer:
    """``odoo-bin`` in production mode (prefork workers) with the queue_job runner."""

    def __init__(self, project, workers=4):
        self.url = f"http://127.0.0.1:{PORT}"
        env = dict(project["env"], ODOO_QUEUE_JOB_CHANNELS=CHANNELS)
        self.log_path = project["log_dir"] / "queue-job-server.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *_odoo_args(project),
                f"--workers={workers}",
                "--load=base,web,queue_job",
                f"--http-port={PORT}",
                "--http-interface=127.0.0.1",
                "--max-cron-threads=0",
                "--log-level=info",
                "--log-handler=werkzeug:WARNING",
                "--log-handler=odoo.addons.queue_job.jobrunner.runner:WARNING",
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        wait_until(self._up, timeout=120, interval=0.5, what="the Odoo server")
        # Each worker loads the registry on its first request: warm them all before timing.
        for _round in range(3):
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/web/login?db={DB}", timeout=60)

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"the Odoo server stopped, see {self.log_path}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{self.url}/web/webclient/version_info", timeout=2).status_code
        return False

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def server(project, qj_runner):
    srv = OdooServer(project)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def quiet_gateway(gateway):
    """No automatic delivery reports (they would go to web.base.url): the queue alone."""
    gateway.control("settings", auto_deliver=False)
    yield
    gateway.reset()
    # The gateway's own defaults again (it is shared by the whole session).
    gateway.control("settings", auto_deliver=False, rate_limit=0, rate_burst=0)


@pytest.fixture
def slow_queue(project, qj_runner, gateway):
    """Empty queue and history, no job left, ``size`` SMS queued, every call ``LATENCY``."""

    def prepare(size, latency=LATENCY):
        gateway.reset()
        gateway.fail("slow", count=size * 3, delay=latency)
        qj_runner.run("reset_state", credits=10 * SIZE)
        _psql(project["env"], "DELETE FROM queue_job")
        _psql(
            project["env"],
            "DELETE FROM ir_config_parameter WHERE key = 'cgsms_queue_job.job_seconds'",
        )
        if JOB_SECONDS:
            _psql(
                project["env"],
                "INSERT INTO ir_config_parameter (key, value) "
                f"VALUES ('cgsms_queue_job.job_seconds', '{int(JOB_SECONDS)}')",
            )
        _configure_account(project["env"])
        numbers = [f"+3519150{i:05d}" for i in range(size)]
        qj_runner.run("queue_sms", numbers=numbers)
        return numbers

    return prepare


def _configure_account(env, db=DB):
    """No rate limit of our own: the provider's latency and the workers are the limit."""
    _psql(env, "UPDATE cgsms_account SET cgsms_rate_limit = 0", db)


def _progress(env, db=DB):
    rows = _psql(
        env,
        "SELECT (SELECT count(*) FROM sms_sms WHERE state IN ('outgoing', 'process')), "
        "(SELECT count(*) FROM cgsms_recipient WHERE state IN ('queued', 'sending'))",
        db,
    )
    return int(rows[0][0]), int(rows[0][1])


def _wait_drained(env, timeout, db=DB):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        sms_left, lines_left = _progress(env, db)
        if not sms_left and not lines_left:
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"queue not drained in {timeout} s: {_progress(env, db)} left")


def _recipient_states(env):
    return dict(
        (state, int(count))
        for state, count in _psql(
            env, "SELECT state, count(*) FROM cgsms_recipient GROUP BY state ORDER BY state"
        )
    )


def _job_states(env):
    return dict(
        (state, int(count))
        for state, count in _psql(
            env,
            "SELECT state, count(*) FROM queue_job WHERE channel = 'root.cgsms' GROUP BY state",
        )
    )


def test_cron_path_one_worker_for_comparison(project, runner, database, gateway, fresh, report):
    """The same queue without queue_job: one process runs the SMS queue cron."""
    env = project["env"]
    fresh(credits=10 * SIZE)
    gateway.fail("slow", count=SIZE * 3, delay=LATENCY)
    _configure_account(env, database)
    numbers = [f"+3519170{i:05d}" for i in range(SIZE)]
    runner.run("queue_sms", numbers=numbers)
    start = time.monotonic()
    for _run in range(20):  # the cron stops at its time budget and runs again
        runner.run("process_queue")
        if _progress(env, database) == (0, 0):
            break
    elapsed = time.monotonic() - start
    counts = gateway.counts()
    assert set(counts) == set(numbers)
    assert set(counts.values()) == {1}
    report(
        "cron 1 worker",
        sms=SIZE,
        latency_ms=int(LATENCY * 1000),
        seconds=round(elapsed, 1),
        sms_per_s=round(SIZE / elapsed, 1),
        gateway_messages=sum(counts.values()),
    )


def test_four_workers_drain_the_queue_as_jobs_each_number_once(
    project, qj_runner, gateway, server, slow_queue, report
):
    env = project["env"]
    numbers = slow_queue(SIZE)
    start = time.monotonic()
    # The SMS queue cron: it only queues jobs on root.cgsms, the workers send.
    qj_runner.run("process_queue")
    end = _wait_drained(env, timeout=600)
    elapsed = end - start

    counts = gateway.counts()
    states = _recipient_states(env)
    jobs = _job_states(env)
    assert set(counts) == set(numbers), f"{len(set(numbers) - set(counts))} numbers missing"
    assert set(counts.values()) == {1}, "a number received two SMS"
    assert states == {"sent": SIZE}, states
    assert not jobs.get("failed"), jobs
    report(
        "queue_job 4 workers",
        sms=SIZE,
        job_seconds=JOB_SECONDS or "default",
        latency_ms=int(LATENCY * 1000),
        seconds=round(elapsed, 1),
        sms_per_s=round(SIZE / elapsed, 1),
        jobs=sum(jobs.values()),
        gateway_messages=sum(counts.values()),
        states=states,
    )


def test_parallel_jobs_keep_to_the_account_rate(
    project, qj_runner, gateway, server, slow_queue, report
):
    """Four jobs at once, one rate: the provider (50 SMS/s, 429 above) never refuses one.

    The provider counts its rate over a second (a bucket of one second's worth), as
    providers state it ("50 SMS per second"): on a loaded machine the calls of a worker
    whose threads wake late leave a few within a fraction of a second, and a bucket of a
    fifth of a second refused them now and then (the engine then holds and sends them again,
    each once: tests/e2e/test_engine.py, test_provider_429_is_honoured_and_nothing_is_lost)."""
    env = project["env"]
    size, rate = 300, 50
    numbers = slow_queue(size)
    _psql(env, f"UPDATE cgsms_account SET cgsms_rate_limit = {rate}")
    gateway.control("settings", rate_limit=rate, rate_burst=rate)
    start = time.monotonic()
    qj_runner.run("process_queue")
    elapsed = _wait_drained(env, timeout=300) - start

    sends = gateway.send_requests()
    limited = [r for r in sends if r.get("limited")]
    counts = gateway.counts()
    assert not limited, f"{len(limited)} sends above the provider's rate"
    assert set(counts) == set(numbers)
    assert set(counts.values()) == {1}
    assert elapsed >= (size - 10) / rate
    report(
        "queue_job 4 workers, rate limit",
        sms=size,
        rate=rate,
        seconds=round(elapsed, 1),
        sms_per_s=round(size / elapsed, 1),
        refused_429=len(limited),
    )


def test_worker_killed_mid_job_each_number_still_once(
    project, qj_runner, gateway, server, slow_queue, report
):
    env = project["env"]
    size = min(SIZE, 800)
    numbers = slow_queue(size, latency=KILL_LATENCY)
    qj_runner.run("process_queue")

    def job_in_flight():
        """The oldest running job, started long enough ago to have committed its claim: its
        calls are held at the gateway for ``KILL_LATENCY`` seconds."""
        if len(gateway.send_requests()) - len(gateway.messages()) < 20:
            return None
        rows = _psql(
            env,
            "SELECT worker_pid, uuid, now() at time zone 'utc' FROM queue_job "
            "WHERE channel = 'root.cgsms' AND state = 'started' AND worker_pid IS NOT NULL "
            "AND date_started < now() at time zone 'utc' - interval '1 second' "
            "AND uuid NOT IN %s ORDER BY date_started LIMIT 1"
            % ("(" + ",".join(f"'{uuid}'" for uuid in ["-", *killed]) + ")"),
        )
        return rows[0] if rows else None

    killed, stuck = [], 0
    # A worker killed while it claims leaves nothing behind (its claim is rolled back): then
    # another one is killed, until one dies with its chunk at the provider.
    while not stuck and len(killed) < 4:
        pid, job_uuid, killed_at = wait_until(
            job_in_flight, timeout=120, interval=0.02, what="a job with SMS in flight"
        )
        os.kill(int(pid), signal.SIGKILL)
        killed.append(job_uuid)
        time.sleep(KILL_LATENCY + 3)  # the chunks of the living workers are back by now
        stuck = int(
            _psql(
                env,
                "SELECT count(*) FROM cgsms_recipient WHERE state = 'sending' "
                f"AND write_date < '{killed_at}'",
            )[0][0]
        )
    assert stuck, "no worker was killed with SMS in flight"

    # The other workers (and the one the server starts again) go on with the queue.
    wait_until(
        lambda: not _psql(env, "SELECT 1 FROM sms_sms WHERE state = 'outgoing' LIMIT 1"),
        timeout=300,
        interval=0.2,
        what="the queue without the killed job's chunk",
    )
    wait_until(
        lambda: (
            not _psql(
                env,
                "SELECT 1 FROM queue_job WHERE channel = 'root.cgsms' "
                "AND state IN ('pending', 'enqueued') LIMIT 1",
            )
        ),
        timeout=120,
        interval=0.2,
        what="the other jobs to finish",
    )
    time.sleep(KILL_LATENCY + 1)
    after_kill = _recipient_states(env)
    assert after_kill.get("sending", 0) >= stuck, after_kill
    # What the killed job held is looked up at the provider (the SMS queue cron): what left is
    # marked sent, what did not goes back to the queue, and jobs send it.
    qj_runner.run("reconcile_stale", minutes=16)
    qj_runner.run("process_queue")
    _wait_drained(env, timeout=300)

    counts = gateway.counts()
    states = _recipient_states(env)
    assert set(counts) == set(numbers), f"{len(set(numbers) - set(counts))} numbers missing"
    assert set(counts.values()) == {1}, "a number received two SMS"
    assert states == {"sent": size}, states
    report(
        "queue_job worker killed mid-job",
        sms=size,
        latency_ms=int(KILL_LATENCY * 1000),
        workers_killed=len(killed),
        left_in_flight_by_the_kill=stuck,
        states_after_kill=after_kill,
        gateway_messages=sum(counts.values()),
        states=states,
    )
