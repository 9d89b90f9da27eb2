"""Steps of the upgrade test (scripts/check_upgrade.sh), run by ``odoo-bin shell`` (which gives
``env``) on the code of either release: CGSMS_UPGRADE_STEP is one of

- ``make``: real data made with the previous release, as its users would: a company in
  Portugal, its account pointed at the fake gateway (CGSMS_GATEWAY_URL) without destinations,
  a second account, credit movements, SMS sent (to Portugal and the United Kingdom) and
  refused, a customer group, a template, a reply and a repair's message sent by SMS;
- ``snapshot``: every stored field of our records, written as JSON to CGSMS_UPGRADE_OUT;
- ``send``: one more SMS through the primary account, which must reach the gateway.
"""

import json
import os
import sys

import requests

STEP = os.environ["CGSMS_UPGRADE_STEP"]
GATEWAY = os.environ.get("CGSMS_GATEWAY_URL", "")
# Our models and the Odoo models we add fields to (only those fields: "cgsms" in the name).
MODELS = [
    "cgsms.account",
    "cgsms.credit.line",
    "cgsms.recipient",
    "cgsms.group",
    "cgsms.message",
    "cgsms.reply",
    "cgsms.price",
    "cgsms.reminder.log",
    "cgsms.repair.message",
    "sms.template",
]
ODOO_MODELS = ["res.company", "res.partner", "repair.order", "account.move"]
SKIPPED = {"write_date", "write_uid", "__last_update", "message_main_attachment_id"}


def records(model, only_ours):
    Model = env[model].sudo().with_context(active_test=False)  # noqa: F821 (odoo-bin shell)
    names = sorted(
        name
        for name, field in Model._fields.items()
        if field.store
        and name not in SKIPPED
        and field.type not in ("binary", "one2many")
        and (not only_ours or "cgsms" in name)
    )
    if not names:
        return {}
    rows = Model.search([], order="id").read(names, load=None)
    return {str(row.pop("id")): row for row in rows}


def snapshot():
    data = {}
    for model in MODELS + ODOO_MODELS:
        if model in env:  # noqa: F821
            data[model] = records(model, model in ODOO_MODELS)
    Account = env["cgsms.account"].sudo().with_context(active_test=False)  # noqa: F821
    accounts = Account.search([], order="id")
    data["balances"] = {str(a.id): round(a.credit_available, 4) for a in accounts}
    data["primary"] = {
        str(c.id): Account._get_active(c).id
        for c in env["res.company"].sudo().search([])  # noqa: F821
    }
    with open(os.environ["CGSMS_UPGRADE_OUT"], "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True, default=str)
    print(f"snapshot: {sum(len(v) for v in data.values())} records")


def sandbox_credentials():
    """The fake gateway's sandbox account (the package tests/fake_gateway)."""
    sys.path.insert(0, os.environ["CGSMS_TESTS_DIR"])
    import fake_gateway

    return fake_gateway.SANDBOX_USERNAME, fake_gateway.SANDBOX_TOKEN


def process(account):
    env["sms.sms"].sudo()._cgsms_process_account_queue(account)  # noqa: F821


def make():
    e = env  # noqa: F821
    company = e.company
    company.country_id = e.ref("base.pt")
    Account = e["cgsms.account"].sudo().with_context(active_test=False)
    username, password = sandbox_credentials()
    account = Account._get_active(company) or Account.create({"company_id": company.id})
    account.write(
        {
            "provider": "sandbox",
            "sender": "Loja",
            "username": username,
            "password": password,
            "base_url": GATEWAY,
        }
    )
    if "allowed_country_ids" in account._fields:
        account.allowed_country_ids = [(5, 0, 0)]  # as before the sending policy
    Account.create(
        {
            "company_id": company.id,
            "provider": "lusosms",
            "sender": "Loja",
            "username": "loja-lusosms",
            "password": "s3cret-luso",
            "base_url": GATEWAY,
            "active": False,
        }
    )
    Credit = e["cgsms.credit.line"].sudo()
    Credit.create({"account_id": account.id, "kind": "topup", "amount": 500, "reference": "P-1"})
    Credit.create({"account_id": account.id, "kind": "adjustment", "amount": -3.5})
    Partner = e["res.partner"].sudo()
    mobile = "mobile" if "mobile" in Partner._fields else "phone"
    maria = Partner.create({"name": "Maria Upgrade", mobile: "+351912340001"})
    john = Partner.create({"name": "John Upgrade", mobile: "+447400123456"})
    e["cgsms.group"].create({"name": "Upgrade customers", "partner_ids": [(6, 0, [maria.id])]})
    e["sms.template"].create(
        {
            "name": "Upgrade reminder",
            "model_id": e.ref("base.model_res_partner").id,
            "body": "Olá {{ object.name }}",
        }
    )
    e["sms.sms"].sudo().create(
        [
            {"number": "+351912340001", "body": "Olá Maria", "partner_id": maria.id},
            {"number": "+447400123456", "body": "Hello John", "partner_id": john.id},
            {"number": "12", "body": "Wrong number"},
        ]
    )
    process(account)
    if "repair.order" in e and "cgsms_new_message" in e["repair.order"]._fields:
        repair = e["repair.order"].search([("partner_id", "!=", False)], limit=1)
        partner = repair.partner_id
        partner.write({mobile: "+351912340002", "country_id": e.ref("base.pt").id})
        repair.write(
            {"cgsms_new_message": "O seu equipamento está pronto.", "cgsms_send_sms": True}
        )
        process(account)
    if "cgsms.reply" in e:
        e["cgsms.reply"].sudo().create(
            {
                "number": "+351912340001",
                "body": "Obrigada",
                "company_id": company.id,
                "account_id": account.id,
                "provider_message_id": "upgrade-reply-1",
            }
        )
    e.cr.commit()
    states = e["cgsms.recipient"].sudo().search([]).mapped("state")
    print(f"made: {len(states)} history lines {sorted(set(states))}")


def send():
    e = env  # noqa: F821
    account = e["cgsms.account"].sudo()._get_active(e.company)
    sms = e["sms.sms"].sudo().create({"number": "+351912340003", "body": "After the upgrade"})
    process(account)
    line = e["cgsms.recipient"].sudo().search([("number", "=", "+351912340003")])
    e.cr.commit()
    assert line.state == "sent", (line.state, line.failure_reason, sms.state)
    print("sent after the upgrade:", line.number, line.state)


def queue():
    """An SMS about a contact, queued for CgSMS and not sent yet when CgSMS is uninstalled."""
    e = env  # noqa: F821
    partner = e["res.partner"].sudo().search([("name", "=", "Maria Upgrade")], limit=1)
    message = partner.message_post(body="Still queued", message_type="sms")
    e["sms.sms"].sudo().create(
        {
            "number": "+351912340004",
            "body": "Still queued",
            "partner_id": partner.id,
            "mail_message_id": message.id,
            "state": "outgoing",
        }
    )
    e.cr.commit()


def uninstall():
    e = env  # noqa: F821
    modules = e["ir.module.module"].search(
        [("name", "in", ("cgsms_repairs", "cgsms_queue_job")), ("state", "=", "installed")]
    )
    if modules:
        modules.button_immediate_uninstall()
    e["ir.module.module"].search([("name", "=", "cgsms")]).button_immediate_uninstall()
    print("uninstalled")


def after_uninstall():
    """Nothing of CgSMS is left, the queued SMS was cancelled with a note, and Odoo's own SMS
    path (IAP, pointed at the fake gateway) sends again."""
    e = env  # noqa: F821
    cr = e.cr
    cr.execute(
        "SELECT name FROM ir_module_module WHERE name LIKE 'cgsms%%' AND state <> 'uninstalled'"
    )
    assert not cr.fetchall(), "a CgSMS module is still installed"
    cr.execute("SELECT relname FROM pg_class WHERE relname LIKE 'cgsms%%'")
    left = cr.fetchall()
    assert not left, f"left in the database: {left}"
    cr.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'cgsms%%'")
    left = cr.fetchall()
    assert not left, f"functions left: {left}"
    # Odoo keeps a record that other documents still use: the demo's contacts that posted
    # invoices refer to stay, as any module's would. Nothing else of ours may.
    cr.execute(
        "SELECT model, count(*) FROM ir_model_data WHERE module LIKE 'cgsms%%' "
        "AND model <> 'res.partner' GROUP BY model"
    )
    left = cr.fetchall()
    assert not left, f"records of CgSMS are left: {left}"
    cr.execute("SELECT count(*) FROM ir_model_fields WHERE name LIKE 'cgsms%%'")
    assert cr.fetchone()[0] == 0, "fields of CgSMS are left"
    queued = e["sms.sms"].sudo().search([("number", "=", "+351912340004")])
    assert queued.state == "canceled", queued.state
    partner = e["res.partner"].sudo().search([("name", "=", "Maria Upgrade")], limit=1)
    assert any(
        "CgSMS was uninstalled" in (m.body or "") for m in partner.message_ids
    ), "no note on the contact"
    assert not e["sms.sms"].sudo().search([("state", "in", ("outgoing", "process"))])
    e["ir.config_parameter"].sudo().set_param("sms.endpoint", GATEWAY)
    e.cr.commit()
    partner._message_sms("Through Odoo again", partner_ids=partner.ids)
    e["sms.sms"].sudo().search([("state", "=", "outgoing")]).send()
    e.cr.commit()
    sent = [
        m
        for m in requests.get(f"{GATEWAY}/_control/messages", timeout=10).json()["messages"]
        if m["provider"] == "iap"
    ]
    assert [m["to"] for m in sent] == ["+351912340001"], sent
    print("after uninstall: nothing left, the queued SMS cancelled, Odoo's SMS path sends")


def reinstalled():
    """Installed again, CgSMS sends (its accounts start over: an account to set up)."""
    e = env  # noqa: F821
    username, password = sandbox_credentials()
    account = (
        e["cgsms.account"]
        .sudo()
        .create(
            {
                "company_id": e.company.id,
                "provider": "sandbox",
                "sender": "Loja",
                "username": username,
                "password": password,
                "base_url": GATEWAY,
            }
        )
    )
    e["cgsms.credit.line"].sudo().create({"account_id": account.id, "kind": "topup", "amount": 10})
    e["sms.sms"].sudo().create({"number": "+351912340005", "body": "Reinstalled"})
    process(account)
    line = e["cgsms.recipient"].sudo().search([("number", "=", "+351912340005")])
    e.cr.commit()
    assert line.state == "sent", (line.state, line.failure_reason)
    print("reinstalled: sends through CgSMS again")


{
    "make": make,
    "snapshot": snapshot,
    "send": send,
    "queue": queue,
    "uninstall": uninstall,
    "after_uninstall": after_uninstall,
    "reinstalled": reinstalled,
}[STEP]()
sys.stdout.flush()
