from odoo import api, fields, models

from ..providers import PROVIDERS, BaseProvider
from ..providers.inbound import DEFAULT_START_KEYWORDS, DEFAULT_STOP_KEYWORDS

INBOUND_PATH = "/cgsms/in"


class CgsmsAccount(models.Model):
    """Replies (two-way SMS): where the provider posts the SMS customers send back, how long
    a reply is taken as an answer to the last SMS, and the words that opt a number out/in."""

    _inherit = "cgsms.account"

    inbound_url = fields.Char(
        "Replies URL",
        compute="_compute_inbound_url",
        groups="cgsms.group_cgsms_manager",
        help="Give this address to your provider as the incoming messages (inbound SMS) URL: "
        "the SMS your customers send back then appear in SMS > Replies.",
    )
    receives_replies = fields.Boolean(compute="_compute_inbound_url")
    reply_window_days = fields.Integer(
        "Reply window (days)",
        default=30,
        help="A reply is posted on the document of the last SMS sent to that number from "
        "this account within this many days; older or unknown numbers stay unmatched in "
        "Replies.",
    )
    reply_stop_keywords = fields.Char(
        "Opt-out words",
        default=DEFAULT_STOP_KEYWORDS,
        help="A reply made of one of these words (any case, comma-separated) puts the number "
        "on the opt-out list: no SMS is sent to it any more.",
    )
    reply_start_keywords = fields.Char(
        "Opt-in words",
        default=DEFAULT_START_KEYWORDS,
        help="A reply made of one of these words takes the number off the opt-out list.",
    )

    @api.depends("provider")
    def _compute_inbound_url(self):
        for account in self:
            receives = PROVIDERS.get(account.provider, BaseProvider).receives_replies
            account.receives_replies = receives
            account.inbound_url = account._inbound_url() if account.id and receives else False

    def _inbound_url(self):
        self.ensure_one()
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return f"{base.rstrip('/')}{INBOUND_PATH}/{self.provider}/{self.id}"
