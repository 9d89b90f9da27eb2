"""The SMS that announces an issued customer invoice, sent once the posting is committed."""

import logging

from odoo import _, api, models

from ..engine import policy
from ..engine.policy import too_long_error

_logger = logging.getLogger(__name__)

_POSTED_SMS_KEY = "cgsms.posted_sms"


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._cgsms_schedule_posted_sms()
        return posted

    def _cgsms_schedule_posted_sms(self):
        """Announce newly posted customer invoices by SMS once the transaction is committed
        (never for a posting that is rolled back)."""
        moves = self.filtered(
            lambda m: (
                m.move_type == "out_invoice"
                and not m.cgsms_posted_sms_sent
                and m.company_id.cgsms_invoice_post_sms
            )
        )
        if not moves:
            return
        postcommit = self.env.cr.postcommit
        pending = postcommit.data.get(_POSTED_SMS_KEY)
        if pending is None:
            pending = postcommit.data[_POSTED_SMS_KEY] = set()
            postcommit.add(self._cgsms_posted_sms_callback(pending))
        pending.update(moves.ids)

    def _cgsms_posted_sms_callback(self, pending):
        registry, uid, context = self.env.registry, self.env.uid, dict(self.env.context)

        def send_posted_sms():
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, uid, context)
                    moves = env["account.move"].browse(sorted(pending)).exists()
                    moves._cgsms_send_posted_sms()
            except Exception:
                _logger.exception("Issued-invoice SMS could not be sent for %s", sorted(pending))

        return send_posted_sms

    def _cgsms_send_posted_sms(self):
        """Send the issued-invoice SMS of these invoices (at most once per invoice)."""
        for move in self:
            company = move.company_id
            if (
                move.state != "posted"
                or move.move_type != "out_invoice"
                or move.cgsms_posted_sms_sent
                or not company.cgsms_invoice_post_sms
            ):
                continue
            template = company._cgsms_invoice_post_template()
            if not company.cgsms_account_id or not template:
                continue
            move.sudo().cgsms_posted_sms_sent = True
            partner, number = move._cgsms_reminder_recipient()
            if not number:
                move._message_log(
                    body=_(
                        "No SMS sent for this invoice: %(partner)s has no valid mobile number.",
                        partner=partner.display_name,
                    )
                )
                continue
            body = template._render_field("body", move.ids, compute_lang=True)[move.id]
            text = company.cgsms_account_id.sudo()._cgsms_prepare_rendered(body)
            if error := too_long_error(self.env, text):
                move._message_log(body=_("No SMS sent for this invoice: %(error)s", error=error))
                continue
            # Set up by an administrator: sent whoever posts the invoice.
            with policy.automated():
                move._message_sms(
                    text,
                    partner_ids=partner.ids,
                    sms_pid_to_number={partner.id: number},
                )
