"""Composing a send (the SMS form): its entries resolved into numbers (``targets``), the text
rendered for each, and the history lines and ``sms.sms`` queued a chunk at a time, so that a
send to 100,000 people needs no more memory than a small one."""

import functools
from uuid import uuid4

from odoo import fields
from odoo.exceptions import UserError
from odoo.tools import split_every
from odoo.tools.rendering_tools import parse_inline_template

from ..tools.placeholders import render_without_contact
from ..tools.sms_segments import count_segments
from . import policy, sql
from .targets import chunk_size, resolve

_PRECOMMIT_KEY = "cgsms.message.check_done"


def render_bodies(message, targets):
    """The text each target receives: the message with its placeholders filled in for the
    target's contact; for typed numbers the placeholder's default, or nothing without a
    stray space ("Olá, ..." rather than "Olá , ...")."""
    message.ensure_one()
    body = message.body or ""
    instructions = parse_inline_template(body)
    if not any(expression for _literal, expression, _default in instructions):
        return prepare_bodies(message, [body] * len(targets))
    message._cgsms_check_render_rights(body)
    partner_ids = list(dict.fromkeys(t.partner.id for t in targets if t.partner))
    rendered = {}
    for ids in split_every(chunk_size(message), partner_ids, list):
        if message.template_id and message.template_id.body == body:
            rendered.update(message.template_id._render_field("body", ids, compute_lang=True))
        else:
            rendered.update(
                message.env["mail.render.mixin"]._render_template(body, "res.partner", ids)
            )
        message.env["res.partner"].browse(ids).invalidate_recordset()
    anonymous = render_without_contact(instructions)
    bodies = [rendered[t.partner.id] if t.partner else anonymous for t in targets]
    return prepare_bodies(message, bodies)


def prepare_bodies(message, bodies):
    """The texts as they leave through the company's account (e.g. accents replaced)."""
    account = message.env["cgsms.account"]._get_active(message.company_id)
    if not account:
        return bodies
    prepared = {body: account._cgsms_prepare_body(body) for body in set(bodies)}
    return [prepared[body] for body in bodies]


def check_sendable(message, targets, bodies=None):
    """Refuse, with what to do, a send that cannot go out. Returns the account."""
    message.ensure_one()
    account = message.env["cgsms.account"]._get_active(message.company_id)
    account._ensure_usable()
    if not (message.body or "").strip():
        raise UserError(message.env._("Write the message before sending it."))
    valid = [t for t in targets if not t.error_class]
    if bodies is None:
        bodies = render_bodies(message, valid)
    infos = []
    by_body = {}  # most sends have one text for everyone: count it once
    for body in bodies:
        info = by_body.get(body)
        if info is None:
            info = by_body[body] = count_segments(body)
        infos.append(info)
    longest = max((info.segments for info in infos), default=count_segments(message.body).segments)
    policy.check_length(message.env, segments=longest)
    if not valid:
        raise UserError(
            message.env._(
                "No valid recipient: add customers, contacts or groups with a mobile "
                "number, or type numbers."
            )
        )
    needed = {}  # per account: each one's credits pay for what it sends
    for target, info in zip(valid, infos, strict=True):
        payer = target.account or account
        needed[payer] = needed.get(payer, 0.0) + info.segments * (
            target.price or payer.cost_per_segment
        )
    for payer, amount in needed.items():
        policy.check_credits(message.env, payer, amount)
    return account, infos


def send_now(message):
    message.ensure_one()
    targets = resolve(message)
    valid = [t for t in targets if not t.error_class]
    bodies = render_bodies(message, valid)
    account, infos = check_sendable(message, targets, bodies)

    base = {
        "company_id": message.company_id.id,
        "account_id": account.id,
        "message_id": message.id,
        "res_model": message._name,
        "res_id": message.id,
    }
    Recipient = message.env["cgsms.recipient"].sudo()
    Sms = message.env["sms.sms"].sudo()
    chunk = chunk_size(message)
    sms_ids = []
    for start in range(0, len(valid), chunk):
        stop = start + chunk
        lines = Recipient.create(
            [
                dict(
                    base,
                    partner_id=target.partner.id,
                    account_id=(target.account or account).id,
                    number=target.e164,
                    typed_number=(target.raw or "").strip(),
                    body=body,
                    state="queued",
                    sms_uuid=uuid4().hex,
                    segments=info.segments,
                    encoding=info.encoding,
                )
                for target, body, info in zip(
                    valid[start:stop], bodies[start:stop], infos[start:stop], strict=True
                )
            ]
        )
        sms = Sms.create([sms_values(message, line, line.sms_uuid) for line in lines])
        sms_ids += sms.ids
        compose_release(message, lines, sms)
    dropped = [t for t in targets if t.error_class]
    for start in range(0, len(dropped), chunk):
        lines = Recipient.create(
            [
                dict(
                    base,
                    partner_id=target.partner.id,
                    number=target.e164 or target.raw,
                    typed_number=(target.raw or "").strip(),
                    body=message.body,
                    state="cancelled",
                    error_class=target.error_class,
                    failure_reason=target.reason,
                )
                for target in dropped[start : start + chunk]
            ]
        )
        compose_release(message, lines)
    sms = Sms.browse(sms_ids)
    message.write(
        {"state": "sending", "account_id": account.id, "date_sent": fields.Datetime.now()}
    )
    message._cgsms_dispatch(sms)
    if message.state == "sending":
        # Nothing says "sent" before the SMS have left: _cgsms_check_done does, when they do.
        message.message_post(body=message._cgsms_queued_summary())


def compose_release(message, *records):
    """Write a composed chunk to the database and drop it from the ORM cache."""
    message.env.flush_all()
    for recs in records:
        recs.invalidate_recordset(flush=False)
    message.invalidate_recordset(["recipient_ids"], flush=False)


def sms_values(message, line, sms_uuid):
    return {
        "uuid": sms_uuid,
        "number": line.number,
        "body": line.body,
        "partner_id": line.partner_id.id,
        "cgsms_company_id": message.company_id.id,
        "cgsms_recipient_id": line.id,
        "cgsms_account_id": line.account_id.id,
        "state": "outgoing",
    }


def check_done(message):
    """Mark as sent the sends none of whose numbers is still waiting to leave."""
    sending = message.sudo().filtered(lambda m: m.state == "sending")
    if not sending:
        return
    # Whether one number still waits, not how many: this runs at each commit of the
    # delivery engine, and a send may have hundreds of thousands of numbers.
    message.env["cgsms.recipient"].flush_model(["message_id", "state"])
    message.env.cr.execute(
        """
        SELECT m.id FROM unnest(%s::int[]) AS m(id)
         WHERE EXISTS (
            SELECT 1 FROM cgsms_recipient r
             WHERE r.message_id = m.id AND r.state IN ('queued', 'sending', 'checking')
         )
        """,
        [sending.ids],
    )
    waiting = message.browse([row[0] for row in message.env.cr.fetchall()])
    done = sending - waiting
    done.write({"state": "done"})
    for message in done:
        message.message_post(body=message._cgsms_done_summary())


def check_done_later(message, message_ids):
    """Check at commit time (once per transaction) whether these sends are complete."""
    data = message.env.cr.precommit.data
    if _PRECOMMIT_KEY not in data:
        data[_PRECOMMIT_KEY] = set()
        message.env.cr.precommit.add(functools.partial(precommit_check_done, message))
    data[_PRECOMMIT_KEY].update(message_ids)


# The sends among ``p_ids`` still "sending" none of whose numbers waits to leave: planned once
# per connection (``sql.function``), it runs at each commit of the engine's results. Each send
# is looked up in the index of its waiting lines from its newest line: a campaign leaves in
# line order, and each line that left keeps its entries there until PostgreSQL's vacuum (the
# line as queued, then as sending). Read from its oldest entries (an anti-join), the lookup
# went through every line already sent at each commit: 0.2 to 0.8 ms at 5,000 SMS, up to a
# tenth of PostgreSQL's CPU per SMS, growing with the campaign.
SENDS_DONE = sql.function(
    "cgsms_sends_done",
    "p_ids integer[]",
    "SETOF integer",
    """
RETURN QUERY SELECT m.id FROM cgsms_message m
 WHERE m.id = ANY(p_ids) AND m.state = 'sending'
   AND (
    SELECT r.message_id FROM cgsms_recipient r
     WHERE r.message_id = m.id AND r.state IN ('queued', 'sending', 'checking')
     ORDER BY r.id DESC LIMIT 1
   ) IS NULL;
""",
)


def precommit_check_done(message):
    """At commit: the sends of ``check_done_later`` still "sending" none of whose numbers
    waits to leave are marked sent, found in one query (this runs at each commit of the
    delivery engine's results)."""
    ids = message.env.cr.precommit.data.get(_PRECOMMIT_KEY) or set()
    if not ids:
        return
    Message = message.sudo()
    Message.flush_model(["state"])
    message.env["cgsms.recipient"].flush_model(["message_id", "state"])
    message.env.cr.execute(f"SELECT * FROM {SENDS_DONE}(%s)", [sorted(ids)])
    done = Message.browse([row[0] for row in message.env.cr.fetchall()])
    if done:
        # The ORM's check again, on the few sends that may be complete.
        check_done(done)
        done.flush_recordset(["state"])
