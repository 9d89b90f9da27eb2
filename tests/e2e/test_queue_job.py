"""Scale-out on OCA queue_job with real processes: one Odoo server in production mode
(``--workers=4 --load=base,web,queue_job``, channels ``root:4,root.cgsms:4``) drains the SMS
queue as chunk jobs, each number exactly once, also when a worker is killed in the middle of
a job.

The database (``CGSMS_E2E_QJ_DB``, default ``cgsms_e2e_qj``) has ``cgsms_queue_job`` (and so
``queue_job``) installed; the Odoo server listens on ``CGSMS_E2E_QJ_PORT`` (default 8271)."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from .helpers import ROOT, Runner, wait_until

DB = os.environ.get("CGSMS_E2E_QJ_DB", "cgsms_e2e_qj")
PORT = int(os.environ.get("CGSMS_E2E_QJ_PORT", "8271"))
REUSE = bool(os.environ.get("CGSMS_E2E_REUSE_DB"))
LATENCY = 0.1  # seconds each provider call takes at the gateway
KILL_LATENCY = 0.5  # longer calls in the kill test: the worker dies with a chunk in flight
SIZE = int(os.environ.get("CGSMS_E2E_QJ_SIZE", "2000"))
CHANNELS = "root:4,root.cgsms:4"


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
    env = project["env"]
    return [
        project["python"],
        str(Path(project["odoo"]) / "odoo-bin"),
        f"--addons-path={env['CGSMS_ADDONS']}",
        f"--db_host={env['PGHOST']}",
        f"--db_port={env['PGPORT']}",
        f"--db_user={env['PGUSER']}",
        "-d",
        DB,
        f"--db-filter=^{DB}$",
    ]


@pytest.fixture(scope="module")
def qj_database(project):
    env = project["env"]
    exists = _psql_db_exists(env)
    if not (REUSE and exists):
        subprocess.run(["dropdb", "--if-exists", DB], env=env, check=True)
        subprocess.run(["createdb", DB], env=env, check=True)
        log = project["log_dir"] / "install-queue-job.log"
        with open(log, "w") as handle:
            rc = subprocess.run(
                [
                    *_odoo_args(project),
                    "-i",
                    "cgsms_queue_job",
                    "--without-demo=all",
                    "--stop-after-init",
                    "--max-cron-threads=0",
                    "--http-port=0",
                    "--log-level=warn",
                ],
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            ).returncode
        if rc:
            pytest.fail(f"Installing cgsms_queue_job in {DB} failed, see {log}")
    yield DB
    if not REUSE:
        subprocess.run(["dropdb", "--if-exists", DB], env=env, check=False)


def _psql_db_exists(env):
    out = subprocess.run(
        ["psql", "-XAtc", f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", "postgres"],
        env=env,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() == "1"


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


@pytest.fixture
def server(project, qj_runner):
    srv = OdooServer(project)
    yield srv
    srv.stop()


@pytest.fixture
def slow_queue(project, qj_runner, gateway):
    """Empty queue and history, no job left, ``size`` SMS queued, every call ``LATENCY``."""

    def prepare(size, latency=LATENCY):
        gateway.reset()
        gateway.control("settings", auto_deliver=False)
        gateway.fail("slow", count=size * 3, delay=latency)
        qj_runner.run("reset_state", credits=10 * SIZE)
        _psql(project["env"], "DELETE FROM queue_job")
        _configure_account(project["env"])
        numbers = [f"+3519150{i:05d}" for i in range(size)]
        qj_runner.run("queue_sms", numbers=numbers)
        return numbers

    return prepare


def _configure_account(env):
    """No rate limit of our own (the gateway is the limit) and the engine's default calls in
    flight, when the delivery engine has them."""
    columns = {
        row[0]
        for row in _psql(
            env,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'cgsms_account'",
        )
    }
    if "cgsms_rate_limit" in columns:
        _psql(env, "UPDATE cgsms_account SET cgsms_rate_limit = 0")


def _progress(env):
    rows = _psql(
        env,
        "SELECT (SELECT count(*) FROM sms_sms WHERE state IN ('outgoing', 'process')), "
        "(SELECT count(*) FROM cgsms_recipient WHERE state IN ('queued', 'sending'))",
    )
    return int(rows[0][0]), int(rows[0][1])


def _wait_drained(env, timeout):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        sms_left, lines_left = _progress(env)
        if not sms_left and not lines_left:
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"queue not drained in {timeout} s: {_progress(env)} left")


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
    gateway.control("settings", auto_deliver=False)
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
        latency_ms=int(LATENCY * 1000),
        seconds=round(elapsed, 1),
        sms_per_s=round(SIZE / elapsed, 1),
        jobs=sum(jobs.values()),
        gateway_messages=sum(counts.values()),
        states=states,
    )


def test_worker_killed_mid_job_each_number_still_once(
    project, qj_runner, gateway, server, slow_queue, report
):
    env = project["env"]
    size = min(SIZE, 600)
    numbers = slow_queue(size, latency=KILL_LATENCY)
    qj_runner.run("process_queue")

    def job_with_chunk_in_flight():
        if len(gateway.messages()) < 40:
            return None
        rows = _psql(
            env,
            "SELECT worker_pid, uuid FROM queue_job WHERE channel = 'root.cgsms' "
            "AND state = 'started' AND worker_pid IS NOT NULL "
            "AND (SELECT count(*) FROM sms_sms WHERE state = 'process') >= 20 LIMIT 1",
        )
        return rows[0] if rows else None

    pid, job_uuid = wait_until(
        job_with_chunk_in_flight, timeout=120, interval=0.02, what="a job with SMS in flight"
    )
    os.kill(int(pid), signal.SIGKILL)
    killed_at = len(gateway.messages())

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
    assert after_kill.get("sending"), f"the killed job left nothing in flight: {after_kill}"
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
        killed_pid=int(pid),
        killed_job=job_uuid,
        gateway_messages_at_kill=killed_at,
        states_after_kill=after_kill,
        gateway_messages=sum(counts.values()),
        states=states,
    )
