"""``scripts/run.sh`` (admin / admin) listens on 127.0.0.1 only, unless the user asks for
another address with ``CGSMS_HTTP_INTERFACE``."""

import os
import signal
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from .helpers import ROOT, free_port, wait_until


def _listening(port):
    """The IPv4 addresses a TCP socket listens on at ``port`` (read from /proc/net/tcp)."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        host, hex_port = fields[1].split(":")
        if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            addresses.add(socket.inet_ntoa(struct.pack("<I", int(host, 16))))
    return addresses


@pytest.mark.parametrize(("interface", "expected"), [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])
def test_run_script_listens_on_loopback_unless_asked(project, database, interface, expected):
    port, gateway_port = free_port(), free_port()
    env = dict(
        project["env"],
        CGSMS_DB=database,
        CGSMS_HTTP_PORT=str(port),
        CGSMS_GATEWAY_PORT=str(gateway_port),
    )
    env.pop("CGSMS_HTTP_INTERFACE", None)
    if interface:
        env["CGSMS_HTTP_INTERFACE"] = interface
    log_path = Path(project["log_dir"]) / f"run-sh-{interface or 'default'}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "run.sh"), "--max-cron-threads=0"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(lambda: _listening(port), timeout=180, interval=0.5, what="run.sh's Odoo")
            assert _listening(port) == {expected}
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
