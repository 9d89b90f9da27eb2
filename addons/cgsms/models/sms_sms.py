import logging
from datetime import timedelta

from odoo import _, api, fields, models

from .. import compat
from ..providers import OutgoingSms
from ..tools.phone import normalize_number
from ..tools.sms_segments import count_segments

_logger = logging.getLogger(__name__)

# After this many temporary failures (provider down, rate limited) an SMS is given up.
MAX_ATTEMPTS = 5
# An SMS left "sending" longer than this was interrupted between the provider call and the
# commit: it may have left, so it is flagged for a person to check instead of being resent.
STALE_SENDING = timedelta(minutes=15)

# Our error classes mapped onto Odoo's sms.sms failure types (None: provider error kept
# as the notification's failure reason, see sms.tracker._action_update_from_provider_error).
FAILURE_TYPES = {
    "auth": "sms_acc",
    "insufficient_credit": "sms_credit",
    "invalid_number": "sms_number_format",
    "missing_number": "sms_number_missing",
    "rate_limited": "sms_server",
    "temporary": "sms_server",
    "blacklisted": "sms_blacklist",
    "duplicate": "sms_duplicate",
    "rejected": None,
    "unknown": None,
}


class SmsSms(models.Model):
    _inherit = "sms.sms"

    cgsms_company_id = fields.Many2one(
        "res.company",
        "Sending company",
        default=lambda self: self.env.company,
        help="The company whose SMS account sends this SMS.",
    )
    cgsms_recipient_id = fields.Many2one(
        "cgsms.recipient", "SMS history line", index="btree_not_null", ondelete="set null"
    )

    @api.model_create_multi
    def create(self, vals_list):
        # An SMS about a document is sent with the account of the document's company.
        message_ids = {v["mail_message_id"] for v in vals_list if v.get("mail_message_id")}
        companies = {}
        if message_ids:
            for message in self.env["mail.message"].sudo().browse(message_ids):
                company = message.record_company_id
                if company:
                    companies[message.id] = company.id
        for vals in vals_list:
            if not vals.get("cgsms_company_id") and vals.get("mail_message_id") in companies:
                vals["cgsms_company_id"] = companies[vals["mail_message_id"]]
        return super().create(vals_list)

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        testing = compat.testing()
        commit = bool(auto_commit) and not testing
        return super(SmsSms, self.with_context(cgsms_commit=commit)).send(
            unlink_failed=unlink_failed,
            unlink_sent=unlink_sent,
            raise_exception=raise_exception,
            **compat.sms_send_kwargs(auto_commit),
        )

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Route SMS of companies with an active CgSMS account through their provider; the
        others keep Odoo's own path (IAP, or whatever another module plugs in)."""
        if compat.SMS_API_PLUGIN:  # Odoo 19.0 routes per SMS API: models/sms_api_cgsms.py
            return super()._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        company_ids = set(self.cgsms_company_id.ids)
        accounts = (
            self.env["cgsms.account"]._get_active_by_company(company_ids) if company_ids else {}
        )
        ours = self.filtered(lambda s: s.cgsms_company_id.id in accounts)
        for company, sms_batch in ours.grouped("cgsms_company_id").items():
            sms_batch._cgsms_send(accounts[company.id], unlink_failed, unlink_sent)
        others = self - ours
        if others:
            return super(SmsSms, others)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        return None

    # ------------------------------------------------------------------ CgSMS sending

    def _cgsms_send(self, account, unlink_failed=False, unlink_sent=True):
        account = account.sudo()
        sms_all = self.sudo().with_context(sms_skip_msg_notification=True)
        sms_all._cgsms_ensure_recipients(account)

        # Exactly once: an SMS whose history line already left is never handed over again.
        done = sms_all.filtered(
            lambda s: s.cgsms_recipient_id.state in ("sending", "sent", "delivered")
        )
        for sms in done:
            _logger.info("SMS %s already handed to the provider: not sent again", sms.id)
            sms.write({"state": "pending", "failure_type": False, "to_delete": unlink_sent})
        todo = sms_all - done

        default_country = account.company_id.country_id.code or None
        to_send = []  # (sms, e164, segment info)
        for sms in todo:
            country = sms.partner_id.country_id.code or default_country
            number = normalize_number(sms.number or "", country)
            if not number.valid:
                error_class = "missing_number" if number.reason == "missing" else "invalid_number"
                sms._cgsms_fail(
                    error_class,
                    _("No mobile number.")
                    if error_class == "missing_number"
                    else _("Invalid number %(number)s.", number=sms.number),
                    unlink_failed,
                )
                continue
            if not (sms.body or "").strip():
                sms._cgsms_fail("rejected", _("The message is empty."), unlink_failed)
                continue
            to_send.append((sms, number.e164, count_segments(sms.body)))
        if not to_send:
            sms_all.mail_message_id._notify_message_notification_update()
            return

        # Reserve the credits under a row lock so concurrent sends cannot overdraw.
        account._lock()
        available = account._credit_balances().get(account.id, 0.0)
        reserved, debits = [], []
        for sms, e164, info in to_send:
            cost = round(info.segments * account.cost_per_segment, 4)
            if cost > available + 1e-9:
                sms._cgsms_fail(
                    "insufficient_credit",
                    _(
                        "Not enough SMS credits: this SMS needs %(cost)s, %(available)s left. "
                        "Buy a pack of credits.",
                        cost=cost,
                        available=round(available, 4),
                    ),
                    unlink_failed,
                )
                continue
            available -= cost
            recipient = sms.cgsms_recipient_id
            recipient.write(
                {
                    "state": "sending",
                    "number": e164,
                    "segments": info.segments,
                    "encoding": info.encoding,
                    "cost": cost,
                    "attempts": recipient.attempts + 1,
                    "error_class": False,
                    "failure_reason": False,
                }
            )
            debits.append(
                {
                    "account_id": account.id,
                    "kind": "debit",
                    "amount": -cost,
                    "segments": info.segments,
                    "recipient_id": recipient.id,
                    "reference": e164,
                }
            )
            reserved.append((sms, e164))
        if debits:
            self.env["cgsms.credit.line"].sudo().create(debits)
        if not reserved:
            sms_all.mail_message_id._notify_message_notification_update()
            return
        self.browse([s.id for s, _e in reserved]).sudo().write({"state": "process"})
        if self.env.context.get("cgsms_commit"):
            # From here the reservation and the "sending" mark survive a crash.
            self.env.cr.commit()  # pylint: disable=invalid-commit

        provider = account._provider()
        outgoing = [
            OutgoingSms(ref=sms.uuid, to=e164, body=sms.body, sender=account.sender or "")
            for sms, e164 in reserved
        ]
        try:
            results = provider.send(outgoing)
        except Exception:  # a bug in an adapter must not lose the queue
            _logger.exception("SMS provider %s failed unexpectedly", account.provider)
            results = None
        if not results or len(results) != len(outgoing):
            from ..providers import SendResult

            # Some may have left before the adapter broke: flagged, not resent blindly.
            results = [
                SendResult(
                    ref=o.ref,
                    ok=False,
                    status="failed",
                    error_class="unknown",
                    provider_code="timeout",
                )
                for o in outgoing
            ]

        now = fields.Datetime.now()
        sent = self.env["sms.sms"].sudo()
        for (sms, _e164), result in zip(reserved, results, strict=True):
            recipient = sms.cgsms_recipient_id
            if result.ok:
                recipient.write(
                    {"state": "sent", "provider_message_id": result.message_id, "date_sent": now}
                )
                sent |= sms
                continue
            if result.provider_code == "timeout":
                # No answer in time: the provider may have accepted it, and sending it again
                # could deliver it twice. Flagged for a person, like an interrupted send.
                sms._cgsms_flag_unknown(
                    _(
                        "The provider did not answer in time: the SMS may or may not have "
                        "left. Check with the recipient before sending it again."
                    ),
                    unlink_failed,
                )
                continue
            recipient._refund(_("Not sent"))
            reason = account._error_message(_ProviderFailure(result))
            if (
                result.error_class in ("temporary", "rate_limited")
                and recipient.attempts < MAX_ATTEMPTS
            ):
                # Provider down: back to the queue, the SMS queue cron tries again later.
                recipient.write(
                    {"state": "queued", "error_class": result.error_class, "failure_reason": reason}
                )
                sms.write({"state": "outgoing"})
                self._cgsms_schedule_retry(recipient.attempts)
                continue
            sms._cgsms_fail(result.error_class or "unknown", reason, unlink_failed)
        if sent:
            sent.sms_tracker_id._action_update_from_sms_state("pending")
            sent.write({"state": "pending", "failure_type": False, "to_delete": unlink_sent})
        account._check_low_balance()
        sms_all.mail_message_id._notify_message_notification_update()

    def _cgsms_ensure_recipients(self, account):
        """Give each SMS its history line (kept after the SMS itself is garbage-collected)."""
        missing = self.filtered(lambda s: not s.cgsms_recipient_id)
        if not missing:
            return
        Recipient = self.env["cgsms.recipient"].sudo()
        existing = {
            r.sms_uuid: r for r in Recipient.search([("sms_uuid", "in", missing.mapped("uuid"))])
        }
        vals_list, new_sms = [], []
        for sms in missing:
            if sms.uuid in existing:
                sms.cgsms_recipient_id = existing[sms.uuid]
                continue
            message = sms.mail_message_id
            vals_list.append(
                {
                    "company_id": account.company_id.id,
                    "account_id": account.id,
                    "partner_id": sms.partner_id.id,
                    "number": sms.number,
                    "body": sms.body,
                    "sms_uuid": sms.uuid,
                    "mail_message_id": message.id,
                    "res_model": message.model or False,
                    "res_id": message.res_id or False,
                }
            )
            new_sms.append(sms)
        for sms, recipient in zip(new_sms, Recipient.create(vals_list), strict=True):
            sms.cgsms_recipient_id = recipient

    def _cgsms_fail(self, error_class, reason, unlink_failed=False):
        self.ensure_one()
        self.cgsms_recipient_id.write(
            {"state": "failed", "error_class": error_class, "failure_reason": reason}
        )
        failure_type = FAILURE_TYPES.get(error_class)
        if failure_type:
            self.sms_tracker_id._action_update_from_sms_state(
                "error", failure_type=failure_type, failure_reason=reason
            )
        else:
            self.sms_tracker_id._action_update_from_provider_error(error_class)
        self.write(
            {
                "state": "error",
                "failure_type": failure_type or "unknown",
                "to_delete": unlink_failed,
            }
        )

    def _cgsms_flag_unknown(self, reason, unlink_failed=False):
        """The SMS may have left (no answer in time): keep the debit, never resend it
        automatically, show it as failed with the reason so that a person decides."""
        self.ensure_one()
        self.cgsms_recipient_id.write(
            {"state": "unknown", "error_class": "unknown", "failure_reason": reason}
        )
        self.sms_tracker_id._action_update_from_sms_state(
            "error", failure_type="unknown", failure_reason=reason
        )
        self.write({"state": "error", "failure_type": "unknown", "to_delete": unlink_failed})

    def _cgsms_schedule_retry(self, attempts):
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(fields.Datetime.now() + timedelta(minutes=2 ** min(attempts, 6)))

    @api.model
    def _cgsms_reconcile_stale(self):
        """Flag SMS interrupted between the provider call and the commit (crash, kill): they may
        have been delivered, so they are never resent blindly; a person checks and resends."""
        limit = fields.Datetime.now() - STALE_SENDING
        stale = (
            self.env["cgsms.recipient"]
            .sudo()
            .search([("state", "=", "sending"), ("write_date", "<", limit)])
        )
        if not stale:
            return
        reason = _(
            "Sending was interrupted: the SMS may or may not have left. Check with the "
            "recipient before sending it again."
        )
        stale.write({"state": "unknown", "error_class": "unknown", "failure_reason": reason})
        sms = self.sudo().search(
            [("uuid", "in", stale.mapped("sms_uuid")), ("state", "=", "process")]
        )
        sms.write({"state": "error", "failure_type": "unknown"})
        sms.sms_tracker_id._action_update_from_sms_state(
            "error", failure_type="unknown", failure_reason=reason
        )
        _logger.warning("%s interrupted SMS flagged for checking", len(stale))


class _ProviderFailure:
    """Adapter so that a per-message SendResult reads like a ProviderError."""

    def __init__(self, result):
        self.error_class = result.error_class or "unknown"
        self.provider_code = result.provider_code or ""
        self.provider_text = result.provider_text or ""
