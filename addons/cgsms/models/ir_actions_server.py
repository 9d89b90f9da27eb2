from odoo import models

from ..engine import policy


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        # An SMS server action (automation rule, contextual action) is set up by an
        # administrator: it sends whoever triggers it (the sending policy's "automated").
        with policy.automated():
            return super()._run_action_sms_multi(eval_context=eval_context)
