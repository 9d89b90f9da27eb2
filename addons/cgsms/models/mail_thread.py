"""The SMS that Odoo's apps send by themselves, as part of a business action an
administrator switched on, are automations of the sending policy (``policy.automated``):
they go out whoever triggers the action, within the destinations, prices, credits, length
and opt-out that apply to every SMS.

Odoo's apps send them through two private shortcuts, whose text comes from an SMS template
(which only administrators and SMS users may edit) and never from the person acting:
``_message_sms_with_template`` (stock_sms on validating a delivery, project_sms on a stage
with a template, calendar_sms reminders) and ``_message_sms_schedule_mass`` (event_sms
schedulers, website registrations included). A JSON-RPC client cannot call either (a
private method), so nobody reaches them with a text of their own.
"""

import functools

from odoo import models

from ..engine import policy

# Public methods of Odoo's apps that send an SMS by themselves (their text from a setting
# or template only an administrator edits) through a door that checks its user otherwise:
# the POS receipt opens Odoo's composer with the point of sale's receipt template, sent only
# when the point of sale's SMS receipts are on.
APP_AUTOMATIONS = {
    "pos.order": ("action_sent_message_on_sms",),
}


def _as_automation(method):
    @functools.wraps(method)
    def automation(self, *args, **kwargs):
        with policy.automated():
            return method(self, *args, **kwargs)

    automation.cgsms_automation = True
    return automation


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _message_sms_with_template(self, *args, **kwargs):
        with policy.automated():
            return super()._message_sms_with_template(*args, **kwargs)

    def _message_sms_schedule_mass(self, *args, **kwargs):
        with policy.automated():
            return super()._message_sms_schedule_mass(*args, **kwargs)

    def _register_hook(self):
        # Once per registry (on the registry's own classes): the apps' automations above.
        super()._register_hook()
        if self._name != "mail.thread":
            return
        for model_name, methods in APP_AUTOMATIONS.items():
            if model_name not in self.env.registry:
                continue
            model_class = type(self.env[model_name])
            for name in methods:
                method = getattr(model_class, name, None)
                if method is not None and not getattr(method, "cgsms_automation", False):
                    setattr(model_class, name, _as_automation(method))
