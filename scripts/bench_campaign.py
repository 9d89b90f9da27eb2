"""The campaign mode of ``bench.py --campaign``: a send to a customer group of N partners
(100,000 by default), end to end on the production set-up of ``--production queue_job``.

Set-up (not measured): the group with the first N bench partners as members, a user who
sends (SMS user) and another user who only looks at Odoo meanwhile. Then, on a server with
``--queue-job-workers`` prefork workers and queue_job's channels:

  compose  the sender, over HTTP as in the browser, creates the send on the SMS form with
           the group (``web_save``) and presses *Send* (``/web/dataset/call_button``):
           measured until the button's request answers;
  send     from then until no SMS of the send is left to deliver (queue_job's jobs on the
           workers).

For each phase: seconds, the peak memory (the largest resident set of any Odoo process of
the server, sampled from ``/proc`` every half second) and the CPU per SMS (every Odoo
process and PostgreSQL backend, as ``--production`` reads it). All along, every
``--probe-interval`` seconds, the other user opens a contact's form (``web_read``) and the
list of SMS sends (``web_search_read``) over JSON-RPC: min / median / max of each phase.
The run counts only when the gateway got every number once and every line is "sent"."""

import os
import statistics
import threading
import time
from pathlib import Path

import requests
from bench_common import BODY, _partner_ids, _psql_db, _rate, _worker
from bench_production import (
    QUEUE_JOB_CHANNELS,
    _CpuMeter,
    _ensure_module,
    _module_dir,
    _queue_state,
    _Server,
    _wait_delivered,
)

SENDER = "bench_sender"
VIEWER = "bench_viewer"


class _Rpc:
    """A user's JSON-RPC session with the server, as the web client has."""

    def __init__(self, url, db, login, password):
        self.url = url
        self.http = requests.Session()
        answer = self._post(
            "/web/session/authenticate", {"db": db, "login": login, "password": password}
        )
        if not answer.get("uid"):
            raise SystemExit(f"{login} could not log in: {answer}")

    def _post(self, path, params, timeout=600):
        response = self.http.post(
            self.url + path,
            json={"jsonrpc": "2.0", "method": "call", "params": params},
            timeout=timeout,
        )
        response.raise_for_status()
        data = response.json()
        if data.get("error"):
            error = data["error"].get("data", {}).get("message") or data["error"]
            raise RuntimeError(f"{path}: {error}")
        return data["result"]

    def call(self, model, method, *args, **kwargs):
        return self._post(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def button(self, model, method, ids):
        return self._post(
            f"/web/dataset/call_button/{model}/{method}",
            {"model": model, "method": method, "args": [ids], "kwargs": {}},
        )


class _Watch(threading.Thread):
    """In the background: the largest RSS of the server's processes, and the time another
    user takes to open a form and a list, both kept per phase."""

    def __init__(self, server, viewer, partner_id, interval):
        super().__init__(daemon=True)
        self.pgid = server.proc.pid
        self.viewer = viewer
        self.partner_id = partner_id
        self.interval = interval
        self.phase = "idle"
        self.rss = {}  # phase -> largest RSS in MB of one process
        self.opens = {}  # phase -> [seconds]
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        next_probe = time.monotonic()
        while not self.stopping.is_set():
            self._sample_rss()
            if time.monotonic() >= next_probe:
                next_probe = time.monotonic() + self.interval
                threading.Thread(target=self._probe, args=(self.phase,), daemon=True).start()
            self.stopping.wait(0.5)

    def _sample_rss(self):
        largest = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[2]) != self.pgid:
                    continue
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        largest = max(largest, int(line.split()[1]) / 1024.0)
            except (OSError, ValueError):
                continue
        self.rss[self.phase] = max(self.rss.get(self.phase, 0.0), largest)

    def _probe(self, phase):
        started = time.monotonic()
        try:
            self.viewer.call(
                "res.partner",
                "web_read",
                [self.partner_id],
                specification={"name": {}, "email": {}, "phone": {}, "country_id": {}},
            )
            form = time.monotonic() - started
            started = time.monotonic()
            self.viewer.call(
                "cgsms.message",
                "web_search_read",
                [],
                specification={"name": {}, "state": {}, "create_date": {}},
                limit=80,
            )
            listed = time.monotonic() - started
        except (requests.RequestException, RuntimeError) as exc:
            if phase != "after":  # the server stops at the end
                self.errors.append(f"{phase}: {type(exc).__name__}: {exc}"[:300])
            return
        self.opens.setdefault(phase, []).extend([form, listed])

    def stop(self):
        self.stopping.set()
        self.join(5)


def run(options, env, python, odoo_src, sizes, gateway, http_port, gevent_port):
    db = f"{options.db}_queue_job"
    if not _module_dir(env, python, "cgsms_queue_job"):
        raise SystemExit("--campaign needs the addon cgsms_queue_job (and OCA queue_job)")
    _ensure_module(env, python, odoo_src, db, "cgsms_queue_job")
    rows = []
    for size in sizes:
        setup = _worker(env, python, db, "campaign_setup", size=size)
        _worker(env, python, db, "clean", path="cgsms")
        _worker(env, python, db, "crons", active=True)
        gateway.reset()
        server = _Server(env, python, odoo_src, db, options, "queue_job", http_port, gevent_port)
        watch = None
        try:
            server.warm_up()
            sender = _Rpc(server.url, db, SENDER, setup["password"])
            viewer = _Rpc(server.url, db, VIEWER, setup["password"])
            watch = _Watch(server, viewer, setup["partner_id"], options.probe_interval)
            watch.start()
            time.sleep(2 * options.probe_interval)  # the idle server's figures first
            load = [os.getloadavg()[0]]
            watch.phase = "compose"
            meter = _CpuMeter(env, server, gateway)
            started = time.monotonic()
            compose_error = ""
            message_id = sender.call(
                "cgsms.message",
                "web_save",
                [],
                {"name": f"Campaign {size}", "body": BODY, "group_ids": [[4, setup["group_id"]]]},
                specification={"display_name": {}},
            )[0]["id"]
            try:
                sender.button("cgsms.message", "action_send", [message_id])
            except (requests.RequestException, RuntimeError) as exc:
                compose_error = f"{type(exc).__name__}: {exc}"[:300]
            compose_seconds = time.monotonic() - started
            compose_cpu = meter.seconds()
            load.append(os.getloadavg()[0])
            watch.phase = "send"
            meter = _CpuMeter(env, server, gateway)
            started = time.monotonic()
            if not compose_error:
                _wait_delivered(env, db, message_id, meter, started + options.timeout)
            send_seconds = time.monotonic() - started
            send_cpu = meter.seconds()
            load.append(os.getloadavg()[0])
            watch.phase = "after"
            time.sleep(3)  # anything still on its way (a late copy) reaches the gateway
            received, numbers = gateway.count("sandbox")
            outgoing, states = _queue_state(env, db, message_id)
        finally:
            if watch:
                watch.stop()
            server.stop()
            _worker(env, python, db, "crons", active=False)
        killed = server.killed_lines()
        queued = _psql_db(
            env, db, f"SELECT count(*) FROM cgsms_recipient WHERE message_id = {int(message_id)}"
        )
        ok = (
            not compose_error
            and received == size
            and numbers == size
            and not outgoing
            and set(states) <= {"sent", "delivered"}
            and not killed
        )
        rows.append(ok)
        print(
            f"campaign N={size}, {server.workers} workers, channels "
            f"{options.channels or QUEUE_JOB_CHANNELS}: gateway got {received} for {numbers} "
            f"numbers, {queued} lines "
            f"{states}, workers killed {len(killed)}, load average "
            + " -> ".join(f"{v:.2f}" for v in load)
            + ("" if ok else "  << NOT OK"),
            flush=True,
        )
        if compose_error:
            print(f"  compose failed: {compose_error}")
        for line in killed[:5]:
            print(f"    {line}")
        print(f"  {'phase':<8} | {'seconds':>8} | {'SMS/s':>7} | {'peak RSS MB':>11} | CPU ms/SMS")
        for phase, seconds, cpu in (
            ("compose", compose_seconds, compose_cpu),
            ("send", send_seconds, send_cpu),
        ):
            print(
                f"  {phase:<8} | {seconds:>8.2f} | {_rate(size, seconds):>7.1f} | "
                f"{watch.rss.get(phase, 0.0):>11.1f} | "
                f"{1000 * sum(cpu.values()) / size:.2f} ("
                + ", ".join(f"{k} {1000 * v / size:.2f}" for k, v in cpu.items())
                + ")"
            )
        print("  another user opening a contact's form and the sends' list, seconds:")
        for phase in ("idle", "compose", "send"):
            times = watch.opens.get(phase) or []
            if times:
                print(
                    f"    {phase:<8} {len(times):>4} opens: min {min(times):.3f}, median "
                    f"{statistics.median(times):.3f}, max {max(times):.3f}"
                )
        for error in watch.errors[:5]:
            print(f"    probe failed: {error}")
    return 0 if all(rows) else 1


# ------------------------------------------------------------------------------ worker side


def _phase_campaign_setup(env, args):
    """The group of the first N bench partners, the sender and the other user."""
    size = args["size"]
    ids = _partner_ids(env, size)
    Group = env["cgsms.group"].with_context(tracking_disable=True)
    name = f"Bench campaign {size}"
    group = Group.search([("name", "=", name)], limit=1) or Group.create({"name": name})
    # Members written in SQL: the group's set-up is not what is measured.
    env.cr.execute("DELETE FROM cgsms_group_res_partner_rel WHERE group_id = %s", [group.id])
    env.cr.execute(
        "INSERT INTO cgsms_group_res_partner_rel (group_id, partner_id) "
        "SELECT %s, unnest(%s::int[])",
        [group.id, ids],
    )
    group.invalidate_recordset()
    password = "bench-campaign-4711"
    Users = env["res.users"].with_context(no_reset_password=True, tracking_disable=True)
    groups = [env.ref("base.group_user").id, env.ref("cgsms.group_cgsms_user").id]
    for login in (SENDER, VIEWER):
        user = Users.search([("login", "=", login)], limit=1)
        if not user:
            user = Users.create({"name": login.replace("_", " ").title(), "login": login})
        # an email: the send posts on its chatter as the user
        user.write(
            {"password": password, "company_id": env.company.id, "email": f"{login}@bench.invalid"}
        )
        user.write({"company_ids": [(6, 0, env.company.ids)]})
        field = "group_ids" if "group_ids" in user._fields else "groups_id"
        user.write({field: [(4, gid) for gid in groups]})
    return {"group_id": group.id, "password": password, "partner_id": ids[0]}


PHASES = {"campaign_setup": _phase_campaign_setup}
