"""An account's credits: prices per destination, the ledger's balance and its lock, the
low-balance alert, and the table of its shared sending rate."""

from odoo import _, api, models, tools

from .. import compat
from ..engine import policy, sql

# The balance of accounts: the folded balance plus the ledger changes not folded yet (see
# cgsms.credit.line). Read at each claim of the delivery engine: planned once per connection
# (engine/sql.py), as the fold below.
BALANCES = sql.function(
    "cgsms_credit_balances",
    "p_accounts integer[]",
    "TABLE (account_id integer, amount numeric)",
    """
RETURN QUERY SELECT m.account_id, SUM(m.amount)::numeric FROM (
    SELECT b.account_id, b.amount FROM cgsms_credit_balance b
     WHERE b.account_id = ANY(p_accounts)
    UNION ALL
    SELECT d.account_id, d.amount FROM cgsms_credit_delta d
     WHERE d.account_id = ANY(p_accounts)
) m
GROUP BY m.account_id;
""",
)
# The committed ledger changes of accounts folded into their balance row (``_credit_fold``).
FOLD = sql.function(
    "cgsms_credit_fold",
    "p_accounts integer[]",
    "void",
    """
WITH folded AS (
    DELETE FROM cgsms_credit_delta d WHERE d.account_id = ANY(p_accounts)
    RETURNING d.account_id, d.amount
)
INSERT INTO cgsms_credit_balance AS b (account_id, amount)
SELECT a.id, COALESCE(SUM(f.amount), 0)
  FROM unnest(p_accounts) AS a(id) LEFT JOIN folded f ON f.account_id = a.id
 GROUP BY a.id
ON CONFLICT (account_id) DO UPDATE SET amount = b.amount + EXCLUDED.amount;
""",
)


class CgsmsAccount(models.Model):
    _inherit = "cgsms.account"

    def action_add_credits(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Add credits"),
            "res_model": "cgsms.credit.line",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id, "default_kind": "topup"},
        }

    def action_view_credit_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cgsms.cgsms_credit_line_action")
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        return action

    def _cgsms_allowed_country_codes(self):
        """ISO codes of the countries the account sends to (empty: no restriction, for an
        account of a company without a country that nobody restricted)."""
        return self._cgsms_policy_rules(self.id)[0]

    def _cgsms_price_for(self, e164, country_code):
        """Credits per segment for ``e164``: the longest matching prefix, else the country's
        price, else the account's."""
        return policy.rule_price(self._cgsms_policy_rules(self.id), e164, country_code)

    @api.model
    @tools.ormcache("account_id")
    def _cgsms_policy_rules(self, account_id):
        """(allowed country codes, ((prefix, price) longest first), {country code: price},
        the account's price): read once per process and change, not once per number."""
        account = self.sudo().browse(account_id)
        prices = account.price_ids
        prefixes = sorted(
            ((p.prefix, p.cost_per_segment) for p in prices if p.prefix),
            key=lambda item: -len(item[0]),
        )
        by_country = {p.country_id.code: p.cost_per_segment for p in prices if p.country_id}
        codes = frozenset(account.allowed_country_ids.mapped("code"))
        return codes, tuple(prefixes), by_country, account.cost_per_segment

    def init(self):
        # The token bucket of each account's messages per second: when its next SMS may leave
        # (Unix time), shared by every worker and server. A row of its own, not a column of
        # the account: it is updated for every chunk sent, and on the account's row those
        # updates would wait for the credit reservations (which lock that row) and make
        # concurrent reservations fail. Unlogged: after a crash it starts again from "now".
        self.env.cr.execute(
            """
            CREATE UNLOGGED TABLE IF NOT EXISTS cgsms_rate_bucket (
                account_id integer PRIMARY KEY
                    REFERENCES cgsms_account (id) ON DELETE CASCADE,
                next_slot double precision NOT NULL DEFAULT 0
            )
            """
        )

    def _credit_balances(self):
        if not self.ids:
            return {}
        self.env["cgsms.credit.line"].flush_model(["account_id", "amount"])
        self.env.cr.execute(f"SELECT * FROM {BALANCES}(%s)", [self.ids])
        return {account_id: float(amount) for account_id, amount in self.env.cr.fetchall()}

    def _credit_fold(self):
        """Fold the committed ledger changes of these accounts into their balance row. Only in
        a READ COMMITTED transaction (a claim of the delivery engine): there a delta folded
        meanwhile by another worker is skipped, not a serialization failure. Those not
        committed yet stay deltas until the next fold."""
        if self.ids:
            self.env.cr.execute(f"SELECT {FOLD}(%s)", [self.ids])

    def _lock(self):
        """Serialise credit reservations of concurrent sends on this account.

        Odoo runs transactions in REPEATABLE READ: a plain row lock would let a second send,
        whose snapshot predates the first one's commit, read a stale balance and overdraw. By
        *updating* the row, the second send waits for the first and then fails with a
        serialization error (Odoo retries the request or the cron job), reading the new
        balance on its next try. The balance can therefore never go below zero."""
        self.env.cr.execute(
            "UPDATE cgsms_account SET credit_sequence = COALESCE(credit_sequence, 0) + 1 "
            "WHERE id IN %s",
            [tuple(self.ids)],
        )
        self.invalidate_recordset(["credit_sequence"])

    def _check_low_balance(self):
        for account in self.sudo():
            available = account._credit_balances().get(account.id, 0.0)
            if available < account.low_balance_threshold and not account.low_balance_notified:
                account.low_balance_notified = True
                managers = account._low_balance_recipients()
                for user in managers:
                    account.activity_schedule(
                        "cgsms.mail_activity_type_low_balance",
                        user_id=user.id,
                        summary=_("SMS credits running low"),
                        note=_(
                            "Only %(available)s SMS credits left for %(company)s. Buy a pack "
                            "to keep sending.",
                            available=round(available, 2),
                            company=account.company_id.name,
                        ),
                    )
            elif available >= account.low_balance_threshold and account.low_balance_notified:
                account.low_balance_notified = False

    def _low_balance_recipients(self):
        """The people told about a low balance: active internal SMS managers of the account's
        company, never OdooBot or the superuser, each of them once."""
        self.ensure_one()
        return (
            self.env.ref("cgsms.group_cgsms_manager")[compat.GROUP_USERS_FIELD]
            .filtered(
                lambda u: (
                    u.active
                    and not u.share
                    and not u._is_superuser()
                    and self.company_id in u.company_ids
                )
            )
            .sorted("id")
        )
