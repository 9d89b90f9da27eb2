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
import re
import threading
import time
from concurrent import futures

import requests

SECRET = "bench-replies-webhook-secret"
NUMBER = "+35193{:07d}"  # the customers' numbers (bench.py's own partners use +35191)
TEXT = "Obrigado, recebi a mensagem. Até amanhã!"


def _body(index, run):
    return json.dumps(
        {"id": f"bench-{run}-{index}", "from": NUMBER.format(index), "text": TEXT}
    ).encode()


def _post_all(url, size, run, connections):
    """Post the N replies from ``connections`` threads, each with a connection of its own.
    Returns (seconds, {HTTP code: count})."""
    local = threading.local()

    def post(index):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        body = _body(index, run)
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
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
            load_before = os.getloadavg()
            seconds, codes = _post_all(
                base["url"], size, f"{int(time.time())}-{run_no}", options.connections
            )
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
        ok = codes == {"200": size} and recorded == size and posted == size
        row = {
            "size": size,
            "workers": server.workers,
            "connections": options.connections,
            "seconds": seconds,
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
            f"{seconds:7.2f}s {row['rate']:7.1f} replies/s, answers {codes}, recorded {recorded}, "
            f"posted on their record {posted}, load average {row['load']}"
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
    """``size`` replies recorded in this process under cProfile, as the route does after
    reading the body: signature check, parsing, then ``cgsms.reply._cgsms_receive``."""
    from odoo.addons.cgsms.providers import WebhookRequest

    _phase_clean(env, args)
    env.cr.commit()
    account = _account(env)
    adapter = account._provider()
    Reply = env["cgsms.reply"].sudo()
    profiler = cProfile.Profile()
    started = time.monotonic()
    for index in range(args["size"]):
        body = _body(index, "profile")
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        request = WebhookRequest(
            "POST", account._inbound_url(), {"X-Sandbox-Signature": signature}, {}, body
        )
        profiler.enable()
        assert adapter.verify_signature(request)
        Reply._cgsms_receive(account, adapter.parse_inbound(request))
        env.cr.commit()
        profiler.disable()
    seconds = time.monotonic() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(
        r"verify_signature|parse_inbound|_cgsms_receive_one|_cgsms_answered_sms|"
        r"_cgsms_known_partner|_cgsms_sender_user|_cgsms_post|message_post|_notify_thread|"
        r"_cgsms_apply_keyword|_cgsms_join|read_committed|create|commit|flush"
    )
    text = "\n".join(out.getvalue().splitlines()[:60])
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_callees(
        r"mail/models/mail_thread.py:\d+\(message_post\)"
    )
    callees = "\n".join(
        line for line in out.getvalue().splitlines() if re.search(r"\d\.\d{3}", line)
    )
    head = f"Profile: {args['size']} replies in one process, {args['size'] / seconds:.1f}/s"
    return {"text": f"{head}\n{text}\nmessage_post calls:\n{callees}"}


PHASES = {
    "replies_setup": _phase_setup,
    "replies_clean": _phase_clean,
    "replies_url": _phase_url,
    "replies_profile": _phase_profile,
}
