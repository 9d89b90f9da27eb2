"""A neutralized copy of a database reaches no SMS provider and spends no credit.

Odoo neutralizes a copy of production (``odoo-bin neutralize``, a backup restored or a database
duplicated with "neutralize", a staging branch) by running each installed module's
``data/neutralize.sql``: ours marks every account ``neutralized``. A neutralized account sends
nothing (its queued SMS fail with the reason, no credit is reserved), tests no connection and
looks nothing up: its adapter gets a session that refuses every HTTP call. An administrator may
switch a sandbox account back on, on purpose, to try sending in the copy.
"""

import requests

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..engine import policy
from ..providers import ProviderError

NEUTRALIZED_PARAM = "database.is_neutralized"


class _NeutralizedSession(requests.Session):
    """Refuses every call: nothing reaches a provider from a neutralized account."""

    def __init__(self, message):
        super().__init__()
        self.cgsms_message = message

    def request(self, method, url, *args, **kwargs):
        raise ProviderError("auth", self.cgsms_message)


class CgsmsAccount(models.Model):
    _inherit = "cgsms.account"

    neutralized = fields.Boolean(
        "Neutralized copy",
        default=lambda self: self._cgsms_database_neutralized(),
        copy=False,
        tracking=True,
        help="Set on every account when the database is neutralized (a copy of production for "
        "testing): the account then sends nothing, tests no connection and spends no credits. "
        "In such a copy an administrator may clear it on a sandbox account to try sending.",
    )

    @api.constrains("neutralized", "provider")
    def _check_neutralized(self):
        if not self._cgsms_database_neutralized():
            return
        for account in self:
            if not account.neutralized and account.provider != "sandbox":
                raise ValidationError(
                    _(
                        "This database is a neutralized copy: only a sandbox account may send "
                        "in it. Choose the Sandbox provider before switching %(account)s on.",
                        account=account.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        if self._cgsms_database_neutralized():
            for vals in vals_list:
                if vals.get("neutralized") is False:
                    self._cgsms_check_may_unneutralize()
        return super().create(vals_list)

    def write(self, vals):
        if self._cgsms_database_neutralized():
            if "neutralized" in vals and not vals["neutralized"]:
                self._cgsms_check_may_unneutralize()
            if vals.get("provider") and vals["provider"] != "sandbox":
                # Away from the sandbox, an account of a neutralized copy stops sending again.
                vals = dict(vals, neutralized=True)
        return super().write(vals)

    def action_test_connection(self):
        self.ensure_one()
        if not self.sudo().neutralized:
            return super().action_test_connection()
        self.check_access("write")
        return self._notify(_("Connection not tested"), policy.neutralized(self.env), "warning")

    def _provider(self):
        provider = super()._provider()
        if self.sudo().neutralized:
            provider.session = _NeutralizedSession(policy.neutralized(self.env))
        return provider

    @api.model
    def _cgsms_database_neutralized(self):
        return bool(self.env["ir.config_parameter"].sudo().get_param(NEUTRALIZED_PARAM))

    def _cgsms_check_may_unneutralize(self):
        if not (self.env.su or self.env.user.has_group("base.group_system")):
            raise AccessError(
                _(
                    "This database is a neutralized copy: only an administrator may let an SMS "
                    "account send in it."
                )
            )
