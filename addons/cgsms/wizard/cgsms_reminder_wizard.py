from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import formatLang

from ..models.account_move import _company_now


class CgsmsReminderWizard(models.TransientModel):
    _name = "cgsms.reminder.wizard"
    _description = "Send SMS payment reminders"

    move_ids = fields.Many2many(
        "account.move",
        "cgsms_reminder_wizard_move_rel",
        "wizard_id",
        "move_id",
        "Invoices",
        domain=[("move_type", "=", "out_invoice")],
    )
    template_id = fields.Many2one(
        "sms.template",
        domain=[("model", "=", "account.move")],
        default=lambda self: self.env.company._cgsms_reminder_template(),
    )
    body = fields.Text(
        "Message",
        compute="_compute_body",
        store=True,
        readonly=False,
        help="One SMS per customer, about all of their selected invoices. Placeholders such as "
        "{{ object.name }} are filled in with the customer's oldest overdue invoice.",
    )
    remind_again = fields.Boolean(
        "Remind again today",
        help="Also send to customers whose invoices already received an SMS reminder today.",
    )
    reminded_today_ids = fields.Many2many(
        "account.move", compute="_compute_preview", string="Already reminded today"
    )
    skipped_move_ids = fields.Many2many(
        "account.move", compute="_compute_preview", string="Without a valid mobile number"
    )
    sms_count = fields.Integer("SMS to send", compute="_compute_preview")
    preview = fields.Html("Recipients", compute="_compute_preview", sanitize=False)
    credit_info = fields.Char("Credits", compute="_compute_preview")

    @api.depends("template_id")
    def _compute_body(self):
        for wizard in self:
            wizard.body = wizard.template_id.body or wizard.body

    @api.depends("move_ids", "remind_again")
    def _compute_preview(self):
        for wizard in self:
            moves = wizard.move_ids.filtered("cgsms_is_overdue")
            today_moves = moves.filtered(
                lambda m: m.cgsms_last_reminder_date == _company_now(m.company_id).date()
            )
            wizard.reminded_today_ids = today_moves
            if not wizard.remind_again:
                moves -= today_moves
            groups, skipped = moves._cgsms_reminder_groups()
            wizard.skipped_move_ids = skipped
            wizard.sms_count = len(groups)
            rows = Markup("").join(
                Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>")
                % (
                    group["partner"].display_name,
                    group["number"],
                    ", ".join(group["moves"].mapped("name")),
                )
                for group in groups
            )
            wizard.preview = (
                Markup(
                    '<table class="table table-sm"><thead><tr><th>%s</th><th>%s</th><th>%s</th>'
                    "</tr></thead><tbody>%s</tbody></table>"
                )
                % (_("Customer"), _("Mobile"), _("Invoices"), rows)
                if groups
                else False
            )
            account = self.env.company.cgsms_account_id.sudo()
            wizard.credit_info = (
                _(
                    "1 SMS = %(cost)s credits. Available credits: %(available)s",
                    cost=formatLang(self.env, account.cost_per_segment, digits=4),
                    available=formatLang(self.env, account.credit_available, digits=4),
                )
                if account
                else _("No active SMS account")
            )

    def action_send(self):
        self.ensure_one()
        move_model = self.env["account.move"]
        moves = self.move_ids.filtered("cgsms_is_overdue")
        if not moves:
            raise UserError(_("None of the selected invoices is overdue."))
        if not self.remind_again:
            moves -= self.reminded_today_ids
            if not moves:
                raise UserError(
                    _(
                        "All the selected invoices already received an SMS reminder today. "
                        "Tick 'Remind again today' to send one more."
                    )
                )
        if not (self.body or "").strip():
            raise UserError(_("Write the message of the reminder."))
        groups, skipped = moves._cgsms_reminder_groups()
        if not groups:
            raise UserError(
                _(
                    "No SMS can be sent: %(customers)s have no valid mobile number. Fill in "
                    "their Mobile field.",
                    customers=", ".join(sorted(set(skipped.commercial_partner_id.mapped("name")))),
                )
            )
        use_template = bool(self.template_id) and self.body == self.template_id.body
        texts = [
            move_model._cgsms_render_reminder(
                group["moves"][0],
                template=self.template_id if use_template else None,
                body=None if use_template else self.body,
            )
            for group in groups
        ]
        move_model._cgsms_check_sending(groups, texts)
        logs = self.env["cgsms.reminder.log"]
        for group, text in zip(groups, texts, strict=True):
            logs |= move_model._cgsms_send_reminder_group(group, text)
        return self._notify_result(groups, logs, skipped)

    def _notify_result(self, groups, logs, skipped):
        failed_numbers = set(logs.filtered(lambda log: log.state == "failed").mapped("number"))
        sent = len(groups) - len(failed_numbers)
        parts = [
            _(
                "%(sms)s SMS sent about %(invoices)s invoice(s).",
                sms=sent,
                invoices=len(logs.filtered(lambda log: log.state == "sent")),
            )
        ]
        if failed_numbers:
            parts.append(
                _(
                    "%(count)s SMS failed, see the SMS reminder log.",
                    count=len(failed_numbers),
                )
            )
        if skipped:
            parts.append(
                _(
                    "Not sent, no valid mobile number: %(customers)s.",
                    customers=", ".join(sorted(set(skipped.commercial_partner_id.mapped("name")))),
                )
            )
        problem = bool(failed_numbers or skipped)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("SMS payment reminders"),
                "message": " ".join(parts),
                "type": "warning" if problem else "success",
                "sticky": problem,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
