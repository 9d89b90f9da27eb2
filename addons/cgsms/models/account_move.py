import logging
from datetime import date, datetime, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import compat
from ..engine import policy
from ..engine.policy import MAX_SEGMENTS, too_long_error
from ..tools.phone import normalize_number
from ..tools.sms_segments import count_segments

_logger = logging.getLogger(__name__)


def _company_now(company):
    return datetime.now(pytz.timezone(company._cgsms_tz()))


def _in_sending_window(company, now):
    if company.cgsms_reminder_workdays_only and now.weekday() >= 5:
        return False
    hour = now.hour + now.minute / 60.0
    start, end = company.cgsms_reminder_hour_from, company.cgsms_reminder_hour_to
    if start < end:
        return start <= hour < end
    # A window such as 22:00 -> 06:00 crosses midnight.
    return hour >= start or hour < end


class AccountMove(models.Model):
    _inherit = "account.move"

    cgsms_reminder_count = fields.Integer(
        "SMS reminders",
        copy=False,
        readonly=True,
        default=0,
        help="Number of SMS payment reminders sent for this invoice.",
    )
    cgsms_last_reminder_date = fields.Date("Last SMS reminder", copy=False, readonly=True)
    cgsms_is_overdue = fields.Boolean(
        "Overdue", compute="_compute_cgsms_overdue", search="_search_cgsms_is_overdue"
    )
    cgsms_days_overdue = fields.Integer(
        "Days overdue", compute="_compute_cgsms_overdue", search="_search_cgsms_days_overdue"
    )
    cgsms_posted_sms_sent = fields.Boolean(
        "Issued-invoice SMS handled",
        copy=False,
        readonly=True,
        help="The SMS announcing this invoice was sent (or could not be, and that was logged): "
        "it is never sent again, even if the invoice is reset to draft and confirmed again.",
    )
    cgsms_reminder_log_ids = fields.One2many(
        "cgsms.reminder.log", "move_id", "SMS reminder log", readonly=True
    )

    @api.depends(
        "move_type",
        "state",
        "payment_state",
        "amount_residual",
        "invoice_date_due",
        *compat.NO_FOLLOWUP_DEPENDS,
    )
    def _compute_cgsms_overdue(self):
        todays = {}
        for move in self:
            company = move.company_id or self.env.company
            if company.id not in todays:
                todays[company.id] = _company_now(company).date()
            today = todays[company.id]
            overdue = bool(
                move.move_type == "out_invoice"
                and move.state == "posted"
                and move.payment_state in ("not_paid", "partial")
                and move.amount_residual > 0
                and move.invoice_date_due
                and move.invoice_date_due < today
                and not (compat.ACCOUNT_NO_FOLLOWUP and move.no_followup)
            )
            move.cgsms_is_overdue = overdue
            move.cgsms_days_overdue = (today - move.invoice_date_due).days if overdue else 0

    def _search_cgsms_is_overdue(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(_("Unsupported search on the overdue flag."))
        domain = self._cgsms_overdue_domain()
        if (operator == "=") == bool(value):
            return domain
        return compat.domain_not(domain)

    def _search_cgsms_days_overdue(self, operator, value):
        # N days overdue <=> due date = today - N
        today = _company_now(self.env.company).date()
        try:
            limit = today - timedelta(days=int(value or 0))
        except (TypeError, ValueError):
            raise UserError(_("Search on days overdue needs a number of days.")) from None
        flipped = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "!=": "!="}
        if operator not in flipped:
            raise UserError(_("Unsupported search on days overdue."))
        return compat.domain_and(
            [self._cgsms_overdue_domain(), [("invoice_date_due", flipped[operator], limit)]]
        )

    # ------------------------------------------------------------------ actions

    def action_cgsms_send_reminder(self):
        """Open the reminder wizard on the selected overdue invoices."""
        moves = self.filtered("cgsms_is_overdue")
        if not moves:
            raise UserError(_("Select at least one overdue customer invoice."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Send SMS reminder"),
            "res_model": "cgsms.reminder.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_ids": moves.ids},
        }

    def action_cgsms_open_reminder_log(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("SMS reminder log"),
            "res_model": "cgsms.reminder.log",
            "view_mode": "list,form",
            "domain": [("move_id", "=", self.id)],
        }

    # ------------------------------------------------------------------ overdue reminders

    @api.model
    def _cgsms_overdue_domain(self, today=None):
        today = today or _company_now(self.env.company).date()
        return [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("amount_residual", ">", 0),
            ("invoice_date_due", "<", today),
            ("company_id", "in", self.env.companies.ids),
            *compat.NO_FOLLOWUP_DOMAIN,
        ]

    def _cgsms_reminder_recipient(self):
        """(partner, E.164 mobile) the SMS about this invoice goes to: the invoice contact if
        it has a valid mobile, else the customer (commercial partner); (partner, False) when
        neither has one."""
        self.ensure_one()
        default_country = self.company_id.country_id.code or None
        for partner in self.partner_id | self.commercial_partner_id:
            if not partner.cgsms_mobile:
                continue
            number = normalize_number(
                partner.cgsms_mobile, partner.country_id.code or default_country, mobile_only=True
            )
            if number.valid:
                return partner, number.e164
        return self.commercial_partner_id, False

    def _cgsms_reminder_groups(self):
        """Group the invoices per company and mobile number (one SMS each).

        :return: (list of dicts company/partner/number/moves, invoices without a valid mobile)
        """
        groups = {}
        skipped = self.browse()
        for move in self.sorted(lambda m: (m.invoice_date_due or date.max, m._origin.id or 0)):
            partner, number = move._cgsms_reminder_recipient()
            if not number:
                skipped |= move
                continue
            group = groups.setdefault(
                (move.company_id.id, number),
                {
                    "company": move.company_id,
                    "partner": partner,
                    "number": number,
                    "moves": self.browse(),
                },
            )
            group["moves"] |= move
        return list(groups.values()), skipped

    @api.model
    def _cgsms_render_reminder(self, move, template=None, body=None):
        """Text of the reminder about ``move`` (the first invoice of a group), as it leaves:
        the template in the customer's language, or the given text (placeholders rendered),
        prepared by the company's SMS account."""
        if body is None:
            text = template._render_field("body", move.ids, compute_lang=True)[move.id]
        elif "{{" in body:
            # A typed text is rendered with the user's own template rights (sms.template would
            # render it unrestricted: it trusts the saved templates only).
            text = self.env["mail.render.mixin"]._render_template(body, "account.move", move.ids)[
                move.id
            ]
        else:
            text = body
        return move.company_id.cgsms_account_id.sudo()._cgsms_prepare_rendered(text)

    @api.model
    def _cgsms_check_sending(self, groups, texts):
        """Refuse early, with a message the user can act on, when a company has no active SMS
        account or not enough credits for these reminders."""
        cost_by_company = {}
        for text in texts:
            if error := too_long_error(self.env, text):
                raise UserError(error)
        for group, text in zip(groups, texts, strict=True):
            company = group["company"]
            account = company.cgsms_account_id
            if not account:
                raise UserError(
                    _(
                        "The company %(company)s has no active SMS account. Activate it in "
                        "SMS > Configuration > Settings.",
                        company=company.name,
                    )
                )
            cost = count_segments(text).segments * policy.price_for(account.sudo(), group["number"])
            cost_by_company[company] = cost_by_company.get(company, 0.0) + cost
        for company, cost in cost_by_company.items():
            policy.check_credits(self.env, company.cgsms_account_id, cost)

    @api.model
    def _cgsms_send_reminder_group(self, group, text, origin="manual", steps=None):
        """Send ONE SMS to the group's number about all its invoices: the SMS is posted on the
        first invoice, a note on the others; every invoice is counted and logged.

        :return: the ``cgsms.reminder.log`` records created
        """
        moves, partner, number = group["moves"], group["partner"], group["number"]
        steps = steps or {}
        first = moves[0]
        log_model = self.env["cgsms.reminder.log"].sudo()
        logs = log_model.create(
            [
                {
                    "move_id": move.id,
                    "partner_id": partner.id,
                    "origin": origin,
                    "step": steps.get(move.id, 0),
                    "number": number,
                    "body": text,
                }
                for move in moves
            ]
        )
        # The unique index on scheduled steps is checked before anything leaves.
        logs.flush_recordset()
        message = first._message_sms(
            text, partner_ids=partner.ids, sms_pid_to_number={partner.id: number}
        )
        recipient = (
            self.env["cgsms.recipient"]
            .sudo()
            .search([("mail_message_id", "=", message.id)], limit=1)
        )
        failed = not recipient or recipient.state in ("failed", "cancelled")
        logs.write(
            {
                "recipient_id": recipient.id,
                "state": "failed" if failed else "sent",
                "note": recipient.failure_reason if failed else False,
            }
        )
        others = moves - first
        for move in others:
            move._message_log(
                body=_(
                    "SMS payment reminder sent to %(partner)s (%(number)s) together with "
                    "invoice %(invoice)s: %(text)s",
                    partner=partner.display_name,
                    number=number,
                    invoice=first.name,
                    text=text,
                )
                if not failed
                else _(
                    "SMS payment reminder to %(partner)s (%(number)s) failed: %(reason)s",
                    partner=partner.display_name,
                    number=number,
                    reason=recipient.failure_reason or "",
                )
            )
        if not failed:
            today = _company_now(group["company"]).date()
            for move in moves:
                move.sudo().write(
                    {
                        "cgsms_reminder_count": move.cgsms_reminder_count + 1,
                        "cgsms_last_reminder_date": today,
                    }
                )
        return logs

    @api.model
    def _cgsms_cron_send_reminders(self):
        """Scheduled reminders of every company that enabled them (hourly cron)."""
        companies = self.env["res.company"].sudo().search([("cgsms_reminder_auto", "=", True)])
        for company in companies:
            if not company.cgsms_account_id:
                continue
            # The cron user need not belong to every company.
            with policy.automated():
                self.sudo().with_company(company).with_context(
                    allowed_company_ids=[company.id]
                )._cgsms_send_scheduled_reminders(company)

    @api.model
    def _cgsms_send_scheduled_reminders(self, company):
        now = _company_now(company)
        if not _in_sending_window(company, now):
            return
        today = now.date()
        first_delay = max(company.cgsms_reminder_first_delay, 0)
        interval = max(company.cgsms_reminder_interval, 1)
        moves = self.search(
            compat.domain_and(
                [
                    self._cgsms_overdue_domain(today),
                    [
                        ("company_id", "=", company.id),
                        ("invoice_date_due", "<=", today - timedelta(days=first_delay)),
                    ],
                ]
            )
        )
        if not moves:
            return
        tz = pytz.timezone(company._cgsms_tz())
        last = {
            move.id: (step, date_max)
            for move, step, date_max in self.env["cgsms.reminder.log"]
            .sudo()
            ._read_group(
                [("move_id", "in", moves.ids), ("origin", "=", "scheduled")],
                ["move_id"],
                ["step:max", "date:max"],
            )
        }
        steps = {}
        for move in moves:
            last_step, last_date = last.get(move.id, (0, None))
            if last_step >= company.cgsms_reminder_max:
                continue
            if move.cgsms_last_reminder_date == today:
                continue  # already reminded today (e.g. by hand)
            if last_date:
                last_local = pytz.utc.localize(last_date).astimezone(tz).date()
                if (today - last_local).days < interval:
                    continue
            steps[move.id] = last_step + 1
        if not steps:
            return
        due = moves.filtered(lambda m: m.id in steps)
        groups, skipped = due._cgsms_reminder_groups()
        if skipped:
            note = _("The customer has no valid mobile number.")
            self.env["cgsms.reminder.log"].sudo().create(
                [
                    {
                        "move_id": move.id,
                        "partner_id": move.commercial_partner_id.id,
                        "origin": "scheduled",
                        "step": steps[move.id],
                        "state": "skipped",
                        "note": note,
                    }
                    for move in skipped
                ]
            )
        template = company._cgsms_reminder_template()
        if not template:
            _logger.warning("No SMS reminder template for company %s", company.id)
            return
        testing = compat.testing()
        account = company.cgsms_account_id.sudo()
        for group in groups:
            text = self._cgsms_render_reminder(group["moves"][0], template=template)
            if too_long_error(self.env, text):
                _logger.warning(
                    "SMS reminder of company %s not sent: the template gives a text over %s SMS",
                    company.id,
                    MAX_SEGMENTS,
                )
                continue
            cost = count_segments(text).segments * policy.price_for(account, group["number"])
            account.invalidate_recordset(["credit_available"])
            if not policy.has_credits(cost, account.credit_available):
                # Left for a later run, once credits are bought.
                _logger.warning(
                    "Not enough SMS credits for scheduled reminders of company %s", company.id
                )
                break
            self._cgsms_send_reminder_group(group, text, origin="scheduled", steps=steps)
            if not testing:
                # Each customer's SMS and its log are kept even if a later one fails.
                self.env.cr.commit()  # pylint: disable=invalid-commit
