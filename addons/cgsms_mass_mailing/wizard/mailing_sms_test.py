from markupsafe import Markup

from odoo import models
from odoo.addons.cgsms import compat


class MailingSmsTest(models.TransientModel):
    """A mailing's *Test*: on 19.0 Odoo asks the company's SMS API, which is CgSMS's; 18.0
    calls IAP directly, so there the test SMS go through the CgSMS queue instead (the
    person who presses *Send* is checked like at any other door)."""

    _inherit = "mailing.sms.test"

    def action_send_sms(self):
        account = self.env["cgsms.account"]._get_active(self.env.company)
        if compat.SMS_API_PLUGIN or not account:
            return super().action_send_sms()
        self.ensure_one()
        mailing = self.mailing_id
        numbers = [number.strip() for number in (self.numbers or "").splitlines()]
        numbers = [number for number in numbers if number]
        sanitized = [self.env.user._phone_format(number=number) for number in numbers]
        invalid = [number for clean, number in zip(sanitized, numbers, strict=True) if not clean]
        body = mailing.body_plaintext
        record = self.env[mailing.mailing_model_real].search([], limit=1)
        if record:
            body = self.env["mail.render.mixin"]._render_template(
                body, mailing.mailing_model_real, record.ids
            )[record.id]
        valid = [clean for clean in sanitized if clean]
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                [
                    {"body": body, "number": number, "cgsms_company_id": account.company_id.id}
                    for number in valid
                ]
            )
        )
        sms._send(unlink_failed=False, unlink_sent=True)
        lines = []
        if valid:
            lines.append(
                self.env._("Test SMS sent through CgSMS to %(numbers)s.", numbers=", ".join(valid))
            )
        if invalid:
            lines.append(
                self.env._(
                    "These numbers are not valid phone numbers: %(numbers)s",
                    numbers=", ".join(invalid),
                )
            )
        if lines:
            items = Markup("").join(Markup("<li>%s</li>") % line for line in lines)
            mailing._message_log(body=Markup("<ul>%s</ul>") % items)
        return True
