"""Routing between a company's accounts: each SMS leaves through the account with the
longest matching destination prefix, then the lowest sequence, among those whose sending
policy allows the number; accounts out of rotation (``health``) come last. An SMS that
certainly did not leave moves to the next one (``results``)."""

from odoo import fields

from . import health, policy


def tried_ids(sms):
    """Ids of the accounts ``sms`` (sms.sms) already moved away from."""
    return parse_tried(sms.cgsms_tried_accounts)


def parse_tried(text):
    """The account ids of an SMS's ``cgsms_tried_accounts`` ("3,7")."""
    return {int(i) for i in (text or "").split(",") if i.strip().isdigit()}


class Routes:
    """The active accounts of a company as the router sees them for one claim or send."""

    def __init__(self, env, company_id, switch_back=False):
        """``switch_back``: put back in rotation (posted on them) the accounts whose pause is
        over; only where the transaction holds no account's row lock (the switch is written
        in a transaction of its own, which would wait for it)."""
        Account = env["cgsms.account"].sudo()
        self.table = Account._cgsms_route_table(company_id)
        self.accounts = {aid: Account.browse(aid) for aid, _seq, _prefixes in self.table}
        self.out = set()
        if not self.single:
            now = fields.Datetime.now()
            for account in Account.browse(list(self.accounts)):
                until = account.out_of_rotation_until
                if until and until > now:
                    self.out.add(account.id)
                elif until and switch_back:
                    health.back_in_rotation(account)  # the pause is over: tried again

    @property
    def single(self):
        return len(self.table) <= 1

    @property
    def ids(self):
        return list(self.accounts)

    def default_id(self):
        """The account that takes the SMS not routed yet: the first one in rotation."""
        for aid, _seq, _prefixes in self.table:
            if aid not in self.out:
                return aid
        return self.table[0][0] if self.table else False

    def pick(self, e164, number=None, tried=()):
        """(account, Destination) for ``e164``: the first eligible account and what its policy
        says; (None, the first refusal or None) when no account may send it."""
        candidates = []
        for aid, sequence, prefixes in self.table:
            if aid in tried:
                continue
            match = max((len(p) for p in prefixes if e164.startswith(p)), default=0)
            if prefixes and not match:
                continue
            candidates.append((aid in self.out, -match, sequence, aid))
        refused = None
        for *_order, aid in sorted(candidates):
            where = policy.destination(self.accounts[aid], e164, number)
            if where.allowed:
                return self.accounts[aid], where
            refused = refused or where
        return None, refused

    def destination(self, e164, number=None):
        """The policy's Destination for ``e164`` through the account that would send it."""
        account, where = self.pick(e164, number)
        if account is None and where is None:
            return policy.Destination(e164, reason="no_route"), None
        return where, account


def next_account(env, account, sms, e164):
    """The account ``sms`` moves to after ``account`` certainly did not send it, or None."""
    routes = Routes(env, account.company_id.id)
    if routes.single or not e164:
        return None
    target, _where = routes.pick(e164, tried=tried_ids(sms) | {account.id})
    return target
