"""Scenarios of the runner (``odoo_runner.py``) for replies: a Vonage account of the company
that receives replies at ``base_url``, and what it recorded for a number."""

E2E_VONAGE = "E2E Vonage replies"
SIGNATURE_SECRET = "e2e-vonage-signature-secret"


def inbound_setup(env, args):
    """A Vonage account (``E2E_VONAGE``) whose replies come to ``base_url``, signed with
    ``SIGNATURE_SECRET``; its replies and parts deleted. It stays archived, out of the other
    tests' routing: an archived account still receives its replies."""
    env["ir.config_parameter"].set_param("web.base.url", args["base_url"])
    Account = env["cgsms.account"].with_context(active_test=False)
    account = Account.search([("name", "=", E2E_VONAGE)])
    if not account:
        account = Account.create(
            {
                "name": E2E_VONAGE,
                "company_id": env.company.id,
                "provider": "vonage",
                "username": "e2ekey",
                "password": "e2esecret",
                "sender": "CgSMS",
                "sequence": 90,
                "low_balance_threshold": 0,
                "active": False,
            }
        )
    account.write({"active": False, "webhook_secret": SIGNATURE_SECRET})
    env["cgsms.reply"].search([("account_id", "=", account.id)]).unlink()
    env["cgsms.reply.part"].search([("account_id", "=", account.id)]).unlink()
    return {"account_id": account.id}


def inbound_replies(env, args):
    """The replies and parts that account ``account_id`` recorded from ``number``."""
    env.invalidate_all()
    domain = [("account_id", "=", args["account_id"]), ("number", "=", args["number"])]
    return {
        "replies": [
            {"body": r.body, "provider_message_id": r.provider_message_id}
            for r in env["cgsms.reply"].search(domain)
        ],
        "parts": env["cgsms.reply.part"].search_count(domain),
        "pending_parts": env["cgsms.reply.part"].search_count([*domain, ("is_joined", "=", False)]),
    }


SCENARIOS = {f.__name__: f for f in (inbound_setup, inbound_replies)}
