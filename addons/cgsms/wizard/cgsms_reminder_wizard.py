from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.account_move import _company_now
from ..models.cgsms_message import refuse_nul
from ..tools.sms_segments import count_segments


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
    text_preview = fields.Html(
        "What the customers receive", compute="_compute_preview", sanitize=False
    )
    segment_total = fields.Integer(
        "SMS parts",
        compute="_compute_preview",
        help="Parts of all the SMS of this send: a long or Unicode text takes several.",
    )
    cost_total = fields.Float("Total cost", digits=(12, 4), compute="_compute_preview")
    credit_short = fields.Boolean(compute="_compute_preview")
    gsm7_safe = fields.Boolean("Replace accented letters", compute="_compute_preview")
    credit_info = fields.Char("Credits", compute="_compute_preview")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            refuse_nul(self.env, vals, ("body",))
        return super().create(vals_list)

    def write(self, vals):
        refuse_nul(self.env, vals, ("body",))
        return super().write(vals)

    @api.depends("template_id")
    def _compute_body(self):
        for wizard in self:
            wizard.body = wizard.template_id.body or wizard.body

    @api.depends("move_ids", "remind_again", "template_id", "body")
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
            render_error = False
            wizard.skipped_move_ids = skipped
            wizard.sms_count = len(groups)
            try:
                texts = wizard._reminder_texts(groups)
            except (AccessError, UserError) as exc:
                # A placeholder being typed; the send itself reports it again.
                texts = ["" for _group in groups]
                render_error = exc.args[0]
            infos = [count_segments(text) for text in texts]
            costs = [
                info.segments * group["company"].cgsms_account_id.sudo().cost_per_segment
                for group, info in zip(groups, infos, strict=True)
            ]
            wizard.segment_total = sum(info.segments for info in infos)
            wizard.cost_total = round(sum(costs), 4)
            rows = Markup("").join(
                Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
                % (
                    group["partner"].display_name,
                    group["number"],
                    ", ".join(group["moves"].mapped("name")),
                    wizard._reminder_count_label(info),
                )
                for group, info in zip(groups, infos, strict=True)
            )
            wizard.preview = (
                Markup(
                    '<table class="table table-sm"><thead><tr><th>%s</th><th>%s</th><th>%s</th>'
                    "<th>%s</th></tr></thead><tbody>%s</tbody></table>"
                )
                % (_("Customer"), _("Mobile"), _("Invoices"), _("SMS"), rows)
                if groups
                else False
            )
            wizard.text_preview = (
                Markup("<div class='alert alert-warning' role='alert'>%s</div>") % render_error
                if render_error
                else wizard._reminder_text_preview(groups, texts, infos, costs)
            )
            account = self.env.company.cgsms_account_id.sudo()
            wizard.gsm7_safe = account.gsm7_safe
            wizard.credit_short = bool(account) and (
                wizard.cost_total > account.credit_available + 1e-9
            )
            wizard.credit_info = (
                _(
                    "1 SMS = %(cost)s credits. Available credits: %(available)s",
                    cost=self._format_credits(account.cost_per_segment),
                    available=self._format_credits(account.credit_available),
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
        texts = self._reminder_texts(groups)
        move_model._cgsms_check_sending(groups, texts)
        logs = self.env["cgsms.reminder.log"]
        for group, text in zip(groups, texts, strict=True):
            logs |= move_model._cgsms_send_reminder_group(group, text)
        return self._notify_result(groups, logs, skipped)

    def _reminder_texts(self, groups):
        """The text each group receives, as it leaves: the template in the customer's
        language, or the edited text, with its placeholders filled in."""
        if not (self.body or "").strip():
            return ["" for _group in groups]
        use_template = bool(self.template_id) and self.body == self.template_id.body
        return [
            self.env["account.move"]._cgsms_render_reminder(
                group["moves"][0]._origin,
                template=self.template_id._origin if use_template else None,
                body=None if use_template else self.body,
            )
            for group in groups
        ]

    def _reminder_count_label(self, info):
        return _(
            "%(chars)s characters, %(parts)s SMS (%(encoding)s)",
            chars=info.chars,
            parts=info.segments,
            encoding=_("Unicode") if info.encoding == "UCS-2" else "GSM-7",
        )

    def _reminder_text_preview(self, groups, texts, infos, costs):
        """One row per language (per distinct text when placeholders make them differ): the
        text as the customers of that language receive it, its parts and its cost."""
        if not groups:
            return False
        languages = dict(self.env["res.lang"].get_installed())
        rows = {}
        for group, text, info, cost in zip(groups, texts, infos, costs, strict=True):
            lang = group["moves"][0].partner_id.lang or self.env.lang or "en_US"
            row = rows.setdefault(
                (lang, text),
                {"lang": lang, "text": text, "info": info, "count": 0, "cost": 0.0},
            )
            row["count"] += 1
            row["cost"] += cost
        body = Markup("").join(
            Markup(
                "<tr><td>%s</td><td class='o_cgsms_reminder_text' style='white-space: pre-wrap'>"
                "%s</td><td>%s</td><td>%s</td><td class='text-end'>%s</td></tr>"
            )
            % (
                self._lang_own_name(languages.get(row["lang"], row["lang"])),
                row["text"],
                self._reminder_count_label(row["info"]),
                row["count"],
                self._format_credits(row["cost"]),
            )
            for row in rows.values()
        )
        return Markup(
            "<table class='table table-sm o_cgsms_reminder_texts'><thead><tr><th>%s</th>"
            "<th>%s</th><th>%s</th><th>%s</th><th class='text-end'>%s</th></tr></thead>"
            "<tbody>%s</tbody></table>"
        ) % (
            _("Language"),
            _("Message as sent"),
            _("Length"),
            _("Customers"),
            _("Credits"),
            body,
        )

    def _lang_own_name(self, name):
        # Odoo names a language "English name / own name" ("Portuguese / Português").
        return name.split(" / ")[-1]

    def _format_credits(self, amount):
        return self.env["cgsms.credit.line"]._format_credits(amount)

    def _sent_sentence(self, sms, invoices):
        if sms == 1 and invoices == 1:
            return _("1 SMS sent about 1 invoice.")
        if sms == 1:
            return _("1 SMS sent about %(invoices)s invoices.", invoices=invoices)
        return _("%(sms)s SMS sent about %(invoices)s invoices.", sms=sms, invoices=invoices)

    def _notify_result(self, groups, logs, skipped):
        failed_numbers = set(logs.filtered(lambda log: log.state == "failed").mapped("number"))
        sent = len(groups) - len(failed_numbers)
        parts = [self._sent_sentence(sent, len(logs.filtered(lambda log: log.state == "sent")))]
        if len(failed_numbers) == 1:
            parts.append(_("1 SMS failed, see the SMS reminder log."))
        elif failed_numbers:
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
