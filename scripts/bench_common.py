"""What the modes of ``bench.py`` share. On the orchestrator's side: the project's environment
(``scripts/lib.sh``), the databases, the fake gateway in its own process, and the bench's
worker processes (``bench.py --worker PHASE``: one Odoo registry each). On the worker's side:
the bench's partners and sandbox account, and the measure of a phase."""

import json
import os
import resource
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
LOG_DIR = ROOT / ".var" / "bench"


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
    # 19.0 takes --without-demo as a flag
    no_demo = "--without-demo=all" if env.get("ODOO_SERIES", "18.0") == "18.0" else "--without-demo"
    _odoo_init(env, python, odoo_src, db, "-i", "cgsms", no_demo)


def _odoo_cmd(env, python, odoo_src, db, *args):
    return [
        python,
        str(Path(odoo_src) / "odoo-bin"),
        f"--addons-path={env['CGSMS_ADDONS']}",
        f"--db_host={env['PGHOST']}",
        f"--db_port={env['PGPORT']}",
        f"--db_user={env['PGUSER']}",
        "-d",
        db,
        *args,
    ]


def _module_dir(env, python, name):
    """Where addon ``name`` is, in the addons path or the venv's ``odoo/addons`` (wheels)."""
    dirs = [Path(p) for p in env["CGSMS_ADDONS"].split(",")]
    dirs += Path(python).resolve().parent.parent.glob("lib/python3*/site-packages/odoo/addons")
    dirs += Path(python).parent.parent.glob("lib/python3*/site-packages/odoo/addons")
    for path in dirs:
        if (path / name / "__manifest__.py").exists():
            return path / name
    return None


def _odoo_init(env, python, odoo_src, db, *args):
    """Runs odoo-bin once on db (install or update) and waits for it to end."""
    subprocess.run(
        _odoo_cmd(
            env,
            python,
            odoo_src,
            db,
            *args,
            "--stop-after-init",
            "--max-cron-threads=0",
            "--log-level=warn",
        ),
        env=env,
        check=True,
    )


def _ensure_module(env, python, odoo_src, db, name):
    if (
        _psql_db(env, db, f"SELECT state FROM ir_module_module WHERE name = '{name}'")
        == "installed"
    ):
        return
    print(f"Installing {name} in {db}...", flush=True)
    _odoo_init(env, python, odoo_src, db, "-i", name)


def _psql_db(env, db, sql):
    out = subprocess.run(["psql", "-Atc", sql, db], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"psql failed on {db}: {out.stderr.strip()}")
    return out.stdout.strip()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Gateway:
    def __init__(self, python, port=0, latency_ms=0.0):
        self.url = f"http://127.0.0.1:{port or _free_port()}"
        self.latency = latency_ms / 1000.0
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
        requests.post(
            self.url + "/_control/settings", json={"latency": self.latency}, timeout=30
        ).raise_for_status()

    def count(self, provider):
        data = requests.get(self.url + "/_control/messages", timeout=300).json()["messages"]
        data = [m for m in data if m["provider"] == provider]
        return len(data), len({m["to"] for m in data})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def _worker(env, python, db, phase, **args):
    cmd = [
        python,
        str(ROOT / "scripts" / "bench.py"),
        "--worker",
        phase,
        "--db",
        db,
        "--args",
        json.dumps(args),
    ]
    # The stock composer reads its record ids with literal_eval, capped at 100 KiB by default
    # (about 14,000 ids): raise the cap, as an Odoo administrator would for such sends.
    env = dict(env, ODOO_LIMIT_LITEVAL_BUFFER=str(64 * 1024 * 1024))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "workers.log", "a") as log:
        log.write(f"\n===== {time.strftime('%H:%M:%S')} {phase} {args}\n{proc.stderr}")
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.stderr.write(proc.stderr[-4000:])
    raise SystemExit(f"bench worker {phase} {args} failed (rc={proc.returncode})")


def _rate(size, seconds):
    return size / seconds if seconds else float("nan")


# ------------------------------------------------------------------------------ worker side


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
    # the delivery engine's settings, when given (else the account's own)
    for option, fname in (("in_flight", "cgsms_in_flight"), ("rate", "cgsms_rate_limit")):
        if args.get(option) is not None and fname in Account._fields:
            vals[fname] = args[option]
    if account:
        account.write(vals)
    else:
        Account.search([("company_id", "=", company.id)]).write({"active": False})
        account = Account.create(dict(vals, company_id=company.id, provider="sandbox"))
    env.cr.commit()
    settings = {
        fname: account[fname]
        for fname in ("cgsms_in_flight", "cgsms_rate_limit")
        if fname in account._fields
    }
    Partner = env["res.partner"].with_context(
        mail_create_nolog=True, mail_create_nosubscribe=True, tracking_disable=True
    )
    mobile = _mobile_field(env)
    existing = Partner.search_count([("ref", "=", PARTNER_REF)])
    for start in range(existing, args["partners"], BATCH):
        stop = min(start + BATCH, args["partners"])
        Partner.create(
            [
                {
                    "name": f"Bench customer {i:06d}",
                    "ref": PARTNER_REF,
                    mobile: f"+35191{i:07d}",
                    "country_id": company.country_id.id,
                }
                for i in range(start, stop)
            ]
        )
        env.cr.commit()
        env.invalidate_all()
    return {"partners": Partner.search_count([("ref", "=", PARTNER_REF)]), "account": settings}


def _mobile_field(env):
    """The partner's mobile number: "mobile" on 18.0, "phone" on 19.0 (it has no mobile)."""
    return "mobile" if "mobile" in env["res.partner"]._fields else "phone"


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


PHASES = {"setup": _phase_setup, "clean": _phase_clean}
