import logging
from dataclasses import dataclass
from uuid import uuid4

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.rendering_tools import parse_inline_template

from .. import compat
from ..tools.phone import REASON_MISSING, REASON_NOT_MOBILE, normalize_number, split_free_numbers
from ..tools.sms_segments import count_segments

_logger = logging.getLogger(__name__)

# A longer text is almost always a mistake (a pasted document) and costs a fortune.
MAX_SEGMENTS = 10
# Up to this many recipients are sent while the user waits; more go through the SMS queue.
DIRECT_SEND_LIMIT = 100
# Failures worth another try; delivered, sent and invalid numbers never are.
RESENDABLE_CLASSES = ("temporary", "rate_limited", "auth", "insufficient_credit", "unknown")
# How many skipped numbers the form lists before summing up the rest.
PREVIEW_LINES = 30
_PRECOMMIT_KEY = "cgsms.message.check_done"


@dataclass
class Target:
    """One number the send reaches, or one entry dropped before sending and why."""

    partner: object
    raw: str
    e164: str = ""
    error_class: str = ""
    reason: str = ""


class CgsmsMessage(models.Model):
    _name = "cgsms.message"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "SMS send"
    _order = "id desc"

    name = fields.Char(
        "Subject",
        tracking=True,
        copy=False,
        help="What this send is about, for your own history (not sent).",
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("scheduled", "Scheduled"),
            ("sending", "Sending"),
            ("done", "Sent"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users", "Responsible", default=lambda self: self.env.user, tracking=True
    )
    account_id = fields.Many2one(
        "cgsms.account",
        "SMS account",
        compute="_compute_account_id",
        store=True,
        readonly=True,
        help="The active SMS account of the company, which sends and charges this SMS.",
    )
    template_id = fields.Many2one(
        "sms.template",
        domain="[('model', '=', 'res.partner')]",
        help="Copies the template's text into the message; you can still change it.",
    )
    body = fields.Text(
        "Message", compute="_compute_body", store=True, readonly=False, tracking=True
    )
    group_ids = fields.Many2many(
        "cgsms.group",
        "cgsms_message_group_rel",
        "message_id",
        "group_id",
        string="Customer groups",
        domain="[('company_id', '=', company_id)]",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        "cgsms_message_partner_rel",
        "message_id",
        "partner_id",
        string="Customers",
        domain="[('parent_id', '=', False)]",
    )
    contact_ids = fields.Many2many(
        "res.partner",
        "cgsms_message_contact_rel",
        "message_id",
        "partner_id",
        string="Contacts",
        domain="[('parent_id', '!=', False)]",
        help="People of a company (contacts with a parent company).",
    )
    free_numbers = fields.Text(
        "Other numbers",
        help="Mobile numbers separated by ; or , or one per line. National numbers are read "
        "in the company's country.",
    )
    use_phone_fallback = fields.Boolean(
        "Use the phone when there is no mobile",
        help="By default only the mobile field is used. With this option a contact without a "
        "mobile number gets the SMS on their phone number, if it is a mobile one.",
    )
    scheduled_date = fields.Datetime(
        "Send on", copy=False, help="Leave empty to send now; else the SMS leaves at this time."
    )
    date_sent = fields.Datetime("Sent on", readonly=True, copy=False)

    # Live figures shown while the message is written.
    char_count = fields.Integer("Characters", compute="_compute_counters")
    segment_count = fields.Integer("SMS per recipient", compute="_compute_counters")
    encoding = fields.Char(compute="_compute_counters")
    cost_per_segment = fields.Float(
        "Credits per SMS", digits=(12, 4), compute="_compute_account_figures"
    )
    cost_per_segment_label = fields.Char("Price", compute="_compute_account_figures")
    credit_available = fields.Float(
        "Available credits", digits=(12, 4), compute="_compute_account_figures"
    )
    recipient_count = fields.Integer("Recipients", compute="_compute_preview")
    dropped_count = fields.Integer("Skipped", compute="_compute_preview")
    preview_html = fields.Html(
        "Skipped numbers", compute="_compute_preview", sanitize=False, readonly=True
    )
    estimated_cost = fields.Float("Total cost", digits=(12, 4), compute="_compute_estimated_cost")
    credit_short = fields.Boolean(compute="_compute_estimated_cost")

    # Results, one line per number.
    recipient_ids = fields.One2many("cgsms.recipient", "message_id", "SMS", readonly=True)
    total_count = fields.Integer("Numbers", compute="_compute_result_counts")
    queued_count = fields.Integer("Queued", compute="_compute_result_counts")
    sent_count = fields.Integer("Sent", compute="_compute_result_counts")
    delivered_count = fields.Integer("Delivered", compute="_compute_result_counts")
    failed_count = fields.Integer("Failed", compute="_compute_result_counts")
    cancelled_count = fields.Integer("Not sent", compute="_compute_result_counts")
    resendable_count = fields.Integer(compute="_compute_result_counts")
    progress = fields.Float(compute="_compute_result_counts")
    cost_total = fields.Float("Credits spent", digits=(12, 4), compute="_compute_result_counts")

    # ------------------------------------------------------------------ computes

    @api.depends("company_id")
    def _compute_account_id(self):
        Account = self.env["cgsms.account"]
        for message in self.filtered(lambda m: m.state in ("draft", "scheduled")):
            message.account_id = Account._get_active(message.company_id)

    @api.depends("template_id")
    def _compute_body(self):
        for message in self.filtered("template_id"):
            message.body = message.template_id.body

    @api.depends("body")
    def _compute_counters(self):
        for message in self:
            info = count_segments(message.body or "")
            message.char_count = info.chars
            message.segment_count = info.segments
            message.encoding = info.encoding

    @api.depends("account_id", "company_id", "state")
    def _compute_account_figures(self):
        Account = self.env["cgsms.account"]
        for message in self:
            # A draft is priced with the account that will send it (it may be set up later).
            if message.state in ("draft", "scheduled"):
                account = Account._get_active(message.company_id)
            else:
                account = message.account_id.sudo()
            message.cost_per_segment = account.cost_per_segment
            message.credit_available = account._credit_balances().get(account.id, 0.0)
            message.cost_per_segment_label = (
                _("1 SMS = %(cost)s credits", cost="%.4f" % account.cost_per_segment)
                if account
                else _("No active SMS account")
            )

    @api.depends(
        "state",
        "company_id",
        "group_ids",
        "partner_ids",
        "contact_ids",
        "free_numbers",
        "use_phone_fallback",
    )
    def _compute_preview(self):
        for message in self:
            if message.state not in ("draft", "scheduled"):
                message.recipient_count = len(
                    message.recipient_ids.filtered(lambda r: r.state != "cancelled")
                )
                message.dropped_count = message.cancelled_count
                message.preview_html = False
                continue
            targets = message._cgsms_resolve()
            dropped = [t for t in targets if t.error_class]
            message.recipient_count = len(targets) - len(dropped)
            message.dropped_count = len(dropped)
            message.preview_html = message._cgsms_preview_html(dropped)

    @api.depends("segment_count", "recipient_count", "cost_per_segment", "credit_available")
    def _compute_estimated_cost(self):
        for message in self:
            message.estimated_cost = round(
                message.segment_count * message.recipient_count * message.cost_per_segment, 4
            )
            message.credit_short = message.estimated_cost > message.credit_available + 1e-9

    @api.depends("recipient_ids.state", "recipient_ids.cost", "recipient_ids.error_class")
    def _compute_result_counts(self):
        stats = {}
        if self.ids:
            groups = self.env["cgsms.recipient"]._read_group(
                [("message_id", "in", self.ids)],
                ["message_id", "state", "error_class"],
                ["__count", "cost:sum"],
            )
            for message, state, error_class, count, cost in groups:
                entry = stats.setdefault(message.id, {"cost": 0.0, "resendable": 0})
                entry[state] = entry.get(state, 0) + count
                entry["cost"] += cost
                if state == "failed" and error_class in RESENDABLE_CLASSES:
                    entry["resendable"] += count
        for message in self:
            entry = stats.get(message._origin.id, {})
            queued = entry.get("queued", 0) + entry.get("sending", 0)
            sent = entry.get("sent", 0)
            delivered = entry.get("delivered", 0)
            failed = entry.get("failed", 0) + entry.get("unknown", 0)
            cancelled = entry.get("cancelled", 0)
            total = queued + sent + delivered + failed
            message.queued_count = queued
            message.sent_count = sent
            message.delivered_count = delivered
            message.failed_count = failed
            message.cancelled_count = cancelled
            message.total_count = total + cancelled
            message.resendable_count = entry.get("resendable", 0)
            message.cost_total = entry.get("cost", 0.0)
            message.progress = 100.0 * (sent + delivered + failed) / total if total else 0.0

    @api.depends("name")
    def _compute_display_name(self):
        for message in self:
            message.display_name = message.name or _("New SMS")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("name"):
                vals["name"] = self.env["ir.sequence"].next_by_code("cgsms.message") or _("SMS")
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(m.state in ("sending", "done") for m in self):
            raise UserError(
                _("An SMS already sent is kept as history. Archive or cancel drafts only.")
            )

    # ------------------------------------------------------------------ actions

    def action_send(self):
        for message in self:
            if message.state not in ("draft", "scheduled"):
                raise UserError(_("This SMS has already been sent."))
            message._cgsms_send_now()
        return True

    def action_schedule(self):
        for message in self:
            if not message.scheduled_date:
                raise UserError(_("Choose when to send the SMS (Send on) before scheduling it."))
            message._cgsms_check_sendable(message._cgsms_resolve())
            message.state = "scheduled"
            self.env.ref("cgsms.ir_cron_cgsms_message_send")._trigger(message.scheduled_date)
        return True

    def action_cancel(self):
        self.filtered(lambda m: m.state in ("draft", "scheduled")).state = "cancelled"
        return True

    def action_draft(self):
        self.filtered(lambda m: m.state in ("scheduled", "cancelled")).state = "draft"
        return True

    def action_resend_failed(self):
        self.ensure_one()
        lines = self.recipient_ids.filtered(
            lambda r: r.state == "failed" and r.error_class in RESENDABLE_CLASSES
        )
        if not lines:
            raise UserError(_("There is no failed SMS that can be sent again."))
        account = self.env["cgsms.account"]._get_active(self.company_id)
        account._ensure_usable()
        needed = (
            sum(count_segments(line.body).segments for line in lines) * account.cost_per_segment
        )
        self._cgsms_check_credits(account, needed)
        sms_vals = []
        for line in lines:
            sms_uuid = uuid4().hex
            line.sudo().write(
                {
                    "state": "queued",
                    "sms_uuid": sms_uuid,
                    "error_class": False,
                    "failure_reason": False,
                }
            )
            sms_vals.append(self._cgsms_sms_values(line, sms_uuid))
        self.state = "sending"
        self._cgsms_dispatch(self.env["sms.sms"].sudo().create(sms_vals))
        self.message_post(body=_("%(count)s failed SMS sent again.", count=len(lines)))
        return True

    def action_view_recipients(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cgsms.cgsms_recipient_action")
        action["domain"] = [("message_id", "=", self.id)]
        action["context"] = {"search_default_group_state": 1}
        return action

    # ------------------------------------------------------------------ cron

    @api.model
    def _cron_send_scheduled(self):
        """Send the scheduled SMS that are due, and close sends whose queue is empty."""
        testing = compat.testing()
        due = self.search(
            [("state", "=", "scheduled"), ("scheduled_date", "<=", fields.Datetime.now())]
        )
        for message in due:
            try:
                message._cgsms_send_now()
            except UserError as exc:
                message.state = "draft"
                message.message_post(
                    body=_("The scheduled SMS was not sent: %(error)s", error=exc.args[0])
                )
            if not testing:
                # one scheduled send per transaction: a failing one never undoes the others
                self.env.cr.commit()  # pylint: disable=invalid-commit
        self.search([("state", "=", "sending")])._cgsms_check_done()

    # ------------------------------------------------------------------ helpers

    def _cgsms_resolve(self):
        """Every entry of the send in order (customers, contacts, group members, typed
        numbers) as :class:`Target`: valid unique numbers first come first served, the others
        with the reason they are skipped."""
        self.ensure_one()
        default_country = self.company_id.country_id.code or None
        partners = self.env["res.partner"]
        seen_partners = set()
        ordered = []
        for partner in (
            self.partner_ids._origin
            | self.contact_ids._origin
            | self.group_ids._origin._get_members()
        ):
            if partner.id not in seen_partners:
                seen_partners.add(partner.id)
                ordered.append(partner)

        targets = []
        for partner in ordered:
            raw = partner.cgsms_mobile or (self.use_phone_fallback and partner.phone) or ""
            targets.append(
                self._cgsms_target(partner, raw, partner.country_id.code or default_country)
            )
        for raw in split_free_numbers(self.free_numbers):
            targets.append(self._cgsms_target(partners, raw, default_country))

        numbers = {t.e164 for t in targets if t.e164 and not t.error_class}
        blacklisted = set()
        if numbers:
            blacklisted = set(
                self.env["phone.blacklist"]
                .sudo()
                .search([("number", "in", list(numbers))])
                .mapped("number")
            )
        first_by_number = {}
        for target in targets:
            if target.error_class:
                continue
            first = first_by_number.get(target.e164)
            if first is not None:
                target.error_class = "duplicate"
                target.reason = (
                    _("Duplicate: same number as %(name)s", name=first.partner.display_name)
                    if first.partner
                    else _("Duplicate number")
                )
                continue
            first_by_number[target.e164] = target
            if target.e164 in blacklisted:
                target.error_class = "blacklisted"
                target.reason = _("Opted out")
        return targets

    def _cgsms_target(self, partner, raw, country):
        number = normalize_number(raw, country, mobile_only=True)
        target = Target(partner=partner, raw=raw, e164=number.e164)
        if number.valid:
            return target
        if number.reason == REASON_MISSING:
            target.error_class = "missing_number"
            target.reason = (
                _("No mobile or phone number") if self.use_phone_fallback else _("No mobile number")
            )
        else:
            target.error_class = "invalid_number"
            target.reason = (
                _("Not a mobile number")
                if number.reason == REASON_NOT_MOBILE
                else _("Invalid number")
            )
        return target

    def _cgsms_preview_html(self, dropped):
        if not dropped:
            return False
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td class='text-muted'>%s</td></tr>")
            % (
                target.partner.display_name or "",
                target.e164 or target.raw or "",
                target.reason,
            )
            for target in dropped[:PREVIEW_LINES]
        )
        more = ""
        if len(dropped) > PREVIEW_LINES:
            more = Markup("<p class='text-muted mb-0'>%s</p>") % _(
                "... and %(count)s more.", count=len(dropped) - PREVIEW_LINES
            )
        return Markup(
            "<table class='table table-sm o_cgsms_skipped mb-0'><thead><tr><th>%s</th>"
            "<th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>%s"
        ) % (_("Contact"), _("Number"), _("Why it is skipped"), rows, more)

    def _cgsms_render_bodies(self, targets):
        """The text each target receives: the message with its placeholders filled in for the
        target's contact (the placeholder's default, or nothing, for typed numbers)."""
        self.ensure_one()
        body = self.body or ""
        instructions = parse_inline_template(body)
        if not any(expression for _literal, expression, _default in instructions):
            return [body] * len(targets)
        partner_ids = list({t.partner.id for t in targets if t.partner})
        if self.template_id and self.template_id.body == body:
            rendered = self.template_id._render_field("body", partner_ids, compute_lang=True)
        else:
            rendered = self.env["mail.render.mixin"]._render_template(
                body, "res.partner", partner_ids
            )
        anonymous = "".join(literal + default for literal, _expr, default in instructions)
        return [rendered[t.partner.id] if t.partner else anonymous for t in targets]

    def _cgsms_check_sendable(self, targets, bodies=None):
        """Refuse, with what to do, a send that cannot go out. Returns the account."""
        self.ensure_one()
        account = self.env["cgsms.account"]._get_active(self.company_id)
        account._ensure_usable()
        if not (self.body or "").strip():
            raise UserError(_("Write the message before sending it."))
        valid = [t for t in targets if not t.error_class]
        if bodies is None:
            bodies = self._cgsms_render_bodies(valid)
        infos = [count_segments(body) for body in bodies]
        longest = max((info.segments for info in infos), default=count_segments(self.body).segments)
        if longest > MAX_SEGMENTS:
            raise UserError(
                _(
                    "The message is too long: %(segments)s SMS per recipient, at most "
                    "%(max)s are allowed. Shorten the text.",
                    segments=longest,
                    max=MAX_SEGMENTS,
                )
            )
        if not valid:
            raise UserError(
                _(
                    "No valid recipient: add customers, contacts or groups with a mobile "
                    "number, or type numbers."
                )
            )
        needed = sum(info.segments for info in infos) * account.cost_per_segment
        self._cgsms_check_credits(account, needed)
        return account, infos

    def _cgsms_check_credits(self, account, needed):
        available = account._credit_balances().get(account.id, 0.0)
        if needed > available + 1e-9:
            raise UserError(
                _(
                    "This send needs %(needed)s credits, only %(available)s available. "
                    "Buy a pack of credits.",
                    needed="%.4f" % needed,
                    available="%.4f" % available,
                )
            )

    def _cgsms_send_now(self):
        self.ensure_one()
        targets = self._cgsms_resolve()
        valid = [t for t in targets if not t.error_class]
        bodies = self._cgsms_render_bodies(valid)
        account, infos = self._cgsms_check_sendable(targets, bodies)

        base = {
            "company_id": self.company_id.id,
            "account_id": account.id,
            "message_id": self.id,
            "res_model": self._name,
            "res_id": self.id,
        }
        vals_list = []
        for target, body, info in zip(valid, bodies, infos, strict=True):
            vals_list.append(
                dict(
                    base,
                    partner_id=target.partner.id,
                    number=target.e164,
                    body=body,
                    state="queued",
                    sms_uuid=uuid4().hex,
                    segments=info.segments,
                    encoding=info.encoding,
                )
            )
        for target in targets:
            if target.error_class:
                vals_list.append(
                    dict(
                        base,
                        partner_id=target.partner.id,
                        number=target.e164 or target.raw,
                        body=self.body,
                        state="cancelled",
                        error_class=target.error_class,
                        failure_reason=target.reason,
                    )
                )
        lines = self.env["cgsms.recipient"].sudo().create(vals_list)
        to_send = lines[: len(valid)]
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create([self._cgsms_sms_values(line, line.sms_uuid) for line in to_send])
        )
        self.write(
            {"state": "sending", "account_id": account.id, "date_sent": fields.Datetime.now()}
        )
        self.message_post(
            body=_(
                "SMS sent to %(count)s numbers, %(skipped)s skipped.",
                count=len(valid),
                skipped=len(targets) - len(valid),
            )
        )
        self._cgsms_dispatch(sms)

    def _cgsms_sms_values(self, line, sms_uuid):
        return {
            "uuid": sms_uuid,
            "number": line.number,
            "body": line.body,
            "partner_id": line.partner_id.id,
            "cgsms_company_id": self.company_id.id,
            "cgsms_recipient_id": line.id,
            "state": "outgoing",
        }

    def _cgsms_dispatch(self, sms):
        """Small sends leave now; big ones go to Odoo's SMS queue so the browser never waits."""
        limit = self.env.context.get("cgsms_direct_send_limit")
        if limit is None:
            limit = int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("cgsms.direct_send_limit", DIRECT_SEND_LIMIT)
            )
        if len(sms) <= int(limit):
            sms.send(unlink_failed=True, unlink_sent=True, auto_commit=False, raise_exception=False)
            self._cgsms_check_done()
        else:
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
            self.env.ref("cgsms.ir_cron_cgsms_message_send").sudo()._trigger()

    def _cgsms_check_done(self):
        """Mark as sent the sends none of whose numbers is still waiting to leave."""
        sending = self.sudo().filtered(lambda m: m.state == "sending")
        if not sending:
            return
        pending = (
            self.env["cgsms.recipient"]
            .sudo()
            ._read_group(
                [("message_id", "in", sending.ids), ("state", "in", ("queued", "sending"))],
                ["message_id"],
            )
        )
        waiting = self.browse([message.id for (message,) in pending])
        (sending - waiting).write({"state": "done"})

    @api.model
    def _cgsms_check_done_later(self, message_ids):
        """Check at commit time (once per transaction) whether these sends are complete."""
        data = self.env.cr.precommit.data
        if _PRECOMMIT_KEY not in data:
            data[_PRECOMMIT_KEY] = set()
            self.env.cr.precommit.add(self._cgsms_precommit_check_done)
        data[_PRECOMMIT_KEY].update(message_ids)

    def _cgsms_precommit_check_done(self):
        ids = self.env.cr.precommit.data.get(_PRECOMMIT_KEY) or set()
        messages = self.sudo().browse(ids).exists()
        messages._cgsms_check_done()
        messages.flush_recordset(["state"])
