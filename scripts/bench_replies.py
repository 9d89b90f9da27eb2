"""The replies scenario of ``bench.py --replies``: N customers answer an SMS they received,
at once, over ``--connections`` connections (16 by default), to an Odoo server set up as
``bench.py --production`` runs it (prefork, ``--workers`` HTTP workers, 2 by default).

Each customer has an SMS sent to them from the sandbox account within the reply window
(a history line, about the customer's contact), so each reply is matched to it and posted on
the contact's chatter, notifying nobody (no user sent it). The replies are signed as the
sandbox provider signs them. Measured from the first post to the last answer; then every
answer must be 200, and the database must hold N matched replies, each posted on its record.

``--profile`` first records ``--profile-size`` replies in one process under cProfile (the
controller's work without HTTP: signature, parsing, matching, recording, chatter post) and
prints where the time goes.
"""

import cProfile
import hashlib
import hmac
import io
import json
import os
import pstats
import threading
import time
from concurrent import futures
from types import SimpleNamespace

import requests
from bench_production import _CpuMeter

SECRET = "bench-replies-webhook-secret"
NUMBER = "+35193{:07d}"  # the customers' numbers (bench.py's own partners use +35191)
TEXT = "Obrigado, recebi a mensagem. Até amanhã!"


def _body(index, run):
    return json.dumps(
        {"id": f"bench-{run}-{index}", "from": NUMBER.format(index), "text": TEXT}
    ).encode()


def _post_all(url, size, run, connections, secret=SECRET):
    """Post the N replies from ``connections`` threads, each with a connection of its own.
    Returns (seconds, {HTTP code: count}). With another ``secret``, every reply is refused
    (403) once its signature is checked: the webhook's bare cost, nothing written."""
    local = threading.local()

    def post(index):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        body = _body(index, run)
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Sandbox-Signature": signature}
        for _attempt in range(20):  # as a provider, a busy answer is posted again
            try:
                code = session.post(url, data=body, headers=headers, timeout=120).status_code
            except requests.RequestException as exc:
                code = type(exc).__name__
            if code not in (429, 503):
                return code
            time.sleep(0.2)
        return code

    started = time.monotonic()
    with futures.ThreadPoolExecutor(connections) as pool:
        codes = list(pool.map(post, range(size)))
    seconds = time.monotonic() - started
    return seconds, {str(c): codes.count(c) for c in set(codes)}


def _get_all(url, size, connections):
    """GET ``url`` N times from ``connections`` threads; returns the seconds."""
    local = threading.local()

    def get(_index):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        return session.get(url, timeout=120).status_code

    started = time.monotonic()
    with futures.ThreadPoolExecutor(connections) as pool:
        list(pool.map(get, range(size)))
    return time.monotonic() - started


def _per_request(cpu, count):
    """CPU ms per request of Odoo, PostgreSQL and the bench's client, and their total."""
    parts = {"odoo": cpu["odoo"], "postgres": cpu["postgres"], "client": cpu["gateway"]}
    parts = {k: round(v * 1000 / count, 2) for k, v in parts.items()}
    parts["total"] = round(sum(parts.values()), 2)
    return parts


def _wait_processed(env, db, psql_db, timeout=900):
    """Wait until no reply is left to process (matched and posted by the webhooks' batches
    or the cron); True when none is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if psql_db(env, db, "SELECT count(*) FROM cgsms_reply WHERE is_pending") == "0":
            return True
        time.sleep(0.5)
    return False


def run(options, env, python, odoo_src, sizes, make_server, worker, psql_db):
    """The bench itself (orchestrator side); returns the exit status."""
    db = options.db
    worker(env, python, db, "replies_setup", size=max(sizes), secret=SECRET)
    if options.profile:
        profile = worker(env, python, db, "replies_profile", size=options.profile_size)
        print(profile["text"], flush=True)
    rows = []
    for run_no, size in enumerate(sizes):
        worker(env, python, db, "replies_clean")
        server = make_server()
        try:
            server.warm_up()
            base = worker(env, python, db, "replies_url", url=server.url)
            # this process (the bench's client) is measured as the "gateway" of the meter
            client = SimpleNamespace(proc=SimpleNamespace(pid=os.getpid()))
            bare_n = min(size, 1000)
            meter = _CpuMeter(env, server, client)
            health = bare_n / _get_all(server.url + "/web/health", bare_n, options.connections)
            health_cpu = _per_request(meter.seconds(), bare_n)
            meter = _CpuMeter(env, server, client)
            bare_s, bare_codes = _post_all(
                base["url"], bare_n, "bare", options.connections, secret="not-the-secret"
            )
            bare_cpu = _per_request(meter.seconds(), bare_n)
            print(
                f"  bare requests, {bare_n} over {options.connections} connections: "
                f"/web/health (no database) {health:.0f}/s, CPU ms each {health_cpu}; "
                f"the replies route refusing a bad signature {bare_n / bare_s:.0f}/s, "
                f"CPU ms each {bare_cpu}, answers {bare_codes}",
                flush=True,
            )
            load_before = os.getloadavg()
            meter = _CpuMeter(env, server, client)
            started = time.monotonic()
            answered, codes = _post_all(
                base["url"], size, f"{int(time.time())}-{run_no}", options.connections
            )
            processed = _wait_processed(env, db, psql_db)
            seconds = time.monotonic() - started
            cpu = _per_request(meter.seconds(), size)
            load_after = os.getloadavg()
        finally:
            server.stop()
        counts = psql_db(
            env,
            db,
            "SELECT count(*), count(*) FILTER (WHERE is_matched AND mail_message_id IS NOT NULL)"
            " FROM cgsms_reply",
        ).split("|")
        recorded, posted = int(counts[0]), int(counts[1])
        ok = processed and codes == {"200": size} and recorded == size and posted == size
        row = {
            "size": size,
            "workers": server.workers,
            "connections": options.connections,
            "seconds": seconds,
            "answered": answered,
            "cpu": cpu,
            "rate": size / seconds if seconds else 0.0,
            "codes": codes,
            "recorded": recorded,
            "posted": posted,
            "load": f"{load_before[0]:.2f} -> {load_after[0]:.2f}",
            "ok": ok,
        }
        rows.append(row)
        print(
            f"  replies N={size:<6} workers={server.workers} connections={options.connections} "
            f"{seconds:7.2f}s {row['rate']:7.1f} replies/s (last answer after {answered:.2f}s, "
            f"last reply posted after {seconds:.2f}s), answers {codes}, recorded {recorded}, "
            f"posted on their record {posted}, load average {row['load']}, CPU ms per reply {cpu}"
            f"{'' if ok else '  << NOT OK'}",
            flush=True,
        )
    print()
    header = (
        f"{'N':>6} | {'workers':>7} | {'conn.':>5} | {'seconds':>8} | {'replies/s':>9} | "
        f"{'posted':>6} | {'load average':>14} | ok"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>6} | {r['workers']:>7} | {r['connections']:>5} | {r['seconds']:>8.2f} | "
            f"{r['rate']:>9.1f} | {r['posted']:>6} | {r['load']:>14} | "
            f"{'yes' if r['ok'] else 'NO'}"
        )
    return 0 if all(r["ok"] for r in rows) else 1


# ------------------------------------------------------------------------------ worker side


def _account(env):
    return (
        env["cgsms.account"]
        .with_context(active_test=False)
        .search([("company_id", "=", env.company.id), ("provider", "=", "sandbox")], limit=1)
    )


def _phase_setup(env, args):
    """The sandbox account signs its webhooks with ``secret``; N customers, each with an SMS
    sent to them from it a minute ago, about their contact."""
    from odoo import fields

    account = _account(env)
    account.write({"webhook_secret": args["secret"], "active": True})
    Partner = env["res.partner"].with_context(
        mail_create_nolog=True, mail_create_nosubscribe=True, tracking_disable=True
    )
    mobile = "mobile" if "mobile" in Partner._fields else "phone"
    numbers = [NUMBER.format(i) for i in range(args["size"])]
    known = set(Partner.search([(mobile, "in", numbers)]).mapped(mobile))
    missing = [n for n in numbers if n not in known]
    for start in range(0, len(missing), 1000):
        Partner.create(
            [{"name": f"Bench reply {n}", mobile: n} for n in missing[start : start + 1000]]
        )
        env.cr.commit()
    partners = {p[mobile]: p for p in Partner.search([(mobile, "in", numbers)])}
    env.cr.execute(
        "DELETE FROM cgsms_recipient WHERE account_id = %s AND number LIKE %s",
        [account.id, "+35193%"],
    )
    sent = fields.Datetime.now()
    Recipient = env["cgsms.recipient"]
    for start in range(0, len(numbers), 1000):
        Recipient.create(
            [
                {
                    "number": number,
                    "partner_id": partners[number].id,
                    "account_id": account.id,
                    "company_id": account.company_id.id,
                    "state": "sent",
                    "date_sent": sent,
                    "provider_message_id": f"bench-sent-{number}",
                    "res_model": "res.partner",
                    "res_id": partners[number].id,
                }
                for number in numbers[start : start + 1000]
            ]
        )
        env.cr.commit()
    return {"customers": len(numbers)}


def _phase_clean(env, args):
    env.cr.execute("DELETE FROM cgsms_reply")
    env.cr.execute("DELETE FROM mail_message WHERE body LIKE %s", ["%Obrigado, recebi%"])
    return {}


def _phase_url(env, args):
    env["ir.config_parameter"].set_param("web.base.url", args["url"])
    return {"url": _account(env)._inbound_url()}


def _phase_profile(env, args):
    """``size`` replies handled in this process under cProfile: first recorded one by one as
    the route does after reading the body (signature check, parsing, the reply's own
    committed transaction), then processed as a burst leaves them, in chunks (matching,
    chatter post). Times are CPU times of this process (``time.process_time``)."""
    from odoo.addons.cgsms.providers import WebhookRequest

    account = _account(env)
    adapter = account._provider()
    Reply = env["cgsms.reply"].sudo()
    size = args["size"]

    def run(record, process, tag):
        _phase_clean(env, args)
        env.cr.commit()
        started = time.process_time()
        for index in range(size):
            body = _body(index, tag)
            signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            request = WebhookRequest(
                "POST", account._inbound_url(), {"X-Sandbox-Signature": signature}, {}, body
            )
            record.enable()
            assert adapter.verify_signature(request)
            Reply._cgsms_record_items(env, account, adapter.parse_inbound(request), commit=True)
            record.disable()
        recorded = time.process_time()
        process.enable()
        Reply._cgsms_process_pending(budget=600)
        process.disable()
        processed = time.process_time()
        return (recorded - started) * 1000 / size, (processed - recorded) * 1000 / size

    class _Off:
        enable = disable = staticmethod(lambda: None)

    plain = run(_Off(), _Off(), "plain")
    record, process = cProfile.Profile(time.process_time), cProfile.Profile(time.process_time)
    profiled = run(record, process, "profile")
    texts = []
    for name, profiler in (("recording", record), ("processing", process)):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(
            r"verify_signature|parse_inbound|_cgsms_record|_cgsms_process|_cgsms_match|"
            r"_cgsms_known_partners|_cgsms_sender_user|_cgsms_post|message_post|_notify_thread|"
            r"_message_create|_cgsms_apply_keyword|_cgsms_join|create|commit|flush|execute"
        )
        texts.append(f"-- {name}\n" + "\n".join(out.getvalue().splitlines()[:45]))
    head = (
        f"Profile: {size} replies in one process, CPU ms per reply: recording {plain[0]:.2f}, "
        f"processing in chunks {plain[1]:.2f}; under cProfile {profiled[0]:.2f} and "
        f"{profiled[1]:.2f}"
    )
    return {"text": head + "\n" + "\n".join(texts)}


PHASES = {
    "replies_setup": _phase_setup,
    "replies_clean": _phase_clean,
    "replies_url": _phase_url,
    "replies_profile": _phase_profile,
}
