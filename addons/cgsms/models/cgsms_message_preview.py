from markupsafe import Markup

from odoo import _, api, fields, models

from ..engine import policy
from ..tools.sms_segments import count_segments

# How many skipped numbers the form lists before summing up the rest.
PREVIEW_LINES = 30


class CgsmsMessage(models.Model):
    """What the send form shows while the message is written: characters and SMS per
    recipient as the text leaves, the price, the recipients and the numbers skipped (with
    why), the total cost against the credits available."""

    _inherit = "cgsms.message"

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
    price_total = fields.Float(
        "Credits per SMS, all recipients",
        digits=(12, 4),
        compute="_compute_preview",
        help="The price of one SMS to each recipient, by destination, added up.",
    )
    cgsms_neutralized = fields.Boolean(related="company_id.cgsms_neutralized")
    estimated_cost = fields.Float("Total cost", digits=(12, 4), compute="_compute_estimated_cost")
    credit_short = fields.Boolean(compute="_compute_estimated_cost")

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
                    cost=self.env["cgsms.credit.line"]._format_credits(account.cost_per_segment),
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
                message.price_total = message.recipient_count * message.cost_per_segment
                continue
            targets = message._cgsms_resolve()
            dropped = [t for t in targets if t.error_class]
            message.price_total = sum(t.price for t in targets if not t.error_class)
            message.recipient_count = len(targets) - len(dropped)
            message.dropped_count = len(dropped)
            message.preview_html = message._cgsms_preview_html(dropped)

    @api.depends("segment_count", "price_total", "credit_available")
    def _compute_estimated_cost(self):
        for message in self:
            message.estimated_cost = round(message.segment_count * message.price_total, 4)
            message.credit_short = not policy.has_credits(
                message.estimated_cost, message.credit_available
            )

    def _cgsms_preview_html(self, dropped):
        if not dropped:
            return False
        # The number as it was typed (on the contact or in the form), so that two spellings
        # of one number can be told apart; its international form when it differs.
        rows = Markup("").join(
            Markup(
                "<tr><td>%s</td><td class='text-nowrap'>%s%s</td>"
                "<td class='text-muted'>%s</td></tr>"
            )
            % (
                target.partner.display_name or "",
                target.raw or target.e164 or "",
                Markup(" <small class='text-muted'>(%s)</small>") % target.e164
                if target.e164 and target.raw and target.e164 != target.raw
                else "",
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
