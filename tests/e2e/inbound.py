"""Scenarios of the runner (``odoo_runner.py``) for webhooks: a Vonage account of the company
that receives replies at ``base_url``, what it recorded for a number, and a send whose
delivery reports are posted between the provider's answer and the commit of its result."""

import hashlib
import hmac
import json

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


def process_queue_report_first(env, args):
    """What the SMS queue cron does, except that once the provider answered, and after the
    engine's transaction has read (its snapshot taken), the report of each SMS is posted to
    ``callback_url`` (signed with ``secret``) and answered, before the result is saved and
    committed. Returns the HTTP codes of the reports."""
    import requests

    from odoo.addons.cgsms.engine import results as results_module

    original, codes = results_module.apply_results, []

    def apply_results(model, account, results, *rest, **kwargs):
        model.env.cr.execute("SELECT count(*) FROM cgsms_delivery_report")  # the snapshot
        for _sms, result in results:
            if result.ok:
                body = json.dumps({"id": result.message_id, "status": "delivered"}).encode()
                signature = hmac.new(args["secret"].encode(), body, hashlib.sha256).hexdigest()
                response = requests.post(
                    args["callback_url"],
                    data=body,
                    headers={"X-Sandbox-Signature": signature, "Content-Type": "application/json"},
                    timeout=30,
                )
                codes.append(response.status_code)
        return original(model, account, results, *rest, **kwargs)

    results_module.apply_results = apply_results
    try:
        env["sms.sms"]._process_queue()
    finally:
        results_module.apply_results = original
    return {"codes": codes}


def replies_sent(env, args):
    """A contact per number of ``numbers``, each sent an SMS from account ``account_id`` a
    minute ago, about the contact: their replies are matched and posted on it."""
    from odoo import fields
    from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD

    account = env["cgsms.account"].with_context(active_test=False).browse(args["account_id"])
    sent = fields.Datetime.now()
    for number in args["numbers"]:
        partner = env["res.partner"].create(
            {"name": f"E2E reply {number}", PARTNER_MOBILE_FIELD: number}
        )
        env["cgsms.recipient"].create(
            {
                "number": number,
                "partner_id": partner.id,
                "account_id": account.id,
                "company_id": account.company_id.id,
                "state": "sent",
                "date_sent": sent,
                "provider_message_id": f"e2e-sent-{number}",
                "res_model": "res.partner",
                "res_id": partner.id,
            }
        )
    return {}


def replies_posted(env, args):
    """For each number of ``numbers``: its replies, how many are still to be processed, how
    many are matched and posted, the chatter messages its contact authored (each reply once),
    and whether the number is on the opt-out list."""
    env.invalidate_all()
    out = {}
    for number in args["numbers"]:
        replies = env["cgsms.reply"].search(
            [("account_id", "=", args["account_id"]), ("number", "=", number)]
        )
        partner = replies.recipient_id.partner_id
        messages = env["mail.message"].search_count(
            [
                ("model", "=", "res.partner"),
                ("res_id", "in", partner.ids),
                ("author_id", "in", partner.ids),
            ]
        )
        out[number] = {
            "replies": len(replies),
            "pending": len(replies.filtered("is_pending")),
            "posted": len(replies.filtered(lambda r: r.is_matched and r.mail_message_id)),
            "messages": messages,
            "opted_out": bool(env["phone.blacklist"].search([("number", "=", number)])),
        }
    return {"numbers": out}


def replies_cron(env, args):
    """The cron "SMS: process received replies", as a cron worker runs it."""
    env["cgsms.reply"]._cron_process_pending()
    return {}


def replies_cron_triggered(env, args):
    """How many runs of the cron "SMS: process received replies" are asked for (a request
    that reached its time budget asks for one, for the replies it left). The cron is made
    active, as in a real database (Odoo ignores the triggers of an inactive cron): the tests'
    servers run no cron thread, so nothing runs it behind the test's back."""
    cron = env.ref("cgsms.ir_cron_cgsms_replies")
    cron.active = True
    return {"triggers": env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])}


SCENARIOS = {
    f.__name__: f
    for f in (
        inbound_setup,
        inbound_replies,
        process_queue_report_first,
        replies_sent,
        replies_posted,
        replies_cron,
        replies_cron_triggered,
    )
}
