from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..engine import policy
from ..models.cgsms_message import refuse_nul
from ..tools.phone import REASON_MISSING, dedupe_numbers, normalize_number, split_free_numbers
from ..tools.sms_segments import count_segments


class CgsmsExpressWizard(models.TransientModel):
    """Express message: one text to a few numbers and/or contacts, sent at once.

    Used by the systray dialog (through :meth:`express_send`) and by the "Express message"
    form. Everything is checked before anything leaves: a wrong number or missing credits
    refuse the whole send, so that correcting it and sending again never sends twice."""

    _name = "cgsms.express.wizard"
    _description = "Express SMS"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    numbers = fields.Text(
        "Mobile numbers", help="Numbers separated by ; (or a comma, or one per line)."
    )
    partner_ids = fields.Many2many("res.partner", string="Contacts")
    body = fields.Text("Message")
    recipient_count = fields.Integer(compute="_compute_recipient_count")
    cost_per_segment = fields.Float(digits=(12, 4), compute="_compute_account_info")
    credit_available = fields.Float(digits=(12, 4), compute="_compute_account_info")
    gsm7_safe = fields.Boolean("Replace accented letters", compute="_compute_account_info")

    @api.depends("numbers", "partner_ids")
    def _compute_recipient_count(self):
        for wizard in self:
            recipients = wizard._resolve_recipients()
            wizard.recipient_count = len([r for r in recipients if r["valid"]])

    @api.depends("company_id")
    def _compute_account_info(self):
        for wizard in self:
            account = self.env["cgsms.account"]
            if self.env.su or wizard.company_id in self.env.user.company_ids:
                account = account._get_active(wizard.company_id)
            wizard.cost_per_segment = account.cost_per_segment
            wizard.credit_available = account.credit_available
            wizard.gsm7_safe = account.gsm7_safe

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            refuse_nul(self.env, vals, ("numbers", "body"))
        return super().create(vals_list)

    def write(self, vals):
        refuse_nul(self.env, vals, ("numbers", "body"))
        return super().write(vals)

    # ------------------------------------------------------------------ actions

    def action_send(self):
        self.ensure_one()
        summary = self._send()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Express message"),
                "message": summary["message"],
                "type": "success" if summary["sent"] or summary["pending"] else "warning",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    @api.model
    def express_info(self):
        """What the systray needs: whether to show the button, and the account's figures."""
        if not self.env.user.has_group("cgsms.group_cgsms_user"):
            return {"visible": False}
        account = self.env["cgsms.account"]._get_active(self.env.company)
        if not account:
            return {"visible": False}
        return {
            "visible": True,
            "cost_per_segment": account.cost_per_segment,
            "credit_available": account.credit_available,
            "gsm7_safe": account.gsm7_safe,
        }

    @api.model
    def express_send(self, numbers="", partner_ids=None, body=""):
        """Send ``body`` to the typed ``numbers`` and the contacts ``partner_ids`` at once.

        Raises a UserError (nothing sent) when the send cannot go ahead; otherwise returns the
        summary of :meth:`_send`."""
        wizard = self.create(
            {
                "numbers": numbers or "",
                "partner_ids": [fields.Command.set(partner_ids or [])],
                "body": body or "",
            }
        )
        return wizard._send()

    # ------------------------------------------------------------------ helpers

    def _resolve_recipients(self, account=None):
        """Typed numbers, then contacts, normalised to E.164 and without duplicates.

        Returns dicts {number (E.164 or as typed), raw, partner_id, partner, valid, reason,
        price, error}, where reason is "missing", "invalid", "not_mobile", "duplicate" or a
        refusal of the sending policy (``engine.policy``) for ``account``."""
        self.ensure_one()
        country = self.company_id.country_id.code or None
        entries = []
        for raw in split_free_numbers(self.numbers):
            entries.append((normalize_number(raw, country, mobile_only=not account), False))
        for partner in self.partner_ids:
            partner_country = partner.country_id.code or country
            number = normalize_number(
                partner.cgsms_mobile or "", partner_country, mobile_only=not account
            )
            if not number.valid and partner.phone:
                # A contact's phone field often holds a mobile number: accept it, only if so.
                fallback = normalize_number(partner.phone, partner_country, mobile_only=True)
                if fallback.valid or number.reason == REASON_MISSING:
                    number = fallback
            entries.append((number, partner))

        unique = dedupe_numbers([number for number, _partner in entries])
        kept = {id(number) for number in unique}
        recipients = []
        for number, partner in entries:
            reason = number.reason if id(number) in kept else "duplicate"
            where = None
            if account and number.valid and reason != "duplicate":
                where = policy.destination(account, number.e164, number)
                reason = where.reason
            recipients.append(
                {
                    "number": number.e164 or number.raw.strip(),
                    "raw": number.raw,
                    "partner_id": partner.id if partner else False,
                    "partner": partner.display_name if partner else "",
                    "valid": number.valid and not reason,
                    "reason": reason,
                    "country": where.country_code if where else "",
                    "price": where.price if where else 0.0,
                }
            )
        return recipients

    def _recipient_error(self, recipient):
        who = recipient["partner"] or recipient["raw"]
        if recipient["reason"] == "missing":
            return _("%(contact)s has no mobile number.", contact=who)
        if recipient["reason"] == "not_mobile":
            return _("%(number)s is not a mobile number.", number=recipient["raw"] or who)
        if recipient["reason"] in ("invalid", "invalid_number") and recipient["partner"]:
            return _(
                "%(contact)s has an invalid mobile number (%(number)s).",
                contact=who,
                number=recipient["raw"],
            )
        if recipient["reason"] == "invalid":
            return _("%(number)s is not a valid phone number.", number=recipient["raw"])
        return policy.refusal(
            self.env, recipient["reason"], recipient["number"], recipient["country"]
        )

    def _check_sendable(self):
        """Raise a UserError telling the user what to correct; returns (account, recipients)."""
        self.ensure_one()
        if not self.env.user.has_group("cgsms.group_cgsms_user"):
            raise AccessError(_("Only SMS users can send express messages."))
        if not self.env.su and self.company_id not in self.env.user.company_ids:
            raise AccessError(
                _(
                    "You do not belong to the company %(company)s: an SMS of yours cannot be "
                    "sent from it.",
                    company=self.company_id.sudo().name,
                )
            )
        account = self.env["cgsms.account"]._get_active(self.company_id)
        account._ensure_usable()
        if not (self.body or "").strip():
            raise UserError(_("Write the message to send."))
        policy.check_length(self.env, self.body)
        recipients = self._resolve_recipients(account)
        if not recipients:
            raise UserError(_("Type at least one mobile number or choose a contact."))
        errors = [
            self._recipient_error(r)
            for r in recipients
            if not r["valid"] and r["reason"] != "duplicate"
        ]
        if errors:
            raise UserError(
                _(
                    "Nothing was sent. Correct or remove these recipients:\n%(errors)s",
                    errors="\n".join(f"- {e}" for e in errors),
                )
            )
        to_send = [r for r in recipients if r["valid"]]
        blacklisted = set(
            self.env["phone.blacklist"]
            .sudo()
            .search([("number", "in", [r["number"] for r in to_send])])
            .mapped("number")
        )
        if blacklisted:
            raise UserError(
                _(
                    "Nothing was sent. These numbers asked not to receive SMS (blacklist): "
                    "%(numbers)s. Remove them.",
                    numbers=", ".join(sorted(blacklisted)),
                )
            )
        info = count_segments(account._cgsms_prepare_body(self.body))
        cost = round(info.segments * sum(r["price"] for r in to_send), 4)
        policy.check_credits(self.env, account, cost)
        return account, recipients

    def _send(self):
        """Check, then queue one sms.sms per distinct number; they leave once this
        transaction commits (``engine.handoff``).

        Returns the summary of :meth:`express_result` for what is known now, plus
        ``entries`` (each entry typed or chosen: number, partner, the uuid of its SMS, or its
        reason) and ``pending`` (whether the SMS are still leaving: ask
        :meth:`express_result` for their outcome once this request has returned)."""
        self.ensure_one()
        account, recipients = self._check_sendable()
        to_send = [r for r in recipients if r["valid"]]
        body = account._cgsms_prepare_body(self.body)
        sms_records = (
            self.env["sms.sms"]
            .sudo()
            .create(
                [
                    {
                        "number": r["number"],
                        "body": body,
                        "partner_id": r["partner_id"],
                        "cgsms_company_id": self.company_id.id,
                    }
                    for r in to_send
                ]
            )
        )
        by_number = dict(
            zip([r["number"] for r in to_send], sms_records.mapped("uuid"), strict=True)
        )
        sms_records.send(unlink_failed=True, unlink_sent=True)
        entries = [
            {
                "number": r["number"],
                "partner": r["partner"],
                "uuid": by_number.get(r["number"]) if r["valid"] else False,
            }
            for r in recipients
        ]
        summary = self.express_result(entries)
        summary["entries"] = entries
        return summary

    @api.model
    def express_result(self, entries):
        """The outcome of an Express send (``entries`` as returned by :meth:`express_send`):
        {sent, queued, failed, duplicates, pending, cost, credit_available, message,
        results}, results being one dict per entry: number, partner, status (sent / queued /
        failed / duplicate / leaving) and reason. Reads the history lines as the user."""
        uuids = [e["uuid"] for e in entries if e.get("uuid")]
        lines = self.env["cgsms.recipient"].search([("sms_uuid", "in", uuids)]) if uuids else []
        by_uuid = {line.sms_uuid: line for line in lines}
        results, cost = [], 0.0
        counts = {"sent": 0, "queued": 0, "failed": 0, "duplicate": 0, "leaving": 0}
        for entry in entries:
            line = {"number": entry["number"], "partner": entry["partner"], "reason": ""}
            history = by_uuid.get(entry.get("uuid"))
            if not entry.get("uuid"):
                line["status"] = "duplicate"
            elif not history or history.state == "sending":
                line["status"] = "leaving"  # handed over, leaving now
            elif history.state in ("sent", "delivered"):
                line["status"] = "sent"
                cost += history.cost
            elif history.state in ("queued", "checking"):
                line["status"] = "queued"
                line["reason"] = history.failure_reason or ""
            else:
                line["status"] = "failed"
                line["reason"] = history.failure_reason or ""
            counts[line["status"]] += 1
            results.append(line)
        account = self.env["cgsms.account"]._get_active(self.env.company)
        return {
            "sent": counts["sent"],
            "queued": counts["queued"],
            "failed": counts["failed"],
            "duplicates": counts["duplicate"],
            "pending": counts["leaving"],
            "cost": round(cost, 4),
            "credit_available": account.sudo()._credit_balances().get(account.id, 0.0)
            if account
            else 0.0,
            "message": self._summary_message(counts, results),
            "results": results,
        }

    def _summary_message(self, counts, results):
        parts = []
        if counts.get("leaving") == 1:
            parts.append(_("SMS leaving for 1 number."))
        elif counts.get("leaving"):
            parts.append(_("SMS leaving for %(count)s numbers.", count=counts["leaving"]))
        if counts["sent"] == 1:
            parts.append(_("SMS sent to 1 number."))
        elif counts["sent"]:
            parts.append(_("SMS sent to %(count)s numbers.", count=counts["sent"]))
        if counts["queued"]:
            parts.append(
                _(
                    "%(count)s SMS could not reach the provider yet and will be retried "
                    "automatically.",
                    count=counts["queued"],
                )
            )
        failed = [r for r in results if r["status"] == "failed"]
        if failed:
            parts.append(
                _(
                    "Not sent: %(details)s",
                    details="; ".join(f"{r['number']} ({r['reason']})" for r in failed),
                )
            )
        if counts["duplicate"] == 1:
            parts.append(_("1 repeated number received it only once."))
        elif counts["duplicate"]:
            parts.append(
                _("%(count)s repeated numbers received it only once.", count=counts["duplicate"])
            )
        return " ".join(parts)
