"""Helpers of the end-to-end suite: the private PostgreSQL settings, the fake gateway in its
own process, and Odoo scenarios run in killable subprocesses (``odoo_runner.py``)."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("odoo_runner.py")


def project_env():
    """Environment of the project's scripts (``scripts/lib.sh`` + ``pg_env``)."""
    script = (
        f". {ROOT}/scripts/lib.sh; pg_env; "
        'printf "%s\\n" "$PGHOST" "$PGPORT" "$PGUSER" "$PY" "$ODOO_SRC" "$CGSMS_ADDONS" '
        '"$CGSMS_VAR" "$ODOO_SERIES" "$(odoo_demo_args without)"'
    )
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    keys = (
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PY",
        "ODOO_SRC",
        "CGSMS_ADDONS",
        "CGSMS_VAR",
        "ODOO_SERIES",
        "WITHOUT_DEMO",
    )
    values = dict(zip(keys, out, strict=True))
    env = dict(os.environ)
    env.update({k: values[k] for k in ("PGHOST", "PGPORT", "PGUSER", "CGSMS_ADDONS")})
    env["ODOO_SRC"] = values["ODOO_SRC"]
    env["ODOO_SERIES"] = values["ODOO_SERIES"]
    if not Path(values["PY"]).exists():
        values["PY"] = sys.executable
    return env, values


def db_exists(env, name):
    """Whether the database ``name`` exists on the project's PostgreSQL."""
    out = subprocess.run(
        ["psql", "-XAtc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'", "postgres"],
        env=env,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() == "1"


def odoo_command(project, db):
    """``odoo-bin`` with the project's addons path and database connection, on ``db``."""
    env = project["env"]
    return [
        project["python"],
        str(Path(project["odoo"]) / "odoo-bin"),
        f"--addons-path={env['CGSMS_ADDONS']}",
        f"--db_host={env['PGHOST']}",
        f"--db_port={env['PGPORT']}",
        f"--db_user={env['PGUSER']}",
        "-d",
        db,
    ]


def install_database(project, db, modules, log_name, *options):
    """A fresh database ``db`` with ``modules`` installed (Odoo's output in ``log_name``);
    the test fails, pointing at the log, when the installation does."""
    env = project["env"]
    subprocess.run(["dropdb", "--if-exists", db], env=env, check=True)
    subprocess.run(["createdb", db], env=env, check=True)
    run_logged(
        project,
        [
            *odoo_command(project, db),
            "-i",
            modules,
            *options,
            "--stop-after-init",
            "--max-cron-threads=0",
            "--http-port=0",
            "--log-level=warn",
        ],
        log_name,
        f"Installing {modules} in {db}",
    )


def run_logged(project, command, log_name, what):
    """Run ``command`` in the project's environment, its output in ``log_name``; the test
    fails, pointing at the log, when it does."""
    log = Path(project["log_dir"]) / log_name
    with open(log, "w") as handle:
        rc = subprocess.run(
            command, env=project["env"], stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT
        ).returncode
    if rc:
        pytest.fail(f"{what} failed, see {log}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def release(barrier, processes, timeout=60):
    """Wait until ``processes`` runners wait at ``barrier`` (snapshot taken), then let them go."""
    wait_until(
        lambda: len(list(barrier.parent.glob(barrier.name + ".ready-*"))) >= processes,
        timeout=timeout,
        what="the runners at the barrier",
    )
    barrier.touch()


class GatewayProcess:
    """``scripts/fake_gateway.py`` in a subprocess, driven through its control API."""

    def __init__(self, python, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [python, str(ROOT / "scripts" / "fake_gateway.py"), "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._up, timeout=20, what="the fake gateway")

    def _up(self):
        with contextlib.suppress(requests.RequestException):
            return requests.get(self.url + "/_control/messages", timeout=1).ok
        return False

    def control(self, action, **data):
        response = requests.post(f"{self.url}/_control/{action}", json=data, timeout=10)
        response.raise_for_status()
        return response.json()

    def messages(self):
        return requests.get(self.url + "/_control/messages", timeout=10).json()["messages"]

    def send_requests(self):
        requests_ = requests.get(self.url + "/_control/requests", timeout=10).json()["requests"]
        return [r for r in requests_ if r["kind"] == "send"]

    def counts(self):
        """How many messages the gateway recorded per number."""
        return Counter(m["to"] for m in self.messages())

    def reset(self):
        self.control("reset")

    def fail(self, mode, count=1, delay=None):
        self.control("fail", provider="sandbox", mode=mode, count=count, delay=delay)

    def settings(self, **values):
        self.control("settings", **values)

    def all_requests(self):
        return requests.get(self.url + "/_control/requests", timeout=10).json()["requests"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


class ProxyProcess:
    """``tcp_proxy.py`` in front of the gateway: a proxy that a test can kill mid-request."""

    def __init__(self, python, gateway_port, port=None):
        self.python = python
        self.gateway_port = gateway_port
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [
                self.python,
                str(Path(__file__).with_name("tcp_proxy.py")),
                str(self.port),
                "127.0.0.1",
                str(self.gateway_port),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()


class Runner:
    """Starts ``odoo_runner.py`` scenarios on the e2e database."""

    def __init__(self, python, db, env, log_dir):
        self.python = python
        self.db = db
        self.env = env
        self.log_dir = Path(log_dir)
        self._n = 0
        self._server = None

    def start(self, scenario, barrier=None, extra_env=None, **args):
        self._n += 1
        log = self.log_dir / f"{self._n:03d}-{scenario}.log"
        cmd = [self.python, str(RUNNER), "--db", self.db, scenario, "--args", json.dumps(args)]
        if barrier:
            cmd += ["--barrier", str(barrier)]
        env = dict(self.env, **(extra_env or {}))
        handle = open(log, "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if scenario == "serve" else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            env=env,
        )
        proc.log_path, proc.log_handle = log, handle
        return proc

    @staticmethod
    def result(proc, timeout=180):
        out, _err = proc.communicate(timeout=timeout)
        proc.log_handle.close()
        for line in out.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT ") :])
        log = Path(proc.log_path).read_text()[-3000:]
        raise AssertionError(f"runner gave no result (rc={proc.returncode}):\n{log}")

    def run(self, scenario, **args):
        """Run ``scenario`` in the long-lived runner process and return its result."""
        if self._server is None or self._server.poll() is not None:
            self._server = self.start("serve")
        self._server.stdin.write(json.dumps({"scenario": scenario, "args": args}) + "\n")
        self._server.stdin.flush()
        while True:
            line = self._server.stdout.readline()
            if not line:
                log = Path(self._server.log_path).read_text()[-3000:]
                raise AssertionError(f"the runner stopped:\n{log}")
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
                break
        if scenario not in ("process_queue", "send_now") and not result["ok"]:
            raise AssertionError(f"{scenario} failed: {result}")
        return result

    def close(self):
        if self._server is not None:
            self._server.stdin.close()
            self._server.wait(30)
            self._server.stdout.close()
            self._server.log_handle.close()
            self._server = None

    @staticmethod
    def kill(proc):
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        proc.log_handle.close()
