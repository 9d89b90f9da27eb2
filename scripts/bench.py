#!/usr/bin/env python3
"""Benchmark: a CgSMS send against Odoo's stock ``sms.composer`` mass send, same partners.

    .venv/bin/python scripts/bench.py [--sizes 1000,10000,100000] [--db cgsms_bench]

Both paths send to the project's fake gateway, running in its own process: CgSMS through the
sandbox provider account (one HTTP call per SMS, as real provider APIs work), the stock path
through IAP's JSON-RPC protocol (``sms.endpoint`` pointed at the gateway, batches of 500).

For each size and path two phases are measured, each in a fresh Odoo process:
  compose + queue  CgSMS: a ``cgsms.message`` to N customers, sent (numbers normalised,
                   duplicates and opt-outs dropped, history lines and ``sms.sms`` created,
                   queued); stock: ``sms.composer`` in mass mode (``mass_keep_log=False``,
                   ``mass_force_send=False``) on the same N partners.
  delivery         ``sms.sms._process_queue()`` (what the SMS cron does) until the queue is
                   empty; the gateway must then hold exactly N messages.
Time is wall-clock seconds; memory is the growth of the process's peak RSS during the phase
(``getrusage`` maxrss after the phase minus before it, registry already loaded).

The database is created (cgsms installed, no demo data) when missing, and kept: the partners
are created once for the largest size. ``--rebuild`` starts from a new database.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BODY = "Promo da semana: 10% em todas as reparacoes ate sexta. Responda STOP para sair."
BATCH = 1000
PARTNER_REF = "cgsms-bench"


# ------------------------------------------------------------------------------ orchestrator


def _project_env():
    script = (
        f". {ROOT}/scripts/lib.sh; pg_env; "
        'printf "%s\\n" "$PGHOST" "$PGPORT" "$PGUSER" "$PY" "$ODOO_SRC" "$CGSMS_ADDONS"'
    )
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    keys = ("PGHOST", "PGPORT", "PGUSER", "PY", "ODOO_SRC", "CGSMS_ADDONS")
    values = dict(zip(keys, out, strict=True))
    env = dict(os.environ)
    env.update({k: values[k] for k in ("PGHOST", "PGPORT", "PGUSER", "CGSMS_ADDONS")})
    python = values["PY"] if Path(values["PY"]).exists() else sys.executable
    return env, python, values["ODOO_SRC"]


def _psql(env, sql):
    out = subprocess.run(
        ["psql", "-Atc", sql, "postgres"], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _ensure_database(env, python, odoo_src, db, rebuild):
    exists = _psql(env, f"SELECT 1 FROM pg_database WHERE datname = '{db}'") == "1"
    if exists and not rebuild:
        return
    subprocess.run(["dropdb", "--if-exists", db], env=env, check=True)
    subprocess.run(["createdb", db], env=env, check=True)
    print(f"Installing cgsms in {db}...", flush=True)
    subprocess.run(
        [
            python,
            str(Path(odoo_src) / "odoo-bin"),
            f"--addons-path={env['CGSMS_ADDONS']}",
            f"--db_host={env['PGHOST']}",
            f"--db_port={env['PGPORT']}",
            f"--db_user={env['PGUSER']}",
            "-d",
            db,
            "-i",
            "cgsms",
            "--without-demo=all",
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ],
        env=env,
        check=True,
    )


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Gateway:
    def __init__(self, python):
        self.url = f"http://127.0.0.1:{_free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [python, str(ROOT / "scripts" / "fake_gateway.py"), "--port", port],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(self.url + "/_control/accounts", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def reset(self):
        requests.post(self.url + "/_control/reset", json={}, timeout=30).raise_for_status()
        # The sandbox account's own balance (100) would stop the run after 2000 SMS.
        requests.post(
            self.url + "/_control/balance",
            json={"provider": "sandbox", "amount": 1e9},
            timeout=30,
        ).raise_for_status()

    def count(self, provider):
        data = requests.get(self.url + "/_control/messages", timeout=300).json()["messages"]
        return sum(1 for m in data if m["provider"] == provider), len({m["to"] for m in data})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def _worker(env, python, db, phase, **args):
    cmd = [python, __file__, "--worker", phase, "--db", db, "--args", json.dumps(args)]
    # The stock composer reads its record ids with literal_eval, capped at 100 KiB by default
    # (about 14,000 ids): raise the cap, as an Odoo administrator would for such sends.
    env = dict(env, ODOO_LIMIT_LITEVAL_BUFFER=str(64 * 1024 * 1024))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.stderr.write(proc.stderr[-4000:])
    raise SystemExit(f"bench worker {phase} {args} failed (rc={proc.returncode})")


def _table(rows):
    header = (
        f"{'N':>7} | {'phase':<15} | {'cgsms s':>8} | {'stock s':>8} | {'ratio':>6} | "
        f"{'cgsms MB':>8} | {'stock MB':>8} | {'ratio':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        c, s = row["cgsms"], row["stock"]
        t_ratio = c["seconds"] / s["seconds"] if s["seconds"] else float("nan")
        m_ratio = c["peak_mb"] / s["peak_mb"] if s["peak_mb"] > 0.5 else float("nan")
        lines.append(
            f"{row['size']:>7} | {row['phase']:<15} | {c['seconds']:>8.2f} | "
            f"{s['seconds']:>8.2f} | {t_ratio:>6.2f} | {c['peak_mb']:>8.1f} | "
            f"{s['peak_mb']:>8.1f} | {m_ratio:>6.2f}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="cgsms_bench")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the database")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--args", default="{}", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        return _worker_main(options.worker, options.db, json.loads(options.args))

    if not shutil.which("psql"):
        raise SystemExit("psql not found: run scripts/setup.sh first")
    sizes = [int(s) for s in options.sizes.split(",") if s.strip()]
    env, python, odoo_src = _project_env()
    started = time.monotonic()
    _ensure_database(env, python, odoo_src, options.db, options.rebuild)
    gateway = _Gateway(python)
    rows = []
    try:
        setup = _worker(env, python, options.db, "setup", gateway=gateway.url, partners=max(sizes))
        print(f"Database {options.db}: {setup['partners']} partners ready", flush=True)
        for size in sizes:
            results = {}
            for path in ("cgsms", "stock"):
                _worker(env, python, options.db, "clean", path=path)
                gateway.reset()
                compose = _worker(env, python, options.db, "compose", path=path, size=size)
                deliver = _worker(env, python, options.db, "deliver", path=path, size=size)
                provider = "sandbox" if path == "cgsms" else "iap"
                received, numbers = gateway.count(provider)
                if received != size or numbers != size:
                    raise SystemExit(
                        f"{path} at {size}: the gateway received {received} SMS for "
                        f"{numbers} numbers, expected {size}"
                    )
                results[path] = (compose, deliver)
                print(
                    f"  {path:<5} N={size:<7} compose+queue {compose['seconds']:8.2f}s "
                    f"{compose['peak_mb']:7.1f} MB (queued {compose['queued']}), delivery "
                    f"{deliver['seconds']:8.2f}s {deliver['peak_mb']:7.1f} MB "
                    f"(gateway got {received})",
                    flush=True,
                )
            for index, phase in enumerate(("compose + queue", "delivery")):
                rows.append(
                    {
                        "size": size,
                        "phase": phase,
                        "cgsms": results["cgsms"][index],
                        "stock": results["stock"][index],
                    }
                )
    finally:
        gateway.stop()
    print()
    print(_table(rows))
    print(f"\nratio = cgsms / stock; total run {time.monotonic() - started:.0f}s")
    return 0


# ------------------------------------------------------------------------------ worker side


def _worker_main(phase, db, args):
    from odoo.tools import config

    odoo_args = [f"--addons-path={os.environ['CGSMS_ADDONS']}", f"-d{db}", "--log-level=warn"]
    for option, var in (("db_host", "PGHOST"), ("db_port", "PGPORT"), ("db_user", "PGUSER")):
        if os.environ.get(var):
            odoo_args.append(f"--{option}={os.environ[var]}")
    config.parse_config(odoo_args)
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        result = PHASES[phase](env, args)
        cr.commit()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def _measure(env, func):
    """Run ``func`` and return (its result, seconds, growth of the peak RSS in MB)."""
    env.cr.commit()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    value = func()
    env.cr.commit()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value, seconds, (after - before) / 1024.0


def _phase_setup(env, args):
    company = env.company
    company.country_id = env.ref("base.pt")
    icp = env["ir.config_parameter"]
    icp.set_param("web.base.url", "http://127.0.0.1:8069")
    icp.set_param("sms.endpoint", args["gateway"])  # stock path: IAP protocol at the gateway
    env["ir.cron"].search([]).write({"active": False})  # nothing runs behind the bench's back
    Account = env["cgsms.account"].with_context(active_test=False)
    account = Account.search([("company_id", "=", company.id), ("provider", "=", "sandbox")])
    account = account[:1]
    vals = {
        "base_url": args["gateway"],
        "username": "sandbox",
        "password": "sandbox-token",
        "sender": "CgSMS",
        "low_balance_threshold": 0,
    }
    if account:
        account.write(vals)
    else:
        Account.search([("company_id", "=", company.id)]).write({"active": False})
        account = Account.create(dict(vals, company_id=company.id, provider="sandbox"))
    env.cr.commit()
    Partner = env["res.partner"].with_context(
        mail_create_nolog=True, mail_create_nosubscribe=True, tracking_disable=True
    )
    existing = Partner.search_count([("ref", "=", PARTNER_REF)])
    for start in range(existing, args["partners"], BATCH):
        stop = min(start + BATCH, args["partners"])
        Partner.create(
            [
                {
                    "name": f"Bench customer {i:06d}",
                    "ref": PARTNER_REF,
                    "mobile": f"+35191{i:07d}",
                    "country_id": company.country_id.id,
                }
                for i in range(start, stop)
            ]
        )
        env.cr.commit()
        env.invalidate_all()
    return {"partners": Partner.search_count([("ref", "=", PARTNER_REF)])}


def _use_path(env, path):
    account = (
        env["cgsms.account"]
        .with_context(active_test=False)
        .search([("company_id", "=", env.company.id), ("provider", "=", "sandbox")], limit=1)
    )
    if account.active != (path == "cgsms"):
        account.active = path == "cgsms"
    if path == "cgsms":
        balance = account.credit_available
        if balance < 1_000_000:
            env["cgsms.credit.line"].create(
                {"account_id": account.id, "kind": "topup", "amount": 2_000_000 - balance}
            )
    env.cr.commit()
    return account


def _phase_clean(env, args):
    _use_path(env, args["path"])
    env.cr.execute("DELETE FROM sms_sms")
    env.cr.execute("DELETE FROM sms_tracker")
    return {}


def _partner_ids(env, size):
    ids = env["res.partner"].search([("ref", "=", PARTNER_REF)], order="id", limit=size).ids
    if len(ids) != size:
        raise SystemExit(f"only {len(ids)} bench partners, {size} needed")
    return ids


def _phase_compose(env, args):
    path, size = args["path"], args["size"]
    _use_path(env, path)
    ids = _partner_ids(env, size)
    env.invalidate_all()

    def cgsms_send():
        if "cgsms.message" in env:
            message = env["cgsms.message"].create(
                {"name": f"Bench {size}", "body": BODY, "partner_ids": [(6, 0, ids)]}
            )
            message.with_context(cgsms_direct_send_limit=0).action_send()
            return "cgsms.message"
        # Fallback: queue sms.sms rows as a cgsms send does.
        partners = env["res.partner"].browse(ids)
        for start in range(0, size, BATCH):
            env["sms.sms"].create(
                [
                    {
                        "number": p.mobile,
                        "partner_id": p.id,
                        "body": BODY,
                        "state": "outgoing",
                        "cgsms_company_id": env.company.id,
                    }
                    for p in partners[start : start + BATCH]
                ]
            )
        return "sms.sms"

    def stock_send():
        composer = env["sms.composer"].create(
            {
                "composition_mode": "mass",
                "res_model": "res.partner",
                "res_ids": repr(ids),
                "body": BODY,
                "number_field_name": "mobile",
                "mass_keep_log": False,
                "mass_force_send": False,
            }
        )
        composer.action_send_sms()
        return "sms.composer"

    how, seconds, peak = _measure(env, cgsms_send if path == "cgsms" else stock_send)
    queued = env["sms.sms"].search_count([("state", "=", "outgoing")])
    return {"seconds": seconds, "peak_mb": peak, "queued": queued, "how": how}


def _phase_deliver(env, args):
    _use_path(env, args["path"])
    Sms = env["sms.sms"]

    def deliver():
        rounds = 0
        while Sms.search_count([("state", "=", "outgoing"), ("to_delete", "!=", True)]):
            Sms._process_queue()
            env.invalidate_all()
            rounds += 1
            if rounds > 100:
                raise RuntimeError("the SMS queue does not empty")
        return rounds

    rounds, seconds, peak = _measure(env, deliver)
    return {"seconds": seconds, "peak_mb": peak, "rounds": rounds}


PHASES = {
    "setup": _phase_setup,
    "clean": _phase_clean,
    "compose": _phase_compose,
    "deliver": _phase_deliver,
}


if __name__ == "__main__":
    sys.exit(main())
