"""End-to-end fixtures: a real database ``cgsms_e2e`` (private PostgreSQL cluster of the
project) with cgsms installed, the fake gateway in its own process, and Odoo code run in
subprocesses that the tests can kill.

``CGSMS_E2E_DB`` changes the database name (``cgsms_e2e_19`` on Odoo 19.0);
``CGSMS_E2E_REUSE_DB=1`` keeps and reuses it (faster when iterating on the tests)."""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from .helpers import GatewayProcess, Runner, db_exists, install_database, project_env

SERIES = os.environ.get("ODOO_SERIES") or "18.0"
DB = os.environ.get("CGSMS_E2E_DB") or ("cgsms_e2e" if SERIES == "18.0" else "cgsms_e2e_19")
REUSE = bool(os.environ.get("CGSMS_E2E_REUSE_DB"))
# Counts shown at the end of the run (``pytest -q`` keeps its terminal summary).
REPORT = []


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("cgsms end-to-end counts")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def report():
    def add(test, **counts):
        line = f"{test}: " + ", ".join(f"{k}={v}" for k, v in counts.items())
        REPORT.append(line)
        print(line)

    return add


@pytest.fixture(scope="session")
def project():
    env, values = project_env()
    probe = subprocess.run(["psql", "-Atc", "SELECT 1", "postgres"], env=env, capture_output=True)
    if probe.returncode:
        pytest.fail(
            "The project's PostgreSQL is not running: run scripts/setup.sh first "
            f"({probe.stderr.decode().strip()})"
        )
    log_dir = Path(values["CGSMS_VAR"]) / "log" / ("e2e" if SERIES == "18.0" else f"e2e-{SERIES}")
    log_dir.mkdir(parents=True, exist_ok=True)
    return {
        "env": env,
        "python": values["PY"],
        "odoo": values["ODOO_SRC"],
        "log_dir": log_dir,
        "without_demo": values["WITHOUT_DEMO"],
    }


@pytest.fixture(scope="session")
def database(project):
    env = project["env"]
    if not (REUSE and db_exists(env, DB)):
        install_database(project, DB, "cgsms,cgsms_repairs", "install.log", project["without_demo"])
    yield DB
    if not REUSE:
        subprocess.run(["dropdb", "--if-exists", DB], env=env, check=False)


@pytest.fixture(scope="session")
def gateway(project):
    gw = GatewayProcess(project["python"], project["log_dir"] / "gateway.log")
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def runner(project, database, gateway):
    runner = Runner(project["python"], database, project["env"], project["log_dir"])
    runner.run("setup_account", gateway=gateway.url, credits=1000)
    yield runner
    runner.close()


@pytest.fixture
def fresh(runner, gateway):
    """An empty queue and history, a quiet gateway; returns a function to set the balance,
    the SMS batch size and the account's engine settings (``in_flight``, ``rate``,
    ``reconcile_delay``, ``base_url``)."""
    gateway.reset()

    def prepare(credits=1000.0, batch_size=500, **account):
        account.setdefault("base_url", gateway.url)
        return runner.run("reset_state", credits=credits, batch_size=batch_size, **account)

    prepare()
    return prepare


@pytest.fixture
def barrier():
    with tempfile.TemporaryDirectory(prefix="cgsms-e2e-") as tmp:
        yield Path(tmp) / "go"
