"""Scenarios of the runner (``odoo_runner.py``) for several accounts per company: a second
sandbox account at a second fake gateway, its routing and health settings, and a snapshot
that names the account of each SMS."""

from datetime import timedelta

SECOND = "E2E second account"


def _accounts(env):
    primary = env["cgsms.account"]._get_active()
    second = env["cgsms.account"].with_context(active_test=False).search([("name", "=", SECOND)])
    return primary, second


def route_setup(env, args):
    """The primary account (sequence 10) and an active second one (sequence 20) at
    ``gateway``, both sending to Portugal and the UK, with ``credits`` each; ``primary`` and
    ``second`` hold their other settings (prefixes, health thresholds, base URL)."""
    from odoo import fields

    primary, second = _accounts(env)
    countries = [fields.Command.set((env.ref("base.pt") | env.ref("base.uk")).ids)]
    if not second:
        second = env["cgsms.account"].create(
            {
                "name": SECOND,
                "company_id": env.company.id,
                "provider": "sandbox",
                "username": "sandbox",
                "password": "sandbox-token",
                "sender": "CgSMS",
                "low_balance_threshold": 0,
            }
        )
    defaults = {
        "route_prefixes": False,
        "out_of_rotation_until": False,
        "out_of_rotation_reason": False,
        "allowed_country_ids": countries,
        "cgsms_in_flight": 4,
        "cgsms_rate_limit": 200.0,
    }
    primary.write({**defaults, "sequence": 10, **args.get("primary", {})})
    second.write(
        {
            **defaults,
            "active": True,
            "sequence": 20,
            "base_url": args["gateway"],
            **args.get("second", {}),
        }
    )
    env.cr.execute("DELETE FROM cgsms_account_health")
    env.cr.execute("DELETE FROM cgsms_rate_bucket")
    for account in primary | second:
        balance = account.credit_available
        wanted = float(args.get("credits", 1000.0))
        env["cgsms.credit.line"].create(
            {"account_id": account.id, "kind": "adjustment", "amount": round(wanted - balance, 4)}
        )
    return {"primary": primary.id, "second": second.id}


def route_pause_over(env, args):
    """The primary's pause out of rotation is over (as if its time had passed)."""
    from odoo import fields

    primary, _second = _accounts(env)
    if primary.out_of_rotation_until:
        primary.out_of_rotation_until = fields.Datetime.now() - timedelta(seconds=1)
    return {}


def route_reconcile_delay(env, args):
    """Ambiguous sends are looked up ``reconcile_delay`` seconds after their failure."""
    env["ir.config_parameter"].set_param("cgsms.reconcile_delay", str(args["reconcile_delay"]))
    return {}


def route_teardown(env, args):
    """Back to one account, for the other end-to-end tests."""
    primary, second = _accounts(env)
    second.active = False
    primary.write({"route_prefixes": False, "out_of_rotation_until": False})
    return {}


def route_snapshot(env, args):
    """Each history line with its account, each account's balance, rotation and switches."""
    env.invalidate_all()
    primary, second = _accounts(env)
    names = {primary.id: "primary", second.id: "second"}
    accounts = {}
    for account in primary | second:
        lines = env["cgsms.credit.line"].search(
            [("account_id", "=", account.id), ("recipient_id", "!=", False)]
        )
        accounts[names[account.id]] = {
            "balance": round(account.credit_available, 4),
            "charged": round(-sum(lines.mapped("amount")), 4),
            "rotation": account.rotation_state,
            "switches": [m.body for m in account.message_ids if "rotation" in (m.body or "")],
        }
    return {
        "recipients": [
            {
                "number": r.number,
                "state": r.state,
                "account": names.get(r.account_id.id, ""),
                "failure_reason": r.failure_reason or "",
            }
            for r in env["cgsms.recipient"].search([])
        ],
        "accounts": accounts,
    }


SCENARIOS = {
    f.__name__: f
    for f in (
        route_setup,
        route_pause_over,
        route_reconcile_delay,
        route_teardown,
        route_snapshot,
    )
}
