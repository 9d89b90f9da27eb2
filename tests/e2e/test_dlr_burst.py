"""A burst of delivery reports against a real Odoo server (threaded, default connection pool)
never starves the other users, and every report ends applied."""

import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from .conftest import DB
from .helpers import ROOT, free_port, odoo_command, wait_until

BURST = 500
SANDBOX_WEBHOOK_SECRET = "fake-sandbox-webhook-secret"  # the fake gateway's default


@pytest.fixture(scope="module")
def odoo_server(project, database, runner):
    """``odoo-bin`` serving HTTP on ``CGSMS_E2E_HTTP_PORT`` (else a free port), threaded
    mode, Odoo's default pool of 64 connections, no cron."""
    env = project["env"]
    port = int(os.environ.get("CGSMS_E2E_HTTP_PORT") or free_port())
    log_path = Path(project["log_dir"]) / "dlr-burst-server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            *odoo_command(project, database),
            f"--http-port={port}",
            "--http-interface=127.0.0.1",
            "--max-cron-threads=0",
            "--log-level=info",
            "--log-handler=werkzeug:WARNING",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{url}/web/login", timeout=5).status_code == 200
        return False

    try:
        wait_until(up, timeout=120, interval=0.5, what="the Odoo server")
        yield {"url": url, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _unrelated_requests(url, stop, results):
    """What other users do meanwhile: open the login page, log in over JSON-RPC."""
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": "common", "method": "login", "args": [DB, "admin", "admin"]},
    }
    while not stop.is_set():
        for kind in ("login page", "json-rpc"):
            started = time.monotonic()
            try:
                if kind == "login page":
                    response = requests.get(f"{url}/web/login", timeout=30)
                    ok = response.status_code == 200
                else:
                    response = requests.post(f"{url}/jsonrpc", json=payload, timeout=30)
                    ok = response.status_code == 200 and "error" not in response.json()
                detail = response.status_code
            except requests.RequestException as exc:
                ok, detail = False, type(exc).__name__
            results.append((kind, ok, detail, time.monotonic() - started))
        time.sleep(0.05)


def _unrelated_summary(unrelated):
    """What the other users saw, for the report: requests made, failed, the slowest."""
    return {
        "unrelated_requests": len(unrelated),
        "unrelated_failed": len([r for r in unrelated if not r[1]]),
        "unrelated_slowest_s": round(max((r[3] for r in unrelated), default=0), 2),
    }


def test_burst_of_reports_never_starves_other_users(runner, gateway, fresh, odoo_server, report):
    fresh(credits=BURST * 1.44 + 10)
    runner.run("dlr_setup", base_url=odoo_server["url"], webhook_secret=SANDBOX_WEBHOOK_SECRET)
    numbers = [f"+3519130{i:05d}" for i in range(BURST)]
    runner.run("queue_sms", numbers=numbers)
    runner.run("process_queue")
    sent = runner.run("snapshot")
    assert [r["state"] for r in sent["recipients"]].count("sent") == BURST

    # like a provider: a report answered 429/5xx (or not at all) is posted again later
    gateway.control("settings", report_retries=30, report_backoff=0.5, report_timeout=60)
    stop, unrelated = threading.Event(), []
    other_users = threading.Thread(
        target=_unrelated_requests, args=(odoo_server["url"], stop, unrelated)
    )
    other_users.start()
    try:
        started = time.monotonic()
        answer = requests.post(
            f"{gateway.url}/_control/deliver", json={"concurrency": BURST}, timeout=900
        ).json()
        burst_seconds = time.monotonic() - started
    finally:
        stop.set()
        other_users.join(60)
        gateway.control("settings", report_retries=0)
        runner.run("dlr_setup", base_url="http://127.0.0.1:8069", webhook_secret="")

    final = runner.run("snapshot")
    states = [r["state"] for r in final["recipients"]]
    server_log = Path(odoo_server["log"]).read_text()
    failed_unrelated = [r for r in unrelated if not r[1]]
    report(
        "burst of delivery reports",
        reports=BURST,
        seconds=round(burst_seconds, 1),
        reposted_by_gateway=answer["retried"],
        final_codes={code: answer["codes"].count(code) for code in set(answer["codes"])},
        delivered=states.count("delivered"),
        **_unrelated_summary(unrelated),
    )
    assert unrelated, "no unrelated request ran during the burst"
    assert not failed_unrelated, failed_unrelated[:5]
    assert "Connection Pool Is Full" not in server_log
    assert answer["codes"] == [200] * BURST
    assert states.count("delivered") == BURST


EARLY = 30


def test_early_delivery_reports_all_end_delivered(runner, gateway, fresh, odoo_server, report):
    """Early delivery reports: with the gateway's automatic report delay at 0, a report can
    reach Odoo before the send's result is saved; every delivered SMS still ends delivered."""
    # sent at 10 a second: the reports come one at a time (none refused as busy), each
    # racing the save of its own SMS
    fresh(credits=EARLY * 1.44 + 10, rate=10)
    runner.run("dlr_setup", base_url=odoo_server["url"], webhook_secret=SANDBOX_WEBHOOK_SECRET)
    numbers = [f"+3519140{i:05d}" for i in range(EARLY)]
    runner.run("queue_sms", numbers=numbers)
    log_offset = Path(odoo_server["log"]).stat().st_size
    # a report for each SMS the moment the gateway takes it (posted again when Odoo is busy,
    # as a provider does)
    gateway.control(
        "settings",
        auto_deliver=True,
        auto_deliver_delay=0,
        report_retries=30,
        report_backoff=0.5,
        report_timeout=60,
    )
    try:
        sender = runner.start("process_queue")  # its own process, as the SMS queue cron
        pending_during_send = 0
        while sender.poll() is None:
            ids = [m["id"] for m in gateway.messages()]
            if ids:
                kept = runner.run("delivery_reports", message_ids=ids)
                pending_during_send = max(pending_during_send, kept["pending"])
            time.sleep(0.05)
        processed = runner.result(sender)
        assert processed["ok"], processed
        ids = [m["id"] for m in gateway.messages()]
        after_send = runner.run("delivery_reports", message_ids=ids)

        applied_by_cron, cron_runs, states = 0, 0, []

        def all_delivered():
            nonlocal applied_by_cron, cron_runs, states
            # no cron thread in this server: run the delivery-report cron as it would
            applied_by_cron += runner.run("apply_pending_reports")["updated"]
            cron_runs += 1
            states = [r["state"] for r in runner.run("snapshot")["recipients"]]
            return len(states) == EARLY and set(states) == {"delivered"}

        with contextlib.suppress(TimeoutError):
            wait_until(all_delivered, timeout=60, interval=0.5, what="every SMS delivered")
        final = runner.run("delivery_reports", message_ids=ids)
    finally:
        gateway.control("settings", auto_deliver=False, auto_deliver_delay=0.2, report_retries=0)
        runner.run("dlr_setup", base_url="http://127.0.0.1:8069", webhook_secret="")

    server_log = Path(odoo_server["log"]).read_bytes()[log_offset:].decode(errors="replace")
    report(
        "early delivery reports",
        sms=EARLY,
        accepted_by_gateway=len(ids),
        reported_delivered=[m["status"] for m in gateway.messages()].count("delivered"),
        kept_before_their_sms=final["pending"] + final["applied"],
        pending_seen_during_send=pending_during_send,
        pending_after_send=after_send["pending"],
        applied_by_sender=after_send["applied"],
        applied_by_cron=applied_by_cron,
        cron_runs=cron_runs,
        answered_busy=server_log.count("answered 503"),
        delivered=states.count("delivered"),
        not_delivered=EARLY - states.count("delivered"),
    )
    assert len(ids) == EARLY
    assert all(m["status"] == "delivered" for m in gateway.messages())
    assert len(states) == EARLY
    assert states.count("delivered") == EARLY, states
    assert final["pending"] == 0, final
    # the early path was taken: reports came before their SMS was saved
    assert final["pending"] + final["applied"] > 0


SLOW = 60
SLOW_SECONDS = 8


def _slow_report(url, body, hold):
    """A report posted like a provider on a very slow link: the headers, then the body one
    byte at a time over ``hold`` seconds; posted again while answered 429/503 (after its
    Retry-After, shortened). Returns the last HTTP code."""
    parts = urlsplit(url)
    signature = hmac.new(SANDBOX_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nX-Sandbox-Signature: {signature}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    for _attempt in range(30):
        with socket.create_connection((parts.hostname, parts.port), timeout=120) as sock:
            sock.sendall(head)
            for i in range(len(body)):
                sock.sendall(body[i : i + 1])
                time.sleep(hold / len(body))
            code = int(sock.makefile("rb").readline().split()[1])
        if code not in (429, 503):
            return code
        hold = 0
        time.sleep(0.5)
    return code


def test_slow_reports_never_starve_other_users_and_all_end_applied(
    runner, gateway, fresh, odoo_server, report
):
    fresh(credits=SLOW * 1.44 + 10)
    setup = runner.run(
        "dlr_setup", base_url=odoo_server["url"], webhook_secret=SANDBOX_WEBHOOK_SECRET
    )
    runner.run("queue_sms", numbers=[f"+3519150{i:05d}" for i in range(SLOW)])
    runner.run("process_queue")
    ids = [m["id"] for m in gateway.messages()]
    assert len(ids) == SLOW
    codes = [None] * SLOW

    def post(index):
        body = json.dumps({"id": ids[index], "status": "delivered"}).encode()
        codes[index] = _slow_report(setup["callback_url"], body, SLOW_SECONDS)

    stop, unrelated = threading.Event(), []
    other_users = threading.Thread(
        target=_unrelated_requests, args=(odoo_server["url"], stop, unrelated)
    )
    senders = [threading.Thread(target=post, args=(i,)) for i in range(SLOW)]
    try:
        other_users.start()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(300)
    finally:
        stop.set()
        other_users.join(60)
        runner.run("dlr_setup", base_url="http://127.0.0.1:8069", webhook_secret="")
    states = [r["state"] for r in runner.run("snapshot")["recipients"]]
    failed_unrelated = [r for r in unrelated if not r[1]]
    report(
        "slow delivery reports",
        reports=SLOW,
        seconds_per_body=SLOW_SECONDS,
        final_codes={code: codes.count(code) for code in set(codes)},
        delivered=states.count("delivered"),
        **_unrelated_summary(unrelated),
    )
    assert unrelated, "no unrelated request ran while the reports trickled in"
    assert not failed_unrelated, failed_unrelated[:5]
    assert max(r[3] for r in unrelated) < 5
    assert codes == [200] * SLOW
    assert states.count("delivered") == SLOW
