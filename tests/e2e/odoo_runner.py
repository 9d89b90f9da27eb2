"""Run one scenario against an Odoo database in its own process, so that a test can kill it.

    python tests/e2e/odoo_runner.py --db cgsms_e2e SCENARIO [--args JSON] [--barrier FILE]

The scenario runs with a fresh registry cursor as superuser, outside Odoo's test mode (so
``sms.send(auto_commit=True)`` really commits), and prints one line ``RESULT {json}`` on
stdout. Connection settings come from the PG* environment variables; the addons path from
``CGSMS_ADDONS``. ``--barrier FILE``: take the transaction snapshot, write ``FILE.ready-<pid>``,
then wait until ``FILE`` exists (to make two processes race on the same snapshot age).
``provider_timeout`` in the arguments (or ``CGSMS_E2E_PROVIDER_TIMEOUT``) shortens the
provider HTTP timeout. ``serve`` runs many scenarios in one process (one JSON request
``{"scenario", "args"}`` per line on stdin, one RESULT line each): loading the registry
takes seconds, so the steps that need no separate process share one.
"""

import argparse
import json
import logging
import os
import sys
import time
import traceback

import doors
import inbound
import routing


def _configure(db):
    from odoo.tools import config

    level = os.environ.get("CGSMS_E2E_LOG_LEVEL", "warn")
    args = [f"--addons-path={os.environ['CGSMS_ADDONS']}", f"-d{db}", f"--log-level={level}"]
    for option, var in (("db_host", "PGHOST"), ("db_port", "PGPORT"), ("db_user", "PGUSER")):
        if os.environ.get(var):
            args.append(f"--{option}={os.environ[var]}")
    if os.environ.get("PGPASSWORD"):
        args.append(f"--db_password={os.environ['PGPASSWORD']}")
    config.parse_config(args)


PROVIDER_TIMEOUT = [os.environ.get("CGSMS_E2E_PROVIDER_TIMEOUT")]


def _patch_provider_timeout():
    """Let a scenario shorten the provider HTTP timeout (``provider_timeout`` argument)."""
    from odoo.addons.cgsms.models.cgsms_account_provider import CgsmsAccount

    original = CgsmsAccount._provider_config

    def _provider_config(self):
        config = original(self)
        if PROVIDER_TIMEOUT[0]:
            config.timeout = float(PROVIDER_TIMEOUT[0])
        return config

    CgsmsAccount._provider_config = _provider_config


class _Collector(logging.Handler):
    def __init__(self, errors):
        super().__init__(logging.ERROR)
        self.errors = errors

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.errors.append(f"{record.getMessage()}: {type(exc).__name__}"[:300])


def _collect_errors():
    """Errors Odoo logs but swallows (``_process_queue`` logs and goes on), for the report."""
    errors = []
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Collector)]:
        root.removeHandler(handler)
    root.addHandler(_Collector(errors))
    return errors


def _wait_barrier(env, barrier):
    env.cr.execute("SELECT 1")  # the REPEATABLE READ snapshot starts here
    with open(f"{barrier}.ready-{os.getpid()}", "w") as handle:
        handle.write("ready")
    deadline = time.monotonic() + 60
    while not os.path.exists(barrier):
        if time.monotonic() > deadline:
            raise TimeoutError("barrier never released")
        time.sleep(0.01)


# ---------------------------------------------------------------------------------- scenarios


def setup_account(env, args):
    """Company in Portugal, one active sandbox account at the gateway, ``credits`` bought."""
    company = env.company
    company.country_id = env.ref("base.pt")
    env["ir.config_parameter"].set_param("web.base.url", "http://127.0.0.1:8069")
    env["ir.cron"].search([]).write({"active": False})  # nothing runs behind the tests' back
    Account = env["cgsms.account"].with_context(active_test=False)
    Account.search([]).write({"active": False})
    account = Account.create(
        {
            "company_id": company.id,
            "provider": "sandbox",
            "base_url": args["gateway"],
            "username": "sandbox",
            "password": "sandbox-token",
            "sender": "CgSMS",
            "low_balance_threshold": 0,
        }
    )
    if args.get("credits"):
        env["cgsms.credit.line"].create(
            {"account_id": account.id, "kind": "topup", "amount": args["credits"]}
        )
    return {"account_id": account.id}


def reset_state(env, args):
    """Empty queue and history, balance set to ``credits``, SMS batch size ``batch_size``;
    the account's ``in_flight`` calls and ``rate`` (messages per second), and the delay
    before an ambiguous send is looked up (``reconcile_delay``, seconds)."""
    env.cr.execute("DELETE FROM sms_sms")
    env.cr.execute("UPDATE cgsms_credit_line SET recipient_id = NULL")
    env.cr.execute("DELETE FROM cgsms_recipient")
    env.invalidate_all()
    account = env["cgsms.account"]._get_active()
    balance = account.credit_available
    wanted = float(args.get("credits", 1000.0))
    if abs(balance - wanted) > 1e-6:
        env["cgsms.credit.line"].create(
            {"account_id": account.id, "kind": "adjustment", "amount": round(wanted - balance, 4)}
        )
    env["ir.config_parameter"].set_param("sms.session.batch.size", str(args.get("batch_size", 500)))
    env["ir.config_parameter"].set_param(
        "cgsms.reconcile_delay", str(args.get("reconcile_delay", 60))
    )
    account.write(
        {
            "cgsms_in_flight": args.get("in_flight", 20),
            "cgsms_rate_limit": args.get("rate", 200.0),
            "base_url": args.get("base_url") or account.base_url,
        }
    )
    env.cr.execute("DELETE FROM cgsms_rate_bucket WHERE account_id = %s", [account.id])
    return {"balance": account.credit_available}


def queue_sms(env, args):
    """Queue one sms.sms per number in ``numbers`` (state outgoing), not sent yet."""
    company = env.company
    sms = env["sms.sms"].create(
        [
            {
                "number": number,
                "body": args.get("body", "Hello from the e2e suite"),
                "state": "outgoing",
                "cgsms_company_id": company.id,
            }
            for number in args["numbers"]
        ]
    )
    return {"sms_ids": sms.ids}


def process_queue(env, args):
    """What the SMS queue cron does."""
    seen = env["sms.sms"].search_count([("state", "=", "outgoing")])
    env["sms.sms"]._process_queue()
    return {"outgoing_seen": seen}


def send_now(env, args):
    """Create SMS for ``numbers`` and send them at once, as a user's send does (with Odoo's
    retry on serialization failures, as for an RPC request)."""
    from odoo.service.model import retrying

    tries = []

    def attempt():
        tries.append(1)
        sms = env["sms.sms"].create(
            [
                {"number": n, "body": args.get("body", "Hello"), "state": "outgoing"}
                for n in args["numbers"]
            ]
        )
        if args.get("barrier") and len(tries) == 1:
            _wait_barrier(env, args["barrier"])
        sms.send(auto_commit=True)
        return sms.ids

    ids = retrying(attempt, env)
    return {"sms_ids": ids, "tries": len(tries)}


def reconcile_stale(env, args):
    """Age the "sending" lines by ``minutes`` and run the reconciliation."""
    env.cr.execute(
        "UPDATE cgsms_recipient SET write_date = write_date - interval '1 minute' * %s "
        "WHERE state = 'sending'",
        [args.get("minutes", 16)],
    )
    env.invalidate_all()
    env["sms.sms"]._cgsms_reconcile_stale()
    return {}


def reconcile(env, args):
    """What the reconciliation cron does: look ambiguous and interrupted sends up."""
    env["sms.sms"]._cgsms_reconcile_stale()
    return {}


def resend(env, args):
    """What a person can do on SMS already sent: "Resend" (SMS in error) and "Retry" (set
    outgoing again, then the queue runs)."""
    sms = env["sms.sms"].search([("number", "in", args["numbers"])])
    before = {s.number: s.state for s in sms}
    sms.write({"to_delete": False})
    sms.action_set_error("sms_server")
    sms.resend_failed()
    sms.exists().write({"to_delete": False})
    sms.exists().action_set_outgoing()
    env["sms.sms"]._process_queue()
    return {"before": before}


def snapshot(env, args):
    """States of the history lines, the sms.sms queue and the credits."""
    env.invalidate_all()
    account = env["cgsms.account"]._get_active()
    recipients = env["cgsms.recipient"].search([])
    lines = env["cgsms.credit.line"].search([("account_id", "=", account.id)])
    return {
        "recipients": [
            {
                "number": r.number,
                "state": r.state,
                "error_class": r.error_class or "",
                "failure_reason": r.failure_reason or "",
                "attempts": r.attempts,
                "cost": r.cost,
                "provider_message_id": r.provider_message_id or "",
                "sms_uuid": r.sms_uuid or "",
            }
            for r in recipients
        ],
        "sms": [
            {"id": s.id, "number": s.number, "state": s.state, "to_delete": s.to_delete}
            for s in env["sms.sms"].search([])
        ],
        "balance": round(account.credit_available, 4),
        # Movements of the SMS in the history (reset_state detaches the older ones).
        "debited": round(
            -sum(line.amount for line in lines if line.kind == "debit" and line.recipient_id), 4
        ),
        "refunded": round(
            sum(line.amount for line in lines if line.kind == "refund" and line.recipient_id), 4
        ),
        "lowest_balance": round(min(_running(lines.sorted("id")), default=0.0), 4),
    }


def demo_facts(env, args):
    """What a new user of the demo database finds: company, currency, languages, and how
    Portuguese numbers typed without their prefix are read (nothing is saved)."""
    company = env.company
    ana = env.ref("cgsms.partner_demo_ana")
    message = env["cgsms.message"].new(
        {
            "body": "Olá",
            "partner_ids": [(6, 0, ana.ids)],
            "free_numbers": "912 345 678; 961000001",
        }
    )
    express = env["cgsms.express.wizard"].new(
        {"numbers": "912345678; +351 912 345 678", "partner_ids": [(6, 0, ana.ids)]}
    )
    return {
        "country": company.country_id.code,
        "currency": company.currency_id.name,
        "chart_template": company.chart_template,
        "languages": sorted(env["res.lang"].search([]).mapped("code")),
        "admin_lang": env.ref("base.user_admin").lang,
        "ana_mobile": ana.cgsms_mobile,
        "targets": [
            {"raw": t.raw, "e164": t.e164, "error_class": t.error_class}
            for t in message._cgsms_resolve()
        ],
        "express": [
            {"number": r["number"], "valid": r["valid"], "reason": r["reason"]}
            for r in express._resolve_recipients()
        ],
    }


def dlr_setup(env, args):
    """Delivery reports go to ``base_url`` and are signed with ``webhook_secret``."""
    env["ir.config_parameter"].set_param("web.base.url", args["base_url"])
    account = env["cgsms.account"]._get_active()
    account.webhook_secret = args["webhook_secret"]
    return {"account_id": account.id, "callback_url": account._callback_url()}


def delivery_reports(env, args):
    """How many delivery reports kept for the gateway ids ``message_ids`` (they came before
    their SMS was saved) wait for their SMS and how many were applied."""
    env.invalidate_all()
    kept = env["cgsms.delivery.report"].search([("provider_message_id", "in", args["message_ids"])])
    return {
        "pending": len(kept.filtered(lambda r: r.state == "pending")),
        "applied": len(kept.filtered(lambda r: r.state == "applied")),
    }


def apply_pending_reports(env, args):
    """What the delivery-report cron does (``_cron_apply_pending``)."""
    return {"updated": env["cgsms.delivery.report"]._cron_apply_pending()}


def _running(lines):
    total = 0.0
    for line in lines:
        total += line.amount
        yield total


SCENARIOS = {
    f.__name__: f
    for f in (
        setup_account,
        reset_state,
        queue_sms,
        process_queue,
        send_now,
        reconcile_stale,
        reconcile,
        resend,
        snapshot,
        demo_facts,
        dlr_setup,
        delivery_reports,
        apply_pending_reports,
    )
}


SCENARIOS.update(doors.SCENARIOS)
SCENARIOS.update(inbound.SCENARIOS)
SCENARIOS.update(routing.SCENARIOS)


def _run(registry, scenario, args, barrier=""):
    from odoo import SUPERUSER_ID, api

    outcome = {"ok": True}
    logged = _collect_errors()
    PROVIDER_TIMEOUT[0] = args.pop("provider_timeout", None) or os.environ.get(
        "CGSMS_E2E_PROVIDER_TIMEOUT"
    )
    registry = registry.check_signaling()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        try:
            if barrier and scenario != "send_now":
                _wait_barrier(env, barrier)
            elif barrier:
                args["barrier"] = barrier
            outcome.update(SCENARIOS[scenario](env, args) or {})
            cr.commit()
        except Exception as exc:  # reported to the test, which decides what is expected
            cr.rollback()
            outcome.update(ok=False, error=type(exc).__name__, message=str(exc)[:500])
            traceback.print_exc()
    registry.signal_changes()
    outcome["logged_errors"] = logged
    print("RESULT " + json.dumps(outcome), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--args", default="{}")
    parser.add_argument("--barrier", default="")
    parser.add_argument(
        "scenario",
        choices=[*sorted(SCENARIOS), "serve"],
        help="serve: read one JSON request {scenario, args} per line on stdin",
    )
    options = parser.parse_args(argv)
    _configure(options.db)
    from odoo.modules.registry import Registry

    registry = Registry(options.db)
    _patch_provider_timeout()
    if options.scenario != "serve":
        _run(registry, options.scenario, json.loads(options.args), options.barrier)
        return 0
    for line in sys.stdin:
        if line.strip():
            request = json.loads(line)
            _run(registry, request["scenario"], request.get("args") or {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
