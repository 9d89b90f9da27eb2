from odoo import fields, models
from odoo.addons.base.models.res_partner import _tz_get

from .. import compat

if compat.SMS_API_PLUGIN:
    from .sms_sms import SmsApiCgsms, uses_twilio


class ResCompany(models.Model):
    _inherit = "res.company"

    cgsms_account_id = fields.Many2one(
        "cgsms.account",
        "SMS account",
        compute="_compute_cgsms_account_id",
        help="The active SMS provider account of the company.",
    )
    cgsms_who_may_send = fields.Selection(
        [("sms_users", "SMS users only"), ("internal", "Every internal user")],
        "Who may send SMS",
        default="sms_users",
        required=True,
        help="Who may send SMS that cost the company's credits, from any screen (the SMS "
        "form, a contact's chatter, Odoo's SMS composer, repairs). Automatic SMS set up by an "
        "administrator (automation rules, scheduled reminders, SMS on invoices) are always "
        "sent.",
    )
    cgsms_neutralized = fields.Boolean(
        "SMS neutralized",
        compute="_compute_cgsms_neutralized",
        help="An active SMS account of the company is neutralized: this database is a copy "
        "for testing and its SMS are not sent.",
    )
    # Invoicing SMS: overdue reminders and invoice issued notification
    cgsms_reminder_template_id = fields.Many2one(
        "sms.template",
        "Reminder template",
        domain=[("model", "=", "account.move")],
        default=lambda self: self.env.ref(
            "cgsms.sms_template_invoice_reminder", raise_if_not_found=False
        ),
        help="Text of the overdue-invoice reminders, manual and scheduled.",
    )
    cgsms_reminder_auto = fields.Boolean(
        "Scheduled SMS reminders", help="Send SMS reminders for overdue invoices automatically."
    )
    cgsms_reminder_first_delay = fields.Integer("First reminder (days after due date)", default=3)
    cgsms_reminder_interval = fields.Integer("Repeat every (days)", default=7)
    cgsms_reminder_max = fields.Integer("Maximum reminders per invoice", default=3)
    cgsms_reminder_hour_from = fields.Float("Send from", default=9.0)
    cgsms_reminder_hour_to = fields.Float("Send until", default=19.0)
    cgsms_reminder_workdays_only = fields.Boolean("Working days only (Mon-Fri)", default=True)
    cgsms_reminder_tz = fields.Selection(
        _tz_get,
        "Reminders timezone",
        help="Timezone of the sending window. Empty: the company's timezone (its address "
        "contact), else the administrator's.",
    )
    cgsms_invoice_post_sms = fields.Boolean(
        "SMS when an invoice is issued",
        help="Send an SMS to the customer when one of their invoices is confirmed.",
    )
    cgsms_invoice_post_template_id = fields.Many2one(
        "sms.template",
        "Issued invoice template",
        domain=[("model", "=", "account.move")],
        default=lambda self: self.env.ref(
            "cgsms.sms_template_invoice_posted", raise_if_not_found=False
        ),
    )

    def _compute_cgsms_account_id(self):
        accounts = self.env["cgsms.account"]._get_active_by_company(self.ids)
        for company in self:
            company.cgsms_account_id = accounts.get(company.id, False)

    def _compute_cgsms_neutralized(self):
        neutralized = (
            self.env["cgsms.account"]
            .sudo()
            .search([("company_id", "in", self.ids), ("neutralized", "=", True)])
            .company_id
        )
        for company in self:
            company.cgsms_neutralized = company in neutralized

    def _cgsms_tz(self):
        """Timezone name of the company's reminder window."""
        self.ensure_one()
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        return self.cgsms_reminder_tz or self.partner_id.tz or (admin and admin.sudo().tz) or "UTC"

    def _cgsms_reminder_template(self):
        # Companies that existed before the module was installed have no default set.
        self.ensure_one()
        return self.cgsms_reminder_template_id or self.env.ref(
            "cgsms.sms_template_invoice_reminder", raise_if_not_found=False
        )

    def _cgsms_invoice_post_template(self):
        self.ensure_one()
        return self.cgsms_invoice_post_template_id or self.env.ref(
            "cgsms.sms_template_invoice_posted", raise_if_not_found=False
        )

    if compat.SMS_API_PLUGIN:  # 19.0: Odoo asks each company for its SMS API

        def _get_sms_api_class(self):
            self.ensure_one()
            if not uses_twilio(self) and self.env["cgsms.account"]._get_active_by_company(self.ids):
                return SmsApiCgsms
            return super()._get_sms_api_class()
