"""The sending policy: one place that decides, for every front door and for the engine, who
may send, to which numbers, at what price, with how many credits, how long a text may be.

Every refusal has one reason code and one translated sentence (:func:`refusal`), given
before sending (on the form, with the count of refused numbers) and kept in the history.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from odoo.exceptions import AccessError, UserError
from odoo.tools.misc import formatLang

from ..tools.sms_segments import count_segments

# A longer text is almost always a mistake (a pasted document) and costs a fortune.
MAX_SEGMENTS = 10
# Credits are compared to this precision (they are kept with 4 decimals).
CREDIT_EPSILON = 1e-6

# Who may send SMS that cost the company credits (res.company.cgsms_who_may_send).
SENDERS_SMS_USERS = "sms_users"
SENDERS_INTERNAL = "internal"

# Calling codes of satellite and international networks (Iridium, Thuraya, Inmarsat, ...):
# expensive, and a favourite of SMS-pumping fraud.
SATELLITE_CODES = frozenset({870, 881, 882, 883})
# Number types an SMS can reach. Fixed lines, premium rates, personal (forwarding) numbers,
# VoIP, pagers and the like cannot, or cost far more than an SMS should.
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "premium",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.UAN: "personal",
}

_local = threading.local()
# The actor of the SMS queued in this thread: an automation, or the id of the person who answers
# for them (a door where a person writes an SMS or chooses its recipients). Unset: whoever the
# environment's user is.
_AUTOMATION = "automation"


def _actor():
    return getattr(_local, "actor", None)


@contextmanager
def _acting(actor):
    previous = _actor()
    # The outermost door decides: an automation that opens Odoo's composer stays an
    # automation, a mailing sent by the cron stays its responsible user's.
    if previous is None:
        _local.actor = actor
    try:
        yield
    finally:
        _local.actor = previous


def automated():
    """Within this block, SMS are sent by an automation an administrator set up (SMS on
    invoice posting, repair done, automation rules, the SMS that Odoo's apps send by
    themselves): allowed whoever triggers it. Said by code only, never by a context key that
    a JSON-RPC client could set; the text comes from a template or a setting that only
    administrators and SMS users edit."""
    return _acting(_AUTOMATION)


def sent_by(user):
    """Within this block, ``user`` answers for the SMS queued (e.g. a mailing's responsible
    user, when the cron sends it): the policy checks that person, never the cron's user."""
    return _acting(user.id)


def is_automated():
    return _actor() == _AUTOMATION


def responsible(env):
    """The user who answers for an SMS queued now in ``env``: the person of the door opened
    around it (:func:`sent_by`), else ``env``'s user."""
    actor = _actor()
    if isinstance(actor, int):
        return env["res.users"].browse(actor)
    return env.user


@dataclass(frozen=True, slots=True)
class Destination:
    """What the policy says of one E.164 number for an account: refused (``reason`` set, see
    :func:`refusal`) or allowed at ``price`` credits per SMS segment."""

    e164: str
    country_code: str = ""
    reason: str = ""
    price: float = 0.0

    @property
    def allowed(self):
        return not self.reason


# ---------------------------------------------------------------------- who may send


def may_send(env, company, user=None):
    """Whether ``user`` (by default, whoever answers for what ``env`` queues: see
    :func:`responsible`) may spend ``company``'s SMS credits."""
    if user is None:
        if is_automated():
            return True
        user = responsible(env)
    if user._is_superuser():
        return True
    if user.has_group("cgsms.group_cgsms_user"):
        return True
    rule = company.sudo().cgsms_who_may_send or SENDERS_SMS_USERS
    return rule == SENDERS_INTERNAL and user._is_internal()


def sender_error(env, company, user):
    return env._(
        "%(user)s may not send SMS from %(company)s: only SMS users may. Ask an SMS "
        "manager to give you access, or to let every internal user send SMS in the "
        "settings.",
        user=user.name,
        company=company.sudo().name,
    )


def check_sender(env, company, user=None):
    """Raise an AccessError, with what to do, when the user (see :func:`may_send`) may not
    send SMS."""
    if not may_send(env, company, user):
        raise AccessError(sender_error(env, company, user or responsible(env)))


# ---------------------------------------------------------------------- destinations


def destination(account, e164, number=None, rules=None):
    """The policy for sending to ``e164`` (a valid E.164 number) through ``account``;
    ``number``, the :class:`~..tools.phone.NormalizedNumber` of ``e164`` when the caller has
    it, saves parsing it again; ``rules``, the account's ``_cgsms_policy_rules`` when the
    caller decides for many numbers (read once)."""
    if number is not None and number.calling_code:
        region, code, number_type = number.country_code, number.calling_code, number.number_type
    else:
        try:
            parsed = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return Destination(e164, reason="invalid_number")
        region = phonenumbers.region_code_for_number(parsed) or ""
        code, number_type = parsed.country_code, phonenumbers.number_type(parsed)
    if code in SATELLITE_CODES:
        return Destination(e164, region, reason="satellite")
    if number_type not in MOBILE_TYPES:
        return Destination(e164, region, reason=_REFUSED_TYPES.get(number_type, "not_mobile"))
    if rules is None:
        rules = account._cgsms_policy_rules(account.id)
    allowed = rules[0]
    if allowed and region not in allowed:
        return Destination(e164, region, reason="country")
    return Destination(e164, region, price=rule_price(rules, e164, region))


def rule_price(rules, e164, country_code):
    """Credits per segment for ``e164`` by an account's ``_cgsms_policy_rules``: the longest
    matching prefix, else the country's price, else the account's."""
    _countries, prefixes, by_country, default = rules
    for prefix, price in prefixes:  # longest first
        if e164.startswith(prefix):
            return price
    return by_country.get(country_code, default)


def price_for(account, e164):
    """Credits per segment for ``e164``: the account's price for its prefix or country, else
    the account's price."""
    return destination(account, e164).price or account.cost_per_segment


# ---------------------------------------------------------------------- refusals


def refusal(env, reason, number="", country=""):
    """The sentence for a refused number, in the user's language."""
    sentences = {
        "missing_number": env._("No mobile number."),
        "invalid_number": env._("%(number)s is not a valid phone number.", number=number),
        "not_mobile": env._("%(number)s is not a mobile number.", number=number),
        "premium": env._(
            "%(number)s is a premium-rate number: SMS to it are refused.", number=number
        ),
        "personal": env._(
            "%(number)s is a personal or forwarding number: SMS to it are refused.",
            number=number,
        ),
        "satellite": env._(
            "%(number)s is a satellite number: SMS to it are refused.", number=number
        ),
        "country": env._(
            "%(number)s is in %(country)s, where this SMS account does not send. An SMS "
            "manager can add the country to the account's destinations.",
            number=number,
            country=_country_name(env, country),
        ),
        "blacklisted": env._("%(number)s asked not to receive SMS.", number=number),
        "no_route": env._(
            "No SMS account of the company sends to %(number)s. An SMS manager can add its "
            "prefix to an account's destinations.",
            number=number,
        ),
    }
    return sentences.get(reason) or env._("%(number)s is refused.", number=number)


def neutralized(env):
    """The sentence wherever an account of a neutralized copy of the database would send."""
    return env._("This database is a neutralized copy: SMS are not sent")


# Reasons of :func:`refusal` that are about the number itself (the history's error class).
NUMBER_REASONS = frozenset(
    {"missing_number", "invalid_number", "not_mobile", "premium", "personal", "satellite"}
)


def error_class(reason):
    """The history's error class of a refusal reason."""
    if reason in ("missing_number", "blacklisted"):
        return reason
    if reason in ("country", "no_route"):
        return "rejected"
    return "invalid_number"


def _country_name(env, code):
    if not code:
        return env._("an unknown country")
    country = env["res.country"].sudo().search([("code", "=", code)], limit=1)
    return country.name or code


# ---------------------------------------------------------------------- credits, length


def format_credits(env, amount):
    """Credits in the user's language: 2 decimals, 4 when the amount needs them."""
    digits = 2 if abs(round(amount, 2) - amount) < CREDIT_EPSILON else 4
    return formatLang(env, amount, digits=digits)


def has_credits(needed, available):
    return needed <= available + CREDIT_EPSILON


def credits_error(env, needed, available):
    return env._(
        "Not enough SMS credits: this send needs %(needed)s credits, only %(available)s are "
        "available. Buy a pack of credits.",
        needed=format_credits(env, needed),
        available=format_credits(env, available),
    )


def check_credits(env, account, needed):
    """Raise a UserError when ``account`` has fewer than ``needed`` credits."""
    available = account.sudo()._credit_balances().get(account.id, 0.0)
    if not has_credits(needed, available):
        raise UserError(credits_error(env, needed, available))
    return available


def too_long_error(env, text=None, segments=None):
    """The error for a text over :data:`MAX_SEGMENTS` SMS, or an empty string."""
    if segments is None:
        segments = count_segments(text or "").segments
    if segments <= MAX_SEGMENTS:
        return ""
    return env._(
        "The message is too long: %(segments)s SMS per recipient, at most %(max)s are "
        "allowed. Shorten the text.",
        segments=segments,
        max=MAX_SEGMENTS,
    )


def check_length(env, text=None, segments=None):
    error = too_long_error(env, text, segments)
    if error:
        raise UserError(error)
