"""The failover scenario of ``bench.py --failover``: a campaign of N SMS whose primary
provider stops answering half-way (connection refused: the proxy in front of its gateway is
killed once the gateway holds N/2 messages); a second account, at a second fake gateway,
takes the rest. The delivery is the SMS queue run (``sms.sms._process_queue``) in one
process, as ``bench.py`` without ``--production``; the primary is then reachable again and
the reconciliation looks up, at the primary only, the SMS whose answer was lost when it
went down. Each number must reach exactly one gateway, once."""

import json
import subprocess
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SECOND = "Bench second account"


class _Proxy:
    """``tests/e2e/tcp_proxy.py`` in front of the primary's gateway, killed half-way."""

    def __init__(self, python, target_port, port):
        self.args = [python, str(ROOT / "tests" / "e2e" / "tcp_proxy.py"), str(port)]
        self.args += ["127.0.0.1", str(target_port)]
        self.url = f"http://127.0.0.1:{port}"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("the TCP proxy did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc.stdout.close()


def _messages(url):
    return requests.get(url + "/_control/messages", timeout=300).json()["messages"]


def _numbers(url):
    return [m["to"] for m in _messages(url)]


def _kill_half_way(proxy, gateway_url, half, done, stats):
    while not done.is_set():
        if len(_numbers(gateway_url)) >= half:
            proxy.kill()
            stats["killed_at"] = time.monotonic()
            return
        time.sleep(0.2)


def run(options, env, python, sizes, gateway, worker, make_gateway, free_port):
    """Run the scenario for each size; print a table; 0 when every number left once."""
    db = options.db
    # With --ports BASE: the second gateway on BASE+3, the proxy on BASE+4.
    base = options.ports
    second = make_gateway(python, base + 3 if base else 0, options.latency)
    rows = []
    try:
        for size in sizes:
            worker(env, python, db, "clean", path="cgsms")
            gateway.reset()
            second.reset()
            proxy = _Proxy(python, gateway.url.rsplit(":", 1)[1], base + 4 if base else free_port())
            try:
                worker(env, python, db, "failover_setup", primary=proxy.url, second=second.url)
                compose = worker(env, python, db, "compose", path="cgsms", size=size)
                done, stats = threading.Event(), {}
                killer = threading.Thread(
                    target=_kill_half_way, args=(proxy, gateway.url, size // 2, done, stats)
                )
                started = time.monotonic()
                killer.start()
                deliver = worker(env, python, db, "deliver", path="cgsms", size=size)
                done.set()
                killer.join()
                proxy.start()  # the primary answers again: the lost answers are looked up
                reconcile = worker(env, python, db, "failover_reconcile")
                state = worker(env, python, db, "failover_state", message_id=compose["message_id"])
            finally:
                proxy.kill()
            # Only this campaign's SMS (their refs): the stale reconciliation may also send
            # SMS of an earlier run that a killed run left "sending".
            refs = set(state["refs"])
            first = [m["to"] for m in _messages(gateway.url) if m["ref"] in refs]
            other = [m["to"] for m in _messages(second.url) if m["ref"] in refs]
            # What each gateway received, to check a run by hand (refs are the SMS uuids).
            (ROOT / ".var" / "bench" / "failover-messages.json").write_text(
                json.dumps({"primary": _messages(gateway.url), "second": _messages(second.url)})
            )
            every = first + other
            row = {
                "size": size,
                "deliver": deliver["seconds"],
                "killed_after": stats.get("killed_at", started) - started,
                "reconcile": reconcile["seconds"],
                "primary": len(first),
                "second": len(other),
                "looked_up": reconcile["looked_up"],
                "duplicates": len(every) - len(set(every)),
                "states": state["states"],
                "charged": state["charged"],
            }
            row["ok"] = (
                len(set(every)) == size
                and not row["duplicates"]
                and set(state["states"]) <= {"sent", "delivered"}
            )
            rows.append(row)
            print(f"  failover N={size}: {row}", flush=True)
    finally:
        worker(env, python, db, "failover_teardown", gateway=gateway.url)
        second.stop()
    print()
    header = (
        f"{'N':>6} | {'latency':>7} | {'delivery s':>10} | {'SMS/s':>7} | {'primary down at':>15} "
        f"| {'via primary':>11} | {'via second':>10} | {'looked up':>9} | {'twice':>5} | ok"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>6} | {options.latency:>5.0f}ms | {r['deliver']:>10.2f} | "
            f"{r['size'] / r['deliver']:>7.1f} | {r['killed_after']:>14.2f}s | "
            f"{r['primary']:>11} | {r['second']:>10} | {r['looked_up']:>9} | "
            f"{r['duplicates']:>5} | {'yes' if r['ok'] else 'NO'}"
        )
    return 0 if all(r["ok"] for r in rows) else 1


# ------------------------------------------------------------------------------ worker side


def _accounts(env):
    Account = env["cgsms.account"].with_context(active_test=False)
    primary = Account.search(
        [("company_id", "=", env.company.id), ("provider", "=", "sandbox"), ("name", "!=", SECOND)],
        order="id",
        limit=1,
    )
    return primary, Account.search([("name", "=", SECOND)], limit=1)


def _phase_setup(env, args):
    primary, second = _accounts(env)
    vals = {
        "company_id": env.company.id,
        "provider": "sandbox",
        "username": "sandbox",
        "password": "sandbox-token",
        "sender": "CgSMS",
        "low_balance_threshold": 0,
        "cgsms_in_flight": primary.cgsms_in_flight,
        "cgsms_rate_limit": primary.cgsms_rate_limit,
        "base_url": args["second"],
        "sequence": 20,
        "active": True,
        "name": SECOND,  # after "provider", which computes a name
    }
    if second:
        second.write(vals)
    else:
        second = env["cgsms.account"].create(dict(vals, name=SECOND))
    primary.write(
        {
            "base_url": args["primary"],
            "sequence": 10,
            "active": True,
            "out_of_rotation_until": False,
        }
    )
    env.cr.execute("DELETE FROM cgsms_account_health")
    balance = second.credit_available
    if balance < 1_000_000:
        env["cgsms.credit.line"].create(
            {"account_id": second.id, "kind": "topup", "amount": 2_000_000 - balance}
        )
    return {}


def _phase_reconcile(env, args):
    """The primary is back: the SMS whose answer was lost are looked up there, then the queue
    sends what the lookups put back in it."""
    started = time.perf_counter()
    env["ir.config_parameter"].set_param("cgsms.reconcile_delay", "0")
    env.cr.execute("SELECT count(*) FROM cgsms_recipient WHERE state IN ('checking', 'sending')")
    looked_up = env.cr.fetchone()[0]
    env.cr.commit()
    for _round in range(10):
        env["sms.sms"]._cgsms_reconcile_stale()
        env["sms.sms"]._process_queue()
        env.invalidate_all()
        env.cr.execute(
            "SELECT count(*) FROM cgsms_recipient WHERE state IN ('checking', 'sending', 'queued')"
        )
        if not env.cr.fetchone()[0]:
            break
    return {"seconds": time.perf_counter() - started, "looked_up": looked_up}


def _phase_state(env, args):
    lines = env["cgsms.recipient"].search([("message_id", "=", args["message_id"])])
    states = {}
    for line in lines:
        states[line.state] = states.get(line.state, 0) + 1
    charged = {}
    for account in lines.account_id:
        charged[account.name] = round(
            -sum(
                env["cgsms.credit.line"]
                .search([("account_id", "=", account.id), ("recipient_id", "in", lines.ids)])
                .mapped("amount")
            ),
            2,
        )
    return {"states": states, "charged": charged, "refs": lines.mapped("sms_uuid")}


def _phase_teardown(env, args):
    """Back to one account at the gateway, as the other scenarios of bench.py expect."""
    primary, second = _accounts(env)
    second.active = False
    primary.write({"base_url": args["gateway"], "out_of_rotation_until": False})
    return {}


PHASES = {
    "failover_setup": _phase_setup,
    "failover_reconcile": _phase_reconcile,
    "failover_state": _phase_state,
    "failover_teardown": _phase_teardown,
}
