import logging
import secrets
from dataclasses import dataclass
from uuid import uuid4

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, split_every
from odoo.tools.misc import formatLang
from odoo.tools.rendering_tools import parse_inline_template

from .. import compat
from ..tools.phone import REASON_MISSING, REASON_NOT_MOBILE, normalize_number, split_free_numbers
from ..tools.placeholders import render_without_contact
from ..tools.sms_segments import count_segments

_logger = logging.getLogger(__name__)

# A longer text is almost always a mistake (a pasted document) and costs a fortune.
MAX_SEGMENTS = 10
# Up to this many recipients are sent while the user waits; more go through the SMS queue.
DIRECT_SEND_LIMIT = 100
# Failures worth another try; delivered, sent and invalid numbers never are.
RESENDABLE_CLASSES = ("temporary", "rate_limited", "auth", "insufficient_credit", "unknown")
# Queued again after these: the SMS queue retries them later (or now, with Retry now).
RETRY_CLASSES = ("temporary", "rate_limited")
# How many skipped numbers the form lists before summing up the rest.
PREVIEW_LINES = 30
_PRECOMMIT_KEY = "cgsms.message.check_done"
# What the send says and to whom: whoever changes them becomes the send's last author.
CONTENT_FIELDS = frozenset(
    {
        "body",
        "template_id",
        "group_ids",
        "partner_ids",
        "contact_ids",
        "free_numbers",
        "use_phone_fallback",
        "company_id",
    }
)
# Set by the actions only (never by a client request): the state and who acts for the send.
PROTECTED_FIELDS = frozenset({"state", "scheduled_by_id", "body_author_id"})
# The actions put this in the context to change the state; a JSON-RPC client cannot know it.
_STATE_TOKEN = secrets.token_hex(16)
TEXT_FIELDS = ("name", "body", "free_numbers")


def refuse_nul(env, vals, fnames):
    """PostgreSQL cannot store a NUL character: refuse it with a sentence, not a traceback."""
    for fname in fnames:
        value = vals.get(fname)
        if isinstance(value, str) and "\x00" in value:
            raise UserError(
                env._(
                    "The text contains an invisible control character (NUL). Type it again, "
                    "or paste it as plain text."
                )
            )


# A send is composed this many numbers at a time (contacts read, lines and SMS created, then
# forgotten by the ORM cache), so a send to 100,000 people needs no more memory than a small one.
COMPOSE_CHUNK = 2000


@dataclass(slots=True)
class Target:
    """One number the send reaches, or one entry dropped before sending and why."""

    partner: object
    raw: str
    e164: str = ""
    error_class: str = ""
    reason: str = ""


def too_long_error(env, text):
    """The error for an SMS text over the cap of :data:`MAX_SEGMENTS`, or an empty string."""
    segments = count_segments(text or "").segments
    if segments <= MAX_SEGMENTS:
        return ""
    return env._(
        "The message is too long: %(segments)s SMS per recipient, at most "
        "%(max)s are allowed. Shorten the text.",
        segments=segments,
        max=MAX_SEGMENTS,
    )


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
    scheduled_by_id = fields.Many2one(
        "res.users",
        "Scheduled by",
        readonly=True,
        copy=False,
        help="A scheduled SMS is written and sent with the rights and companies of this user.",
    )
    body_author_id = fields.Many2one(
        "res.users",
        "Last changed by",
        readonly=True,
        copy=False,
        help="Who last changed the text or the recipients. The text is never rendered with "
        "more rights than this user has.",
    )

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
    gsm7_safe = fields.Boolean("Replace accented letters", compute="_compute_account_figures")
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
    retry_count = fields.Integer(
        "Waiting for a retry",
        compute="_compute_result_counts",
        help="SMS the provider could not take yet (down, or limiting the rate): they are sent "
        "again automatically, or now with Retry now.",
    )
    progress = fields.Float(compute="_compute_result_counts")
    cost_total = fields.Float("Credits spent", digits=(12, 4), compute="_compute_result_counts")

    # ------------------------------------------------------------------ computes

    @api.depends("company_id")
    def _compute_account_id(self):
        Account = self.env["cgsms.account"]
        for message in self.filtered(lambda m: m.state in ("draft", "scheduled")):
            allowed = message._cgsms_company_allowed(message.company_id)
            message.account_id = Account._get_active(message.company_id) if allowed else Account

    @api.depends("template_id")
    def _compute_body(self):
        for message in self.filtered("template_id"):
            message.body = message.template_id.body

    @api.depends("body", "company_id")
    def _compute_counters(self):
        for message in self:
            account = self.env["cgsms.account"]._get_active(message.company_id)
            info = count_segments(
                account._cgsms_prepare_body(message.body) if account else message.body
            )
            message.char_count = info.chars
            message.segment_count = info.segments
            message.encoding = info.encoding

    @api.depends("account_id", "company_id", "state")
    def _compute_account_figures(self):
        Account = self.env["cgsms.account"]
        for message in self:
            # A draft is priced with the account that will send it (it may be set up later).
            if not message._cgsms_company_allowed(message.company_id):
                account = Account  # never another company's figures
            elif message.state in ("draft", "scheduled"):
                account = Account._get_active(message.company_id)
            else:
                account = message.account_id.sudo()
            message.cost_per_segment = account.cost_per_segment
            message.credit_available = account._credit_balances().get(account.id, 0.0)
            message.gsm7_safe = account.gsm7_safe
            message.cost_per_segment_label = (
                _(
                    "1 SMS = %(cost)s credits",
                    cost=formatLang(self.env, account.cost_per_segment, digits=4),
                )
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
                entry = stats.setdefault(message.id, {"cost": 0.0, "resendable": 0, "retry": 0})
                entry[state] = entry.get(state, 0) + count
                entry["cost"] += cost
                if state == "failed" and error_class in RESENDABLE_CLASSES:
                    entry["resendable"] += count
                if state == "queued" and error_class in RETRY_CLASSES:
                    entry["retry"] += count
                if state == "cancelled" and error_class == "duplicate":
                    # the number got the SMS through its first entry: not another number
                    entry["cancelled"] -= count
        for message in self:
            entry = stats.get(message._origin.id, {})
            # "checking": looked up at the provider before it may be sent again
            queued = entry.get("queued", 0) + entry.get("sending", 0) + entry.get("checking", 0)
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
            message.retry_count = entry.get("retry", 0)
            message.cost_total = entry.get("cost", 0.0)
            message.progress = 100.0 * (sent + delivered + failed) / total if total else 0.0

    @api.depends("name")
    def _compute_display_name(self):
        for message in self:
            message.display_name = message.name or _("New SMS")

    @api.model_create_multi
    def create(self, vals_list):
        trusted = self._cgsms_trusted()
        for vals in vals_list:
            refuse_nul(self.env, vals, TEXT_FIELDS)
            if not trusted:
                if vals.get("state", "draft") != "draft":
                    raise UserError(self._cgsms_state_error())
                for fname in PROTECTED_FIELDS - {"state"}:
                    vals.pop(fname, None)
            if "company_id" in vals:
                self._cgsms_check_company(vals["company_id"])
            if not vals.get("name"):
                vals["name"] = self.env["ir.sequence"].next_by_code("cgsms.message") or _("SMS")
            vals.setdefault("body_author_id", self.env.uid)
        return super().create(vals_list)

    def write(self, vals):
        refuse_nul(self.env, vals, TEXT_FIELDS)
        if not self._cgsms_trusted():
            if "state" in vals:
                raise UserError(self._cgsms_state_error())
            vals = {k: v for k, v in vals.items() if k not in PROTECTED_FIELDS}
        self._cgsms_check_owner()
        if "company_id" in vals:
            self._cgsms_check_company(vals["company_id"])
        if CONTENT_FIELDS & set(vals):
            vals["body_author_id"] = self.env.uid
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(m.state in ("sending", "done") for m in self):
            raise UserError(
                _("An SMS already sent is kept as history. Archive or cancel drafts only.")
            )
        self._cgsms_check_owner()

    # ------------------------------------------------------------------ actions

    def action_send(self):
        for message in self:
            if message.state not in ("draft", "scheduled"):
                raise UserError(_("This SMS has already been sent."))
            message._cgsms_check_owner()
            message.with_context(cgsms_state_token=_STATE_TOKEN)._cgsms_send_now()
        return True

    def action_schedule(self):
        for message in self:
            if message.state not in ("draft", "scheduled"):
                raise UserError(_("This SMS has already been sent."))
            if not message.scheduled_date:
                raise UserError(_("Choose when to send the SMS (Send on) before scheduling it."))
            message._cgsms_check_owner()
            message._cgsms_check_sendable(message._cgsms_resolve())
            # The cron sends it as this user, with their rights and companies.
            message._cgsms_set_state("scheduled", scheduled_by_id=self.env.uid)
            self.env.ref("cgsms.ir_cron_cgsms_message_send").sudo()._trigger(message.scheduled_date)
        return True

    def action_cancel(self):
        self.filtered(lambda m: m.state in ("draft", "scheduled"))._cgsms_set_state("cancelled")
        return True

    def action_draft(self):
        self.filtered(lambda m: m.state in ("scheduled", "cancelled"))._cgsms_set_state("draft")
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
        self._cgsms_set_state("sending")
        self._cgsms_dispatch(self.env["sms.sms"].sudo().create(sms_vals))
        self.message_post(body=_("%(count)s failed SMS queued again.", count=len(lines)))
        return True

    def action_retry_now(self):
        self.ensure_one()
        return self.recipient_ids.action_retry_now()

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
        due = self.sudo().search(
            [("state", "=", "scheduled"), ("scheduled_date", "<=", fields.Datetime.now())]
        )
        for message in due:
            try:
                # Never as the cron's superuser: as the user who scheduled it.
                as_user = message._cgsms_as_scheduler()
                as_user.with_context(cgsms_state_token=_STATE_TOKEN)._cgsms_send_now()
            except UserError as exc:
                message = message.with_context(lang=message.scheduled_by_id.lang or None)
                message._cgsms_set_state("draft")
                message.message_post(
                    body=message.env._(
                        "The scheduled SMS was not sent: %(error)s", error=exc.args[0]
                    )
                )
            if not testing:
                # one scheduled send per transaction: a failing one never undoes the others
                self.env.cr.commit()  # pylint: disable=invalid-commit
        self.search([("state", "=", "sending")])._cgsms_check_done()

    # ------------------------------------------------------------------ rights

    def _cgsms_trusted(self):
        """Whether the state and who acts for the send may change: inside our actions (or
        code running as superuser), never from a client's create/write."""
        return self.env.su or self.env.context.get("cgsms_state_token") == _STATE_TOKEN

    def _cgsms_state_error(self):
        return self.env._(
            "The state of an SMS changes only through its buttons (Send, Schedule, Cancel, "
            "Reset to draft)."
        )

    def _cgsms_set_state(self, state, **vals):
        return self.with_context(cgsms_state_token=_STATE_TOKEN).write(dict(vals, state=state))

    def _cgsms_check_owner(self):
        """A scheduled send is changed only by whoever scheduled it, or an SMS manager."""
        if self.env.su or self.env.user.has_group("cgsms.group_cgsms_manager"):
            return
        for message in self.sudo():
            if message.state == "scheduled" and message.scheduled_by_id != self.env.user:
                raise AccessError(
                    self.env._(
                        "Only %(user)s, who scheduled the SMS %(name)s, or an SMS manager can "
                        "change it.",
                        user=message.scheduled_by_id.name or "",
                        name=message.name or "",
                    )
                )

    def _cgsms_company_allowed(self, company):
        # The user, not env.su: stored computes run as superuser for any user.
        user = self.env.user
        return not company or user._is_superuser() or company in user.company_ids

    def _cgsms_check_company(self, company_id):
        company = self.env["res.company"].browse(company_id)
        if not self.env.su and not self._cgsms_company_allowed(company):
            raise AccessError(
                self.env._(
                    "You do not belong to the company %(company)s: an SMS of yours cannot be "
                    "sent from it.",
                    company=company.sudo().name,
                )
            )

    def _cgsms_as_scheduler(self):
        """This send in the environment of the user who scheduled it: their rights, their
        companies (the send's first) and their language. Refused when that user may no longer
        send SMS from the send's company."""
        self.ensure_one()
        message = self.sudo()
        user = message.scheduled_by_id or message.create_uid
        company = message.company_id
        if not (
            company in user.company_ids
            and (user._is_superuser() or (user.active and user.has_group("cgsms.group_cgsms_user")))
        ):
            raise AccessError(
                self.with_context(lang=user.lang or None).env._(
                    "%(user)s, who scheduled it, may no longer send SMS from %(company)s. "
                    "Schedule it again.",
                    user=user.name or "",
                    company=company.name,
                )
            )
        companies = company | user.company_ids
        return self.with_user(user).with_context(
            allowed_company_ids=companies.ids, lang=user.lang or None
        )

    def _cgsms_check_render_rights(self, body):
        """Placeholders with code run only for template editors, as in Odoo's templates:
        both the user sending and whoever last changed the text must be allowed to."""
        if self.template_id and self.template_id.body == body:
            return  # a saved template: only template editors can put code in one
        if not self.env["mail.render.mixin"]._has_unsafe_expression_template_inline_template(
            body, "res.partner"
        ):
            return
        users = self.env.user | self.sudo().body_author_id
        refused = users.filtered(
            lambda u: not (u._is_admin() or u.has_group("mail.group_mail_template_editor"))
        )
        if refused:
            raise AccessError(
                self.env._(
                    "This message has code in its placeholders, which only a template editor "
                    "may use, and %(users)s is not one. Use simple placeholders such as "
                    "{{ object.name }}.",
                    users=", ".join(refused.mapped("name")),
                )
            )

    # ------------------------------------------------------------------ helpers

    def _cgsms_resolve(self):
        """Every entry of the send in order (customers, contacts, group members, typed
        numbers) as :class:`Target`: valid unique numbers first come first served, the others
        with the reason they are skipped."""
        self.ensure_one()
        default_country = self.company_id.country_id.code or None
        Partner = self.env["res.partner"]
        # Only what the acting user may read in their companies; the rest is skipped, unnamed.
        listed = self.sudo()
        groups = listed.group_ids._origin
        visible_groups = groups.with_env(self.env)._filtered_access("read")
        targets = [
            Target(
                partner=Partner,
                raw="",
                error_class="no_access",
                reason=_("A group %(user)s may not see", user=self.env.user.name),
            )
            for _group in groups - visible_groups
        ]
        partner_ids = listed._cgsms_partner_ids(visible_groups)
        use_phone = self.use_phone_fallback
        mobile_field = compat.PARTNER_MOBILE_FIELD
        fnames = [mobile_field, "country_id"] + (["phone"] if use_phone else [])
        country_codes = {}
        # Only the numbers are read, a chunk at a time, and forgotten after each chunk.
        for ids in split_every(self._cgsms_compose_chunk(), partner_ids, list):
            visible = set(Partner.browse(ids)._filtered_access("read").ids)
            batch = Partner.browse([pid for pid in ids if pid in visible])
            batch.fetch(fnames)
            by_id = {partner.id: partner for partner in batch}
            for pid in ids:
                partner = by_id.get(pid)
                if partner is None:
                    targets.append(
                        Target(
                            partner=Partner,
                            raw="",
                            error_class="no_access",
                            reason=_("A contact %(user)s may not see", user=self.env.user.name),
                        )
                    )
                    continue
                raw = partner[mobile_field] or (use_phone and partner.phone) or ""
                country_id = partner.country_id.id
                if country_id and country_id not in country_codes:
                    country_codes[country_id] = partner.country_id.code
                country = country_codes.get(country_id) or default_country
                targets.append(self._cgsms_target(partner, raw, country))
            batch.invalidate_recordset(fnames)
        for raw in split_free_numbers(self.free_numbers):
            targets.append(self._cgsms_target(Partner, raw, default_country))

        numbers = list({t.e164 for t in targets if t.e164 and not t.error_class})
        blacklisted = set()
        if numbers:
            # The numbers are E.164 already, as the opt-out list stores them: looked up as they
            # are, a chunk at a time (its domain operator would format each of them again).
            self.env["phone.blacklist"].flush_model(["number", "active"])
            for chunk in split_every(50000, numbers, list):
                self.env.cr.execute(
                    SQL(
                        "SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)",
                        chunk,
                    )
                )
                blacklisted.update(number for (number,) in self.env.cr.fetchall())
        first_by_number = {}
        duplicates = []
        for target in targets:
            if target.error_class:
                continue
            first = first_by_number.get(target.e164)
            if first is not None:
                target.error_class = "duplicate"
                duplicates.append((target, first.partner.id))
                continue
            first_by_number[target.e164] = target
            if target.e164 in blacklisted:
                target.error_class = "blacklisted"
                target.reason = _("Opted out")
        if duplicates:
            names = self._cgsms_partner_names({pid for _t, pid in duplicates if pid})
            for target, first_id in duplicates:
                target.reason = (
                    _("Duplicate: same number as %(name)s", name=names[first_id])
                    if first_id
                    else _("Duplicate number")
                )
        return targets

    def _cgsms_partner_ids(self, groups):
        """Ids of the customers, contacts and members of ``groups`` (their filter applied
        with the rights of ``groups``' user), in order, once each, without the archived ones.
        Only ids are read: a send to 100,000 people loads no contact."""
        self.ensure_one()
        lists = [
            self.with_context(active_test=False).partner_ids._origin.ids,
            self.with_context(active_test=False).contact_ids._origin.ids,
        ]
        for group in groups:
            lists.append(group.sudo().with_context(active_test=False).partner_ids._origin.ids)
            lists.append(group._filter_partners().ids)
        ordered = list(dict.fromkeys(pid for ids in lists for pid in ids))
        archived = set()
        for ids in split_every(50000, ordered, list):
            archived.update(
                self.env["res.partner"]
                .with_context(active_test=False)
                .search([("id", "in", ids), ("active", "=", False)])
                .ids
            )
        return [pid for pid in ordered if pid not in archived]

    def _cgsms_compose_chunk(self):
        return max(1, int(self.env.context.get("cgsms_compose_chunk") or COMPOSE_CHUNK))

    def _cgsms_partner_names(self, partner_ids):
        """{partner id: display name}, read a chunk at a time."""
        names = {}
        for ids in split_every(self._cgsms_compose_chunk(), list(partner_ids), list):
            batch = self.env["res.partner"].browse(ids)
            names.update((partner.id, partner.display_name) for partner in batch)
            batch.invalidate_recordset()
        return names

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
        target's contact; for typed numbers the placeholder's default, or nothing without a
        stray space ("Olá, ..." rather than "Olá , ...")."""
        self.ensure_one()
        body = self.body or ""
        instructions = parse_inline_template(body)
        if not any(expression for _literal, expression, _default in instructions):
            return self._cgsms_prepare_bodies([body] * len(targets))
        self._cgsms_check_render_rights(body)
        partner_ids = list(dict.fromkeys(t.partner.id for t in targets if t.partner))
        rendered = {}
        for ids in split_every(self._cgsms_compose_chunk(), partner_ids, list):
            if self.template_id and self.template_id.body == body:
                rendered.update(self.template_id._render_field("body", ids, compute_lang=True))
            else:
                rendered.update(
                    self.env["mail.render.mixin"]._render_template(body, "res.partner", ids)
                )
            self.env["res.partner"].browse(ids).invalidate_recordset()
        anonymous = render_without_contact(instructions)
        bodies = [rendered[t.partner.id] if t.partner else anonymous for t in targets]
        return self._cgsms_prepare_bodies(bodies)

    def _cgsms_prepare_bodies(self, bodies):
        """The texts as they leave through the company's account (e.g. accents replaced)."""
        account = self.env["cgsms.account"]._get_active(self.company_id)
        if not account:
            return bodies
        prepared = {body: account._cgsms_prepare_body(body) for body in set(bodies)}
        return [prepared[body] for body in bodies]

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
        infos = []
        by_body = {}  # most sends have one text for everyone: count it once
        for body in bodies:
            info = by_body.get(body)
            if info is None:
                info = by_body[body] = count_segments(body)
            infos.append(info)
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
                    needed=formatLang(self.env, needed, digits=4),
                    available=formatLang(self.env, available, digits=4),
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
        Recipient = self.env["cgsms.recipient"].sudo()
        Sms = self.env["sms.sms"].sudo()
        chunk = self._cgsms_compose_chunk()
        sms_ids = []
        for start in range(0, len(valid), chunk):
            stop = start + chunk
            lines = Recipient.create(
                [
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
                    for target, body, info in zip(
                        valid[start:stop], bodies[start:stop], infos[start:stop], strict=True
                    )
                ]
            )
            sms = Sms.create([self._cgsms_sms_values(line, line.sms_uuid) for line in lines])
            sms_ids += sms.ids
            self._cgsms_compose_release(lines, sms)
        dropped = [t for t in targets if t.error_class]
        for start in range(0, len(dropped), chunk):
            lines = Recipient.create(
                [
                    dict(
                        base,
                        partner_id=target.partner.id,
                        number=target.e164 or target.raw,
                        body=self.body,
                        state="cancelled",
                        error_class=target.error_class,
                        failure_reason=target.reason,
                    )
                    for target in dropped[start : start + chunk]
                ]
            )
            self._cgsms_compose_release(lines)
        sms = Sms.browse(sms_ids)
        self.write(
            {"state": "sending", "account_id": account.id, "date_sent": fields.Datetime.now()}
        )
        self._cgsms_dispatch(sms)
        if self.state == "sending":
            # Nothing says "sent" before the SMS have left: _cgsms_check_done does, when they do.
            self.message_post(body=self._cgsms_queued_summary())

    def _cgsms_compose_release(self, *records):
        """Write a composed chunk to the database and drop it from the ORM cache."""
        self.env.flush_all()
        for recs in records:
            recs.invalidate_recordset(flush=False)
        self.invalidate_recordset(["recipient_ids"], flush=False)

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
            self._cgsms_queue_big_send(sms)

    def _cgsms_queue_big_send(self, sms):
        """Hand the SMS of a big send to the background workers (the SMS queue cron here;
        cgsms_queue_job adds its jobs), from the sender's transaction."""
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        self.env.ref("cgsms.ir_cron_cgsms_message_send").sudo()._trigger()

    def _cgsms_check_done(self):
        """Mark as sent the sends none of whose numbers is still waiting to leave."""
        sending = self.sudo().filtered(lambda m: m.state == "sending")
        if not sending:
            return
        # Whether one number still waits, not how many: this runs at each commit of the
        # delivery engine, and a send may have hundreds of thousands of numbers.
        self.env["cgsms.recipient"].flush_model(["message_id", "state"])
        self.env.cr.execute(
            """
            SELECT m.id FROM unnest(%s::int[]) AS m(id)
             WHERE EXISTS (
                SELECT 1 FROM cgsms_recipient r
                 WHERE r.message_id = m.id AND r.state IN ('queued', 'sending', 'checking')
             )
            """,
            [sending.ids],
        )
        waiting = self.browse([row[0] for row in self.env.cr.fetchall()])
        done = sending - waiting
        done.write({"state": "done"})
        for message in done:
            message.message_post(body=message._cgsms_done_summary())

    def _cgsms_queued_summary(self):
        self.ensure_one()
        queued = self.queued_count
        if self.retry_count:
            return _(
                "%(count)s SMS queued: the provider could not take them yet. They are sent "
                "again automatically; nothing has left for them yet.",
                count=queued,
            )
        return _("%(count)s SMS queued: they are leaving in the background.", count=queued)

    def _cgsms_done_summary(self):
        """What left, in words that are right for one number as for many."""
        self.ensure_one()
        left = self.sent_count + self.delivered_count
        parts = [
            _("SMS sent to 1 number.")
            if left == 1
            else _("SMS sent to %(count)s numbers.", count=left)
        ]
        if self.failed_count:
            parts.append(
                _("1 failed.")
                if self.failed_count == 1
                else _("%(count)s failed.", count=self.failed_count)
            )
        if self.cancelled_count:
            parts.append(
                _("1 number skipped.")
                if self.cancelled_count == 1
                else _("%(count)s numbers skipped.", count=self.cancelled_count)
            )
        return " ".join(parts)

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
