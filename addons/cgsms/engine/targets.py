"""The entries of a send resolved into numbers: customers, contacts, group members and typed
numbers, normalised, de-duplicated and checked by the sending policy of the account that
would send each (``route``), read a chunk at a time."""

from dataclasses import dataclass

from odoo.tools import SQL, split_every

from .. import compat
from ..tools.phone import REASON_MISSING, REASON_NOT_MOBILE, normalize_number, split_free_numbers
from . import policy, route

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
