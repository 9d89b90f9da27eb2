"""Scenarios of the runner (``odoo_runner.py``) that go through each front door of CgSMS as a
real user would, in a transaction handled as Odoo handles a request: ``retrying`` replays it
after a serialization failure and commits it at the end; any other error rolls it back.

``fault`` injects a failure once the door has done its work ("after dispatch"): ``raise``
(any error, e.g. a chatter post that fails) or ``serialization`` (a real PostgreSQL
serialization failure on the first try, which Odoo's retry replays).
"""

from datetime import date, timedelta

SERIALIZATION_FAILURE = (
    "DO $$ BEGIN RAISE EXCEPTION 'concurrent update' USING ERRCODE = 'serialization_failure'; "
    "END $$"
)
PARTNER_PREFIX = "E2E door "


class AfterDispatch(Exception):
    """The error a door raises after it dispatched (the request then rolls back)."""


def doors_setup(env, args):
    """An SMS user who is also an accountant and a repair user, and the company's settings
    for the automatic doors (SMS on posting, scheduled reminders at any hour)."""
    Users = env["res.users"].with_context(no_reset_password=True)
    user = Users.search([("login", "=", "e2e_door_user")])
    group_names = [
        "base.group_user",
        "cgsms.group_cgsms_user",
        "account.group_account_invoice",
        "stock.group_stock_user",
    ]
    groups = [env.ref(xmlid).id for xmlid in group_names if env.ref(xmlid, False)]
    if not user:
        fname = "group_ids" if "group_ids" in Users._fields else "groups_id"
        user = Users.create(
            {
                "name": "Door User",
                "login": "e2e_door_user",
                "email": "door@example.com",
                "company_id": env.company.id,
                "company_ids": [(6, 0, env.company.ids)],
                fname: [(6, 0, groups)],
            }
        )
    env.company.write(
        {
            "cgsms_invoice_post_sms": True,
            "cgsms_reminder_auto": True,
            "cgsms_reminder_hour_from": 0.0,
            "cgsms_reminder_hour_to": 24.0,
            "cgsms_reminder_workdays_only": False,
            "cgsms_reminder_first_delay": 1,
        }
    )
    env["ir.config_parameter"].set_param("cgsms.direct_send_limit", "100")
    if not env["account.journal"].search([("type", "=", "sale")], limit=1):
        env["account.chart.template"].try_loading("generic_coa", env.company, install_demo=False)
    if not env["product.product"].search([("name", "=", "E2E door product")]):
        env["product.product"].create({"name": "E2E door product", "list_price": 100.0})
    return {"user_id": user.id}


def door(env, args):
    """Go through the front door ``args["door"]`` as the door user, for ``args["numbers"]``,
    with ``args["fault"]`` (none, ``raise`` or ``serialization``) after it dispatched.
    Returns {tries, error}: how often the request ran, and the error it ended with."""
    from odoo import api
    from odoo.service.model import retrying

    user_env = api.Environment(env.cr, args["user_id"], {"lang": "en_US"})
    tries = []

    def attempt():
        tries.append(1)
        DOORS[args["door"]](user_env, args)
        fault = args.get("fault")
        if fault == "raise":
            raise AfterDispatch("an error after the send was dispatched")
        if fault == "serialization" and len(tries) == 1:
            env.cr.execute(SERIALIZATION_FAILURE)

    try:
        retrying(attempt, user_env)
    except AfterDispatch as exc:
        env.cr.rollback()
        return {"tries": len(tries), "error": str(exc)}
    return {"tries": len(tries), "error": ""}


def door_facts(env, args):
    """What is recorded for ``numbers``: history lines (state, cost), debits and the queue."""
    env.invalidate_all()
    numbers = args["numbers"]
    lines = env["cgsms.recipient"].search([("number", "in", numbers)])
    # What the company paid for them: debits less refunds (a refused SMS is refunded).
    debits = env["cgsms.credit.line"].search(
        [("kind", "in", ("debit", "refund")), ("recipient_id", "in", lines.ids)]
    )
    return {
        "lines": [
            {"number": line.number, "state": line.state, "cost": line.cost} for line in lines
        ],
        "debited": round(-sum(debits.mapped("amount")), 4),
        "outgoing": env["sms.sms"].search_count(
            [("number", "in", numbers), ("state", "=", "outgoing")]
        ),
    }


# ---------------------------------------------------------------------------------- doors


def _partners(env, numbers):
    """One customer per number (made as superuser: the door user only uses them)."""
    Partner = env["res.partner"].sudo()
    mobile = "phone" if "mobile" not in Partner._fields else "mobile"
    partners = Partner.browse()
    for number in numbers:
        partner = Partner.search([(mobile, "=", number)], limit=1)
        partners |= partner or Partner.create(
            {
                "name": f"{PARTNER_PREFIX}{number}",
                mobile: number,
                "country_id": env.ref("base.pt").id,
            }
        )
    return partners.with_env(env)


def _send_form(env, args):
    message = env["cgsms.message"].create(
        {"body": args.get("body", "Door test"), "free_numbers": "; ".join(args["numbers"])}
    )
    message.action_send()


def _resend(env, args):
    message = env["cgsms.recipient"].search([("number", "in", args["numbers"])]).message_id
    message.ensure_one()
    message.action_resend_failed()


def _express(env, args):
    env["cgsms.express.wizard"].express_send(
        numbers="; ".join(args["numbers"]), body=args.get("body", "Door test")
    )


def _invoices(env, numbers, due_days_ago=10, post=True):
    Move = env["account.move"]
    product = env["product.product"].sudo().search([("name", "=", "E2E door product")])
    moves = Move.browse()
    for partner in _partners(env, numbers):
        move = Move.create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": date.today() - timedelta(days=due_days_ago + 30),
                "invoice_date_due": date.today() - timedelta(days=due_days_ago),
                "invoice_line_ids": [
                    (0, 0, {"product_id": product.id, "quantity": 1, "price_unit": 100.0})
                ],
            }
        )
        moves |= move
    if post:
        # Posted without the SMS on posting (not the door under test here).
        company = env.company.sudo()
        company.cgsms_invoice_post_sms = False
        moves.sudo().action_post()
        company.cgsms_invoice_post_sms = True
    return moves


def _reminder(env, args):
    moves = env["account.move"].search(
        [("partner_id.name", "in", [PARTNER_PREFIX + n for n in args["numbers"]])]
    )
    wizard = env["cgsms.reminder.wizard"].create({"move_ids": [(6, 0, moves.ids)]})
    wizard.action_send()


def _scheduled_reminders(env, args):
    env["account.move"].sudo()._cgsms_cron_send_reminders()


def _invoice_post(env, args):
    moves = env["account.move"].search(
        [
            ("partner_id.name", "in", [PARTNER_PREFIX + n for n in args["numbers"]]),
            ("state", "=", "draft"),
        ]
    )
    moves.action_post()


def _composer(env, args):
    composer = env["sms.composer"].create(
        {
            "composition_mode": "numbers",
            "numbers": ",".join(args["numbers"]),
            "body": args.get("body", "Door test"),
        }
    )
    composer.action_send_sms()


def _chatter(env, args):
    for partner in _partners(env, args["numbers"]):
        composer = (
            env["sms.composer"]
            .with_context(default_res_model="res.partner", default_res_id=partner.id)
            .create({"composition_mode": "comment", "body": args.get("body", "Door test")})
        )
        composer.action_send_sms()


def _repair_save(env, args):
    product = env["product.product"].sudo().search([("name", "=", "E2E door product")])
    for partner in _partners(env, args["numbers"]):
        repair = env["repair.order"].create({"partner_id": partner.id, "product_id": product.id})
        repair.write({"cgsms_new_message": "Your repair is diagnosed.", "cgsms_send_sms": True})


def _repair_done(env, args):
    env.company.sudo().cgsms_repair_done_sms = True
    product = env["product.product"].sudo().search([("name", "=", "E2E door product")])
    for partner in _partners(env, args["numbers"]):
        repair = env["repair.order"].create({"partner_id": partner.id, "product_id": product.id})
        repair.action_validate()
        repair.action_repair_start()
        repair.action_repair_end()


def _automation(env, args):
    """An SMS server action an administrator made, run on the customers as an automation
    rule runs it (as superuser, for the user who triggered it): it queues the SMS, the SMS
    queue sends them."""
    partners = _partners(env, args["numbers"])
    action = env["ir.actions.server"].sudo().search([("name", "=", "E2E door SMS")], limit=1)
    if not action:
        model = env["ir.model"]._get("res.partner")
        template = env["sms.template"].sudo().create(
            {"name": "E2E door template", "model_id": model.id, "body": "Door test"}
        )
        action = env["ir.actions.server"].sudo().create(
            {
                "name": "E2E door SMS",
                "model_id": model.id,
                "state": "sms",
                "sms_template_id": template.id,
                "sms_method": "sms",
            }
        )
    action.with_env(env).sudo().with_context(
        active_model="res.partner", active_ids=partners.ids, active_id=partners[:1].id
    ).run()


def prepare_door(env, args):
    """What a door needs before it is tried: invoices (overdue, or drafts to post)."""
    if args["door"] in ("reminder", "scheduled_reminders"):
        _invoices(env, args["numbers"])
    elif args["door"] == "invoice_post":
        _invoices(env, args["numbers"], due_days_ago=-30, post=False)
    return {}


DOORS = {
    "send_form": _send_form,
    "resend": _resend,
    "express": _express,
    "reminder": _reminder,
    "scheduled_reminders": _scheduled_reminders,
    "invoice_post": _invoice_post,
    "composer": _composer,
    "chatter": _chatter,
    "repair_save": _repair_save,
    "repair_done": _repair_done,
    "automation": _automation,
}

SCENARIOS = {f.__name__: f for f in (doors_setup, door, door_facts, prepare_door)}
