"""Several provider accounts per company: routing by destination (``route_prefixes``, then
``sequence``) and health (an account whose errors cross its threshold is taken out of
rotation for a while). The work is in ``engine.route`` and ``engine.health``."""

import re

from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from ..engine import health
from ..tools.phone import regions_under_prefix

PREFIX_RE = re.compile(r"^\+[1-9]\d{0,14}$")


def split_prefixes(text):
    """``"+44, +353"`` as ``("+44", "+353")``; empty: any destination."""
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


class CgsmsAccount(models.Model):
    _inherit = "cgsms.account"
    _order = "company_id, sequence, id"

    active = fields.Boolean(
        help="Only an active account sends SMS. A company may have several: they are tried "
        "by destination, then by sequence."
    )
    sequence = fields.Integer(
        default=10,
        tracking=True,
        help="Order in which the company's accounts are tried: a lower one first. The first "
        "active account is the company's primary account.",
    )
    route_prefixes = fields.Char(
        "Destinations (prefixes)",
        tracking=True,
        help="Comma-separated E.164 prefixes this account sends to first, e.g. +44,+353. "
        "Empty: any destination. The account with the longest matching prefix is tried "
        "first, then the others by sequence.",
    )
    route_warning = fields.Char(
        "Destinations left out",
        compute="_compute_route_warning",
        help="Countries under the account's prefixes that its destinations leave out: SMS to "
        "their numbers are refused.",
    )
    health_error_threshold = fields.Integer(
        "Errors before pausing",
        default=50,
        help="More errors than this within the window take the account out of rotation (0: never).",
    )
    health_window = fields.Integer(
        "Window (seconds)", default=60, help="The time over which errors and slow answers count."
    )
    health_slow_seconds = fields.Float(
        "Slow answer (seconds)", default=5.0, help="An answer that takes longer counts as slow."
    )
    health_slow_share = fields.Float(
        "Slow answers (%)",
        default=50.0,
        help="More slow answers than this share of the calls within the window (at least 20 "
        "calls) take the account out of rotation (0: never).",
    )
    health_pause = fields.Integer(
        "Out of rotation for (seconds)",
        default=300,
        help="How long an unhealthy account is left aside before it is tried again.",
    )
    out_of_rotation_until = fields.Datetime(
        "Out of rotation until",
        readonly=True,
        copy=False,
        help="The account is left aside until then: its SMS leave through the company's "
        "other accounts.",
    )
    out_of_rotation_reason = fields.Char("Why out of rotation", readonly=True, copy=False)
    rotation_state = fields.Selection(
        [("in", "In rotation"), ("out", "Out of rotation")],
        "Health",
        compute="_compute_rotation_state",
    )

    @api.constrains("route_prefixes")
    def _check_route_prefixes(self):
        for account in self:
            wrong = [p for p in split_prefixes(account.route_prefixes) if not PREFIX_RE.match(p)]
            if wrong:
                raise ValidationError(
                    _(
                        "%(prefixes)s: write each destination as an international prefix "
                        "starting with +, separated by commas, e.g. +44,+353.",
                        prefixes=", ".join(wrong),
                    )
                )

    @api.constrains("health_error_threshold", "health_window", "health_slow_share", "health_pause")
    def _check_health(self):
        for account in self:
            if (
                min(account.health_error_threshold, account.health_pause) < 0
                or account.health_window < 1
                or not 0 <= account.health_slow_share <= 100
            ):
                raise ValidationError(
                    _(
                        "The health thresholds cannot be negative, the window is at least one "
                        "second and the share of slow answers is between 0 and 100%."
                    )
                )

    @api.depends("route_prefixes", "allowed_country_ids")
    @api.depends_context("lang")
    def _compute_route_warning(self):
        for account in self:
            allowed = set(account.allowed_country_ids.mapped("code"))
            left_out = set()
            if allowed:
                for prefix in split_prefixes(account.route_prefixes):
                    if PREFIX_RE.match(prefix):
                        left_out.update(set(regions_under_prefix(prefix)) - allowed)
            account.route_warning = (
                _(
                    "Numbers under %(prefixes)s in %(countries)s are refused: add these "
                    "countries to the destinations to send to them.",
                    prefixes=account.route_prefixes,
                    countries=", ".join(sorted(self._cgsms_country_names(left_out))),
                )
                if left_out
                else False
            )

    @api.depends("out_of_rotation_until")
    def _compute_rotation_state(self):
        now = fields.Datetime.now()
        for account in self:
            until = account.out_of_rotation_until
            account.rotation_state = "out" if until and until > now else "in"

    def init(self):
        super().init()
        health.create_table(self.env.cr)

    def action_back_in_rotation(self):
        """A manager puts an account that was left aside back in rotation now."""
        for account in self.filtered("out_of_rotation_until"):
            health.switch(
                account, False, _("Put back in rotation by %(user)s.", user=self.env.user.name)
            )

    # ------------------------------------------------------------------ helpers

    def _cgsms_country_names(self, codes):
        """The names of the countries ``codes`` (ISO), each code kept when Odoo has none."""
        countries = self.env["res.country"].sudo().search([("code", "in", list(codes))])
        names = {country.code: country.name for country in countries}
        return [names.get(code, code) for code in codes]

    @api.model
    @tools.ormcache("company_id")
    def _cgsms_route_table(self, company_id):
        """((account id, sequence, prefixes), ...) of the company's active accounts in
        sequence order: read once per process and change, not once per SMS."""
        accounts = self.sudo().search([("company_id", "=", company_id), ("active", "=", True)])
        return tuple((a.id, a.sequence, split_prefixes(a.route_prefixes)) for a in accounts)
