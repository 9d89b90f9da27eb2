"""Webhooks posted at the same moment to a real Odoo server (threaded, each request in its own
committed transaction): the parts of a long Vonage reply, in any order, at once and again,
are joined into exactly one reply; identical posts at once are all answered 200 and give one
reply, with no error in the server's log; a delivery report committed while its SMS's result
is being saved is applied as soon as that result commits, not at the next cron."""

import hashlib
import threading
import time
from pathlib import Path

import requests

from .helpers import wait_until
from .inbound import SIGNATURE_SECRET
from .test_dlr_burst import (
    SANDBOX_WEBHOOK_SECRET,
    odoo_server,  # noqa: F401 - the server fixture, shared
)

PARTS = ("Bom dia, a reparação ", "ficou ótima e o ", "equipamento já funciona, ", "obrigado!")


def _signed(params):
    """``params`` with Vonage's ``md5hash`` signature, as Vonage signs its webhooks."""
    params = {**params, "timestamp": "1765000000"}
    payload = "".join(
        "&{}={}".format(key, str(params[key]).replace("&", "_").replace("=", "_"))
        for key in sorted(params)
    )
    params["sig"] = hashlib.md5((payload + SIGNATURE_SECRET).encode()).hexdigest()
    return params


def _part(number, ref, index):
    return _signed(
        {
            "msisdn": number.lstrip("+"),
            "to": "351930000000",
            "messageId": f"{ref}-{index}",
            "text": PARTS[index - 1],
            "type": "unicode",
            "concat": "true",
            "concat-ref": ref,
            "concat-part": str(index),
            "concat-total": str(len(PARTS)),
        }
    )


BUSY = []  # answers 503 (more webhooks at once than the server serves: posted again)


def _at_once(url, bodies):
    """Post every body of ``bodies`` from a thread of its own, all released together, each
    posted again after a "busy" answer (503, Retry-After) as providers do; the final HTTP
    status of each, in order."""
    gate = threading.Barrier(len(bodies))
    codes = [None] * len(bodies)

    def post(i, body):
        gate.wait()
        for _attempt in range(50):
            try:
                codes[i] = requests.post(url, json=body, timeout=60).status_code
            except requests.RequestException as exc:
                codes[i] = type(exc).__name__
            if codes[i] != 503:
                return
            BUSY.append(1)
            time.sleep(0.1)

    threads = [threading.Thread(target=post, args=(i, b)) for i, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return codes


def _errors(log_path, start):
    text = Path(log_path).read_text()[start:]
    return [line for line in text.splitlines() if " ERROR " in line or "bad query" in line]


def test_long_reply_parts_at_once_joined_exactly_once(runner, odoo_server, report):  # noqa: F811
    account_id = runner.run("inbound_setup", base_url=odoo_server["url"])["account_id"]
    url = f"{odoo_server['url']}/cgsms/in/vonage/{account_id}"
    log_start = len(Path(odoo_server["log"]).read_text())
    whole = "".join(PARTS)
    orders = {
        "in order": [1, 2, 3, 4],
        "reversed": [4, 3, 2, 1],
        "each twice": [1, 2, 3, 4, 4, 3, 2, 1],
        "reversed, each three times": [4, 3, 2, 1] * 3,
    }
    outcomes = {}
    for round_no, (name, order) in enumerate(orders.items()):
        for attempt in range(3):
            number = f"+35191255{round_no:02d}{attempt:02d}"
            ref = f"e2e{round_no}{attempt}"
            codes = _at_once(url, [_part(number, ref, i) for i in order])
            # the provider posts every part again later: nothing changes
            codes += _at_once(url, [_part(number, ref, i) for i in reversed(order)])
            state = runner.run("inbound_replies", account_id=account_id, number=number)
            outcomes[f"{name} #{attempt}"] = (codes, state)
            assert set(codes) == {200}, (name, attempt, codes)
            assert [r["body"] for r in state["replies"]] == [whole], (name, attempt, state)
            assert state["pending_parts"] == 0, state
            assert state["parts"] == len(PARTS), state
    errors = _errors(odoo_server["log"], log_start)
    report(
        "long reply, parts at once",
        rounds=len(outcomes),
        replies_each=sorted({len(state["replies"]) for _codes, state in outcomes.values()}),
        log_errors=len(errors),
    )
    assert not errors, errors[:5]


def test_identical_replies_at_once_answered_200_recorded_once(
    runner,
    odoo_server,  # noqa: F811
    report,
):
    account_id = runner.run("inbound_setup", base_url=odoo_server["url"])["account_id"]
    url = f"{odoo_server['url']}/cgsms/in/vonage/{account_id}"
    log_start = len(Path(odoo_server["log"]).read_text())
    rounds = []
    for attempt in range(3):
        number = f"+351912660{attempt:03d}"
        body = _signed(
            {"msisdn": number.lstrip("+"), "messageId": f"dup-{attempt}", "text": "Sim, obrigado"}
        )
        codes = _at_once(url, [body] * 20)
        state = runner.run("inbound_replies", account_id=account_id, number=number)
        rounds.append((codes, len(state["replies"])))
        assert codes == [200] * 20, codes
        assert len(state["replies"]) == 1, state
    errors = _errors(odoo_server["log"], log_start)
    report(
        "identical replies at once",
        rounds=len(rounds),
        posts_each=20,
        answered_busy_then_posted_again=len(BUSY),
        log_errors=len(errors),
    )
    assert not errors, errors[:5]


def test_report_posted_before_the_result_commits_applied_at_once(
    runner,
    gateway,
    fresh,
    odoo_server,  # noqa: F811
    report,
):
    fresh(credits=20)
    setup = runner.run(
        "dlr_setup", base_url=odoo_server["url"], webhook_secret=SANDBOX_WEBHOOK_SECRET
    )
    numbers = [f"+3519170{i:05d}" for i in range(3)]
    try:
        runner.run("queue_sms", numbers=numbers)
        sent = runner.run(
            "process_queue_report_first",
            callback_url=setup["callback_url"],
            secret=SANDBOX_WEBHOOK_SECRET,
        )
        committed = time.monotonic()
        states = []

        def delivered():
            states[:] = [r["state"] for r in runner.run("snapshot")["recipients"]]
            return states == ["delivered"] * len(numbers)

        # no cron runs in this set-up: only the re-check after the commits can apply them
        wait_until(delivered, timeout=1.0, interval=0.1, what="the early reports applied")
        seconds = time.monotonic() - committed
    finally:
        runner.run("dlr_setup", base_url="http://127.0.0.1:8069", webhook_secret="")
    report("report before its result commits", sms=len(numbers), seconds=round(seconds, 2))
    assert sent["ok"] and sent["codes"] == [200] * len(numbers), sent
