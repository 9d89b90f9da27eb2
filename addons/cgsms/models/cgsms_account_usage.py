import math
from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models

# What an SMS consumes: its debit, less the refund when it was not delivered. Packs bought and
# adjustments are not spending.
_SPENDING_KINDS = ("debit", "refund")
RATE_DAYS = 30


class CgsmsAccount(models.Model):
    """Where the credits go: what an account spent this month and last month, and how long
    its credits last at the rate of the last 30 days."""

    _inherit = "cgsms.account"

    credit_spent_30d = fields.Float(
        "Spent in the last 30 days", digits=(12, 4), compute="_compute_credit_usage"
    )
    credit_days_left = fields.Integer(
        "Days of credits left",
        compute="_compute_credit_usage",
        help="Available credits divided by the average daily spending of the last 30 days.",
    )
    credit_forecast = fields.Char("At this rate", compute="_compute_credit_usage")
    credit_spent_month = fields.Float(
        "Spent this month", digits=(12, 4), compute="_compute_credit_usage"
    )
    credit_spent_last_month = fields.Float(
        "Spent last month", digits=(12, 4), compute="_compute_credit_usage"
    )
    credit_month_comparison = fields.Char("Spending", compute="_compute_credit_usage")

    @api.depends("credit_line_ids.amount")
    @api.depends_context("uid", "lang", "tz")
    def _compute_credit_usage(self):
        now = fields.Datetime.now()
        until = now + timedelta(seconds=1)  # what was recorded in this very second too
        month_start = self._cgsms_month_start()
        spent_30d = self._cgsms_spent(now - timedelta(days=RATE_DAYS), until)
        month = self._cgsms_spent(month_start, until)
        last_month = self._cgsms_spent(month_start - relativedelta(months=1), month_start)
        for account in self:
            account.credit_spent_30d = spent_30d.get(account.id, 0.0)
            account.credit_spent_month = month.get(account.id, 0.0)
            account.credit_spent_last_month = last_month.get(account.id, 0.0)
            account.credit_days_left = days_left(account.credit_available, account.credit_spent_30d)
            account.credit_forecast = account._cgsms_forecast_text(account.credit_spent_30d)
            account.credit_month_comparison = account._cgsms_month_text(
                account.credit_spent_month, account.credit_spent_last_month
            )

    def _cgsms_month_start(self):
        """The first moment of the user's current month, in UTC as the database keeps it."""
        tz_now = fields.Datetime.context_timestamp(self, fields.Datetime.now())
        start = datetime.combine(tz_now.date().replace(day=1), time.min)
        return start - (tz_now.utcoffset() or timedelta(0))

    def _cgsms_spent(self, since, until):
        """{account id: credits spent from ``since`` until before ``until``}, read with the
        user's rights (their companies' ledgers only)."""
        ids = [account_id for account_id in self.ids if account_id]
        if not ids:
            return {}
        groups = self.env["cgsms.credit.line"]._read_group(
            [
                ("account_id", "in", ids),
                ("kind", "in", _SPENDING_KINDS),
                ("date", ">=", since),
                ("date", "<", until),
            ],
            ["account_id"],
            ["amount:sum"],
        )
        return {account.id: -amount for account, amount in groups}

    def _cgsms_forecast_text(self, spent_30d):
        self.ensure_one()
        if self.credit_available <= 0:
            return self.env._("No credits left: record a pack to go on sending.")
        if spent_30d <= 0:
            return self.env._(
                "No SMS in the last 30 days: the credits last as long as they are unused."
            )
        days = days_left(self.credit_available, spent_30d)
        if days > 365:
            return self.env._("More than a year of credits at the last 30 days' rate")
        return self.env._("≈ %(days)s days left at the last 30 days' rate", days=days)

    def _cgsms_month_text(self, month, last_month):
        fmt = self.env["cgsms.credit.line"]._format_credits
        return self.env._(
            "%(month)s credits spent this month, %(last_month)s last month",
            month=fmt(month),
            last_month=fmt(last_month),
        )


def days_left(available, spent_30d):
    """Whole days the ``available`` credits last when spending ``spent_30d`` every 30 days;
    0 when nothing was spent (no rate to go by)."""
    if spent_30d <= 0 or available <= 0:
        return 0
    return math.floor(available / (spent_30d / RATE_DAYS))
