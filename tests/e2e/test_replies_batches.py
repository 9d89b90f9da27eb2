"""Replies recorded by the webhook and processed in chunks, on a real Odoo server (threaded,
each request committed, no cron running): a burst leaves every reply posted exactly once, by
the requests themselves or, for those a request left when its time budget ran out, by the cron
it asked for; a reply recorded while another transaction holds the
processing lock is processed by the next holder or the cron; a processor killed in the middle
of a chunk leaves its replies to them; an opt-out is applied before the webhook answers."""

import subprocess
import threading
from concurrent import futures
from pathlib import Path

import requests

from .helpers import wait_until
from .test_dlr_burst import odoo_server  # noqa: F401 - the server fixture, shared
from .test_inbound_races import _errors, _signed

# addons/cgsms/models/cgsms_reply_process.py: PROCESS_LOCK
PROCESS_LOCK = 1667722864
LOCK_HOLDERS = (
    f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {PROCESS_LOCK}"
)


class _Psql:
    """A psql session of its own on the e2e database, fed line by line."""

    def __init__(self, project, database):
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", database],
            env=project["env"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, sql):
        """Run ``sql`` and wait until psql got through it."""
        self.proc.stdin.write(f"{sql}\n\\echo done\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line, f"psql stopped: {lines}"
            if line.strip() == "done":
                return lines
            lines.append(line.strip())

    def kill(self):
        """The process dies at once, as a killed worker: its transaction is rolled back."""
        self.proc.kill()
        self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(10)


def _reply(url, number, ref, text="Obrigado, recebi."):
    body = _signed({"msisdn": number.lstrip("+"), "messageId": ref, "text": text})
    return requests.post(url, json=body, timeout=60).status_code


def _setup(runner, odoo_server, numbers):  # noqa: F811
    account_id = runner.run("inbound_setup", base_url=odoo_server["url"])["account_id"]
    runner.run("replies_sent", account_id=account_id, numbers=numbers)
    return account_id, f"{odoo_server['url']}/cgsms/in/vonage/{account_id}"


def test_burst_of_replies_each_posted_exactly_once(runner, odoo_server, report):  # noqa: F811
    numbers = [f"+3519126{i:05d}" for i in range(150)]
    account_id, url = _setup(runner, odoo_server, numbers)
    log_start = len(Path(odoo_server["log"]).read_text())
    local = threading.local()

    def post(index):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        number = numbers[index % len(numbers)]
        # every reply posted twice, as a provider retrying: recorded and posted once
        body = _signed({"msisdn": number.lstrip("+"), "messageId": f"b-{number}", "text": "Sim"})
        return session.post(url, json=body, timeout=60).status_code

    triggers = runner.run("replies_cron_triggered")["triggers"]
    with futures.ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(post, range(2 * len(numbers))))
    # no cron runs on this server: the requests themselves processed the replies, except
    # those a request left when it reached its time budget (on a loaded machine), for which
    # it asked for the cron: it runs now, as a cron worker would at once
    after_burst = runner.run("replies_posted", account_id=account_id, numbers=numbers)["numbers"]
    left = sum(s["pending"] for s in after_burst.values())
    asked = runner.run("replies_cron_triggered")["triggers"] - triggers
    runner.run("replies_cron")
    state = runner.run("replies_posted", account_id=account_id, numbers=numbers)["numbers"]
    errors = _errors(odoo_server["log"], log_start)
    report(
        "burst of replies",
        posts=len(codes),
        replies=sum(s["replies"] for s in state.values()),
        posted_by_the_requests=sum(s["posted"] for s in after_burst.values()),
        left_to_the_cron=left,
        posted=sum(s["posted"] for s in state.values()),
        log_errors=len(errors),
    )
    assert set(codes) == {200}, codes
    assert not left or asked, f"{left} replies left pending and the cron not asked for"
    for number, numbers_state in state.items():
        assert numbers_state == {
            "replies": 1,
            "pending": 0,
            "posted": 1,
            "messages": 1,
            "opted_out": False,
        }, (number, numbers_state)
    assert not errors, errors[:5]


def test_replies_recorded_while_the_lock_is_held_processed_by_the_next_holder(
    project,
    database,
    runner,
    odoo_server,  # noqa: F811
    report,
):
    numbers = [f"+3519127{i:05d}" for i in range(4)]
    account_id, url = _setup(runner, odoo_server, numbers)
    holder = _Psql(project, database)
    try:
        holder.run(f"SELECT pg_advisory_lock({PROCESS_LOCK});")
        codes = [_reply(url, numbers[0], "held-0"), _reply(url, numbers[1], "held-1", "STOP")]
        held = runner.run("replies_posted", account_id=account_id, numbers=numbers[:2])
        holder.run(f"SELECT pg_advisory_unlock({PROCESS_LOCK});")
        # the next reply's request gets the lock and processes the one left waiting too
        codes.append(_reply(url, numbers[2], "after-2"))
        after = runner.run("replies_posted", account_id=account_id, numbers=numbers[:3])
    finally:
        holder.close()
    report("reply while the lock is held", codes=codes)
    assert codes == [200, 200, 200], codes
    waiting, stop = held["numbers"][numbers[0]], held["numbers"][numbers[1]]
    assert (waiting["pending"], waiting["posted"]) == (1, 0), waiting
    # an opt-out does not wait for the lock: applied before the webhook answered
    assert stop["opted_out"] and stop["pending"] == 0, stop
    for number in numbers[:3]:
        assert after["numbers"][number]["pending"] == 0, after
        assert after["numbers"][number]["messages"] == 1, after


def test_processor_killed_mid_chunk_leaves_its_replies_to_the_cron(
    project,
    database,
    runner,
    odoo_server,  # noqa: F811
    report,
):
    numbers = [f"+3519128{i:05d}" for i in range(5)]
    account_id, url = _setup(runner, odoo_server, numbers)
    holder = _Psql(project, database)
    try:
        # a processor that took the lock and claimed the pending replies, then dies
        holder.run(f"SELECT pg_advisory_lock({PROCESS_LOCK});")
        codes = [_reply(url, number, f"kill-{number}") for number in numbers]
        holder.run(
            "BEGIN; SELECT count(*) FROM (SELECT id FROM cgsms_reply WHERE is_pending"
            " FOR UPDATE) AS claimed;"
        )
        holder.kill()
    finally:
        holder.close()

    def released():
        out = subprocess.run(
            ["psql", "-XAtc", LOCK_HOLDERS, database],
            env=project["env"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip() == "0"

    wait_until(released, timeout=30, interval=0.1, what="the killed session's locks released")
    left = runner.run("replies_posted", account_id=account_id, numbers=numbers)["numbers"]
    runner.run("replies_cron")
    done = runner.run("replies_posted", account_id=account_id, numbers=numbers)["numbers"]
    report("processor killed mid-chunk", replies=len(numbers))
    assert codes == [200] * len(numbers), codes
    assert all(s["pending"] == 1 and s["posted"] == 0 for s in left.values()), left
    assert all(s["pending"] == 0 and s["messages"] == 1 for s in done.values()), done
