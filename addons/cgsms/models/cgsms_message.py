import logging
import secrets
from uuid import uuid4

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..engine import compose, policy
from ..tools.sms_segments import count_segments

_logger = logging.getLogger(__name__)

# Up to this many recipients are sent while the user waits; more go through the SMS queue.
DIRECT_SEND_LIMIT = 100
# Failures worth another try; delivered, sent and invalid numbers never are.
RESENDABLE_CLASSES = ("temporary", "rate_limited", "auth", "insufficient_credit", "unknown")
# Queued again after these: the SMS queue retries them later (or now, with Retry now).
RETRY_CLASSES = ("temporary", "rate_limited")
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
            # One definition of "skipped" (readme/USAGE.md), the same as the form's before
            # sending: every entry that gets no SMS of its own, repeated numbers included.
            # "Numbers" is every entry, the lines of the Recipients tab.
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
        needed = sum(
            count_segments(line.body).segments * policy.price_for(account, line.number)
            for line in lines
        )
        policy.check_credits(self.env, account, needed)
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

    # ------------------------------------------------------------------ helpers

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

    # ------------------------------------------------------------------ composing (engine.compose)

    def _cgsms_resolve(self):
        """Every entry of the send as :class:`~..engine.targets.Target`, in order."""
        return compose.resolve(self)

    def _cgsms_check_sendable(self, targets, bodies=None):
        return compose.check_sendable(self, targets, bodies)

    def _cgsms_send_now(self):
        return compose.send_now(self)

    def _cgsms_sms_values(self, line, sms_uuid):
        return compose.sms_values(self, line, sms_uuid)

    def _cgsms_check_done(self):
        """Mark as sent the sends none of whose numbers is still waiting to leave."""
        return compose.check_done(self)

    @api.model
    def _cgsms_check_done_later(self, message_ids):
        """Check at commit time (once per transaction) whether these sends are complete."""
        return compose.check_done_later(self, message_ids)
