"""Uninstall: nothing of CgSMS is left behind and no SMS leaves through another way unasked.

Odoo drops the tables of our models; what ``init()`` created by SQL (the credit balance and
its trigger, the rate bucket, the accounts' health) is dropped here. The SMS still queued for
CgSMS would otherwise leave through Odoo's IAP once CgSMS is gone, paid to Odoo: they are
cancelled, with a note on their document (the manifest's summary, shown in the uninstall
dialog, says so).
"""

import logging

from markupsafe import Markup

from . import compat
from .engine import sql

_logger = logging.getLogger(__name__)


def uninstall_hook(env):
    cancel_queued_sms(env)
    # Made by init() (models/cgsms_credit_line.py, cgsms_account.py, engine/health.py). The
    # function first, with CASCADE: its triggers on the ledger go with it.
    env.cr.execute("DROP FUNCTION IF EXISTS cgsms_credit_line_delta() CASCADE")
    sql.drop_functions(env.cr)  # the engine's (engine/sql.py)
    env.cr.execute(
        "DROP TABLE IF EXISTS cgsms_credit_balance, cgsms_credit_delta, cgsms_rate_bucket, "
        "cgsms_account_health CASCADE"
    )


def cancel_queued_sms(env):
    """Cancel the SMS waiting for CgSMS (queued or claimed), each with a note on its document.
    Returns how many were cancelled."""
    Sms = env["sms.sms"].sudo()
    waiting = Sms.search([("state", "in", ("outgoing", "process"))])
    companies = env["cgsms.account"]._get_active_by_company(waiting.cgsms_company_id.ids)
    if compat.SMS_API_PLUGIN:  # 19.0: a company that chose Odoo's Twilio keeps it
        from .models.sms_sms import uses_twilio

        companies = {cid: a for cid, a in companies.items() if not uses_twilio(a.company_id)}
    ours = waiting.filtered(lambda sms: sms.cgsms_company_id.id in companies)
    if not ours:
        return 0
    ours._update_sms_state_and_trackers("canceled")
    ours.write({"to_delete": False})
    for message, group in ours.grouped("mail_message_id").items():
        if not message or not message.model or not message.res_id:
            continue
        record = env[message.model].browse(message.res_id).exists()
        if not record or not hasattr(record, "message_post"):
            continue
        numbers = ", ".join(n for n in group.mapped("number") if n)
        record.sudo().message_post(
            body=Markup("<p>%s</p>")
            % env._(
                "SMS to %(numbers)s not sent: CgSMS was uninstalled before it left, so it was "
                "cancelled. Send it again if it is still needed.",
                numbers=numbers,
            ),
            subtype_xmlid="mail.mt_note",
        )
    _logger.info("CgSMS uninstalled: %s queued SMS cancelled", len(ours))
    return len(ours)
