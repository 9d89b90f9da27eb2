"""SMS Marketing mailings sent through CgSMS.

Who answers for a mailing: the person who presses *Send*, *Schedule* or *Send now*, and its
responsible user, checked again when the Mail Marketing cron sends it (never the cron's own
user). A mailing the credits cannot cover is refused before any SMS leaves: never half-sent.
"""

from odoo import api, fields, models
from odoo.addons.cgsms.engine import policy
from odoo.addons.cgsms.tools.sms_segments import count_segments
from odoo.exceptions import UserError

# The form prices each number up to this many recipients; a bigger mailing is shown at the
# account's price per SMS (Send and Schedule always price each number).
FORM_PRICED_LIMIT = 2000


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    cgsms_recipient_count = fields.Integer("SMS recipients", compute="_compute_cgsms_figures")
    cgsms_segment_count = fields.Integer(
        "SMS per recipient",
        compute="_compute_cgsms_figures",
        help="As the text leaves, with the opt-out link when it is added.",
    )
    cgsms_estimated_cost = fields.Float(
        "SMS cost", digits=(12, 4), compute="_compute_cgsms_figures"
    )
    cgsms_credit_available = fields.Float(
        "Available SMS credits", digits=(12, 4), compute="_compute_cgsms_figures"
    )
    cgsms_active = fields.Boolean("Sent through CgSMS", compute="_compute_cgsms_figures")
    cgsms_credit_short = fields.Boolean("Not enough SMS credits", compute="_compute_cgsms_figures")

    @api.depends(
        "mailing_type",
        "body_plaintext",
        "sms_allow_unsubscribe",
        "mailing_model_id",
        "mailing_domain",
        "contact_list_ids",
        "state",
    )
    @api.depends_context("company")
    def _compute_cgsms_figures(self):
        account = self.env["cgsms.account"]._get_active(self.env.company)
        for mailing in self:
            figures = (
                mailing._cgsms_figures(account, estimate=True)
                if account and mailing.mailing_type == "sms" and mailing.state != "done"
                else {}
            )
            mailing.cgsms_active = bool(figures)
            mailing.cgsms_recipient_count = figures.get("recipients", 0)
            mailing.cgsms_segment_count = figures.get("segments", 0)
            mailing.cgsms_estimated_cost = figures.get("cost", 0.0)
            mailing.cgsms_credit_available = figures.get("available", 0.0)
            mailing.cgsms_credit_short = bool(figures) and not policy.has_credits(
                figures["cost"], figures["available"]
            )

    # ------------------------------------------------------------------ Send, Schedule, Send now

    def action_put_in_queue(self):
        # Send and Schedule (and the schedule's dialog) end here: the person who presses
        # them, and the responsible user the cron will send for, must be allowed to.
        for mailing in self.filtered(lambda m: m.mailing_type == "sms"):
            error = mailing._cgsms_refusal()
            if error:
                raise UserError(error)
        return super().action_put_in_queue()

    def action_send_sms(self, res_ids=None):
        """Send now, or the Mail Marketing cron: each mailing is checked first (its
        responsible user, the person acting unless it is the cron, the credits) and sent
        in its responsible user's name."""
        for mailing in self:
            error = mailing._cgsms_refusal(res_ids)
            if error:
                if not self.env.user._is_superuser():
                    raise UserError(error)
                mailing._cgsms_stop(error)  # the cron: told to its responsible user
                continue
            with policy.sent_by(mailing._cgsms_responsible()):
                super(MailingMailing, mailing).action_send_sms(res_ids=res_ids)
        return True

    # ------------------------------------------------------------------ helpers

    def _cgsms_responsible(self):
        return (self.user_id or self.write_uid or self.create_uid or self.env.user).sudo(False)

    def _cgsms_refusal(self, res_ids=None):
        """Why this SMS mailing may not be sent now through CgSMS (a translated sentence),
        or an empty string. Mailings of a company without a CgSMS account keep Odoo's way."""
        self.ensure_one()
        company = self.env.company
        account = self.env["cgsms.account"]._get_active(company)
        if not account:
            return ""
        users = self._cgsms_responsible()
        if not self.env.user._is_superuser():
            users = self.env.user | users
        for user in users:
            if not policy.may_send(self.env, company, user):
                return policy.sender_error(self.env, company, user)
        figures = self._cgsms_figures(account, res_ids)
        if not policy.has_credits(figures["cost"], figures["available"]):
            return policy.credits_error(self.env, figures["cost"], figures["available"])
        return ""

    def _cgsms_figures(self, account, res_ids=None, estimate=False):
        """Recipients, SMS per recipient (opt-out link counted), cost and credits available
        of this mailing through ``account`` (``estimate``: a big mailing at the account's
        price, without reading every number)."""
        self.ensure_one()
        mailing_id = self._origin.id or 0  # a new mailing on its form has sent nothing yet
        if res_ids:
            ids = res_ids
        elif mailing_id == self.id:
            ids = self._get_remaining_recipients()
        else:
            sent = self.env["mailing.trace"].search(
                [("mass_mailing_id", "=", mailing_id), ("model", "=", self.mailing_model_real)]
            )
            sent_ids = set(sent.mapped("res_id"))
            ids = [res_id for res_id in self._get_recipients() if res_id not in sent_ids]
        records = self.env[self.mailing_model_real].browse(ids)
        text = self.body_plaintext or ""
        if self.sms_allow_unsubscribe:
            code = "x" * self.env["mailing.trace"].CODE_SIZE
            url = f"{self.get_base_url()}/sms/{mailing_id}/{code}"
            text = f"{text}\n{self.env['sms.composer']._get_unsubscribe_info(url)}"
        segments = count_segments(account._cgsms_prepare_body(text)).segments
        prices = []
        if estimate and len(ids) > FORM_PRICED_LIMIT:
            prices = [account.cost_per_segment] * len(ids)
        elif records and hasattr(records, "_sms_get_recipients_info"):
            infos = records._sms_get_recipients_info()
            numbers = [info["sanitized"] for info in infos.values() if info.get("sanitized")]
            # Opted-out numbers are skipped when the mailing is sent: not counted here either.
            opted_out = set(
                self.env["phone.blacklist"]
                .sudo()
                .search([("number", "in", numbers)])
                .mapped("number")
            )
            for number in numbers:
                if number not in opted_out:
                    where = policy.destination(account, number)
                    if where.allowed:
                        prices.append(where.price)
        available = account.sudo()._credit_balances().get(account.id, 0.0)
        return {
            "recipients": len(prices),
            "segments": segments,
            "cost": round(segments * sum(prices), 4),
            "available": available,
        }

    def _cgsms_stop(self, error):
        """The cron found the mailing may not be sent: back to draft, nothing sent, its
        responsible user told why."""
        responsible = self._cgsms_responsible()
        self.action_cancel()
        self.with_context(lang=responsible.lang or None).message_post(
            body=self.with_context(lang=responsible.lang or None).env._(
                "The SMS mailing was not sent: %(error)s", error=error
            ),
            partner_ids=responsible.partner_id.ids,
        )
