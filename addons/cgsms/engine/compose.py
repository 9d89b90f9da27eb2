"""Composing a send (the SMS form): its entries resolved into numbers (customers, contacts,
group members, typed numbers; normalised, de-duplicated, checked by the sending policy), the
text rendered for each, and the history lines and ``sms.sms`` queued a chunk at a time, so
that a send to 100,000 people needs no more memory than a small one."""

import functools
from dataclasses import dataclass
from uuid import uuid4

from odoo import fields
from odoo.exceptions import UserError
from odoo.tools import SQL, split_every
from odoo.tools.rendering_tools import parse_inline_template

from .. import compat
from ..tools.phone import REASON_MISSING, REASON_NOT_MOBILE, normalize_number, split_free_numbers
from ..tools.placeholders import render_without_contact
from ..tools.sms_segments import count_segments
from . import policy, route

_PRECOMMIT_KEY = "cgsms.message.check_done"

# A send is composed this many numbers at a time (contacts read, lines and SMS created, then
# forgotten by the ORM cache), so a send to 100,000 people needs no more memory than a small one.
COMPOSE_CHUNK = 2000


@dataclass(slots=True)
class Target:
    """One number the send reaches, or one entry dropped before sending and why."""

    partner: object
    raw: str
    e164: str = ""
    error_class: str = ""
    reason: str = ""
    price: float = 0.0
    account: object = None  # the account that would send it (several accounts)


def resolve(message):
    """Every entry of the send in order (customers, contacts, group members, typed
    numbers) as :class:`Target`: valid unique numbers first come first served, the others
    with the reason they are skipped."""
    message.ensure_one()
    default_country = message.company_id.country_id.code or None
    account = policy_account(message)
    routes = route.Routes(message.env, account.company_id.id) if account else None
    if routes is not None and routes.single:
        routes = None
    Partner = message.env["res.partner"]
    # Only what the acting user may read in their companies; the rest is skipped, unnamed.
    listed = message.sudo()
    groups = listed.group_ids._origin
    visible_groups = groups.with_env(message.env)._filtered_access("read")
    targets = [
        Target(
            partner=Partner,
            raw="",
            error_class="no_access",
            reason=message.env._("A group %(user)s may not see", user=message.env.user.name),
        )
        for _group in groups - visible_groups
    ]
    partner_ids = partner_ids_of(listed, visible_groups)
    use_phone = message.use_phone_fallback
    mobile_field = compat.PARTNER_MOBILE_FIELD
    fnames = [mobile_field, "country_id"] + (["phone"] if use_phone else [])
    country_codes = {}
    # Only the numbers are read, a chunk at a time, and forgotten after each chunk.
    for ids in split_every(chunk_size(message), partner_ids, list):
        visible = set(Partner.browse(ids)._filtered_access("read").ids)
        batch = Partner.browse([pid for pid in ids if pid in visible])
        batch.fetch(fnames)
        by_id = {partner.id: partner for partner in batch}
        for pid in ids:
            partner = by_id.get(pid)
            if partner is None:
                targets.append(
                    Target(
                        partner=Partner,
                        raw="",
                        error_class="no_access",
                        reason=message.env._(
                            "A contact %(user)s may not see", user=message.env.user.name
                        ),
                    )
                )
                continue
            raw = partner[mobile_field] or (use_phone and partner.phone) or ""
            country_id = partner.country_id.id
            if country_id and country_id not in country_codes:
                country_codes[country_id] = partner.country_id.code
            country = country_codes.get(country_id) or default_country
            targets.append(make_target(message, partner, raw, country, account, routes))
        batch.invalidate_recordset(fnames)
    for raw in split_free_numbers(message.free_numbers):
        targets.append(make_target(message, Partner, raw, default_country, account, routes))

    numbers = list({t.e164 for t in targets if t.e164 and not t.error_class})
    blacklisted = set()
    if numbers:
        # The numbers are E.164 already, as the opt-out list stores them: looked up as they
        # are, a chunk at a time (its domain operator would format each of them again).
        message.env["phone.blacklist"].flush_model(["number", "active"])
        for chunk in split_every(50000, numbers, list):
            message.env.cr.execute(
                SQL(
                    "SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)",
                    chunk,
                )
            )
            blacklisted.update(number for (number,) in message.env.cr.fetchall())
    first_by_number = {}
    duplicates = []
    for target in targets:
        if target.error_class:
            continue
        first = first_by_number.get(target.e164)
        if first is not None:
            target.error_class = "duplicate"
            duplicates.append((target, first.partner.id))
            continue
        first_by_number[target.e164] = target
        if target.e164 in blacklisted:
            target.error_class = "blacklisted"
            target.reason = policy.refusal(message.env, "blacklisted", target.e164)
    if duplicates:
        names = names_of(message, {pid for _t, pid in duplicates if pid})
        for target, first_id in duplicates:
            target.reason = (
                message.env._("Duplicate: same number as %(name)s", name=names[first_id])
                if first_id
                else message.env._("Duplicate number")
            )
    return targets


def partner_ids_of(message, groups):
    """Ids of the customers, contacts and members of ``groups`` (their filter applied
    with the rights of ``groups``' user), in order, once each, without the archived ones.
    Only ids are read: a send to 100,000 people loads no contact."""
    message.ensure_one()
    lists = [
        message.with_context(active_test=False).partner_ids._origin.ids,
        message.with_context(active_test=False).contact_ids._origin.ids,
    ]
    for group in groups:
        lists.append(group.sudo().with_context(active_test=False).partner_ids._origin.ids)
        lists.append(group._filter_partners().ids)
    ordered = list(dict.fromkeys(pid for ids in lists for pid in ids))
    archived = set()
    for ids in split_every(50000, ordered, list):
        archived.update(
            message.env["res.partner"]
            .with_context(active_test=False)
            .search([("id", "in", ids), ("active", "=", False)])
            .ids
        )
    return [pid for pid in ordered if pid not in archived]


def chunk_size(message):
    return max(1, int(message.env.context.get("cgsms_compose_chunk") or COMPOSE_CHUNK))


def names_of(message, partner_ids):
    """{partner id: display name}, read a chunk at a time."""
    names = {}
    for ids in split_every(chunk_size(message), list(partner_ids), list):
        batch = message.env["res.partner"].browse(ids)
        names.update((partner.id, partner.display_name) for partner in batch)
        batch.invalidate_recordset()
    return names


def make_target(message, partner, raw, country, account, routes=None):
    """``raw`` as a :class:`Target`, refused with the reason the sending policy of
    ``account`` gives (without an account, only non-mobile numbers are); with ``routes``
    (several accounts), that of the account that would send it."""
    number = normalize_number(raw, country, mobile_only=not account)
    target = Target(partner=partner, raw=raw, e164=number.e164)
    if number.valid:
        if not account:
            return target
        if routes is not None:
            where, target.account = routes.destination(number.e164, number)
        else:
            where = policy.destination(account, number.e164, number)
        target.price = where.price
        if not where.allowed:
            target.error_class = policy.error_class(where.reason)
            target.reason = policy.refusal(
                message.env, where.reason, number.e164, where.country_code
            )
        return target
    if number.reason == REASON_MISSING:
        target.error_class = "missing_number"
        target.reason = (
            message.env._("No mobile or phone number")
            if message.use_phone_fallback
            else message.env._("No mobile number")
        )
    else:
        target.error_class = "invalid_number"
        target.reason = (
            policy.refusal(message.env, "not_mobile", raw)
            if number.reason == REASON_NOT_MOBILE
            else message.env._("Invalid number")
        )
    return target


def policy_account(message):
    """The account whose sending policy (destinations, prices) applies to this send."""
    if not message._cgsms_company_allowed(message.company_id):
        return message.env["cgsms.account"]
    if message.state in ("draft", "scheduled") or not message.account_id:
        return message.env["cgsms.account"]._get_active(message.company_id)
    return message.account_id.sudo()


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


def precommit_check_done(message):
    ids = message.env.cr.precommit.data.get(_PRECOMMIT_KEY) or set()
    messages = message.sudo().browse(ids).exists()
    check_done(messages)
    messages.flush_recordset(["state"])
