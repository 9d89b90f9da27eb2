from odoo import _, api, fields, models
from odoo.addons.cgsms.engine import policy
from odoo.addons.cgsms.engine.policy import too_long_error
from odoo.addons.cgsms.models.cgsms_message import refuse_nul
from odoo.addons.cgsms.tools.phone import normalize_number
from odoo.addons.cgsms.tools.sms_segments import GSM7, count_segments
from odoo.exceptions import UserError, ValidationError
from odoo.tools import html2plaintext, plaintext2html
from odoo.tools.misc import format_datetime

DONE_TEMPLATE_XMLID = "cgsms_repairs.sms_template_repair_done"
MESSAGE_SUBTYPE_XMLID = "cgsms_repairs.mt_repair_message"


class RepairOrder(models.Model):
    _inherit = "repair.order"

    cgsms_new_message = fields.Text(
        "New message",
        copy=False,
        help='A message for the customer. Add it to the repair\'s messages, or tick "Send SMS" '
        "and save to also send it to the customer's mobile.",
    )
    cgsms_send_sms = fields.Boolean(
        "Send SMS (max. 160 characters)",
        copy=False,
        help="When the repair is saved, the new message is sent by SMS to the customer's mobile "
        "(or phone, when it is a mobile number). One SMS holds 160 characters, or 70 when the "
        "text has characters such as ã, ç or emoji.",
    )
    cgsms_new_message_info = fields.Char(
        "Characters left", compute="_compute_cgsms_new_message_info"
    )
    cgsms_new_message_too_long = fields.Boolean(compute="_compute_cgsms_new_message_info")
    cgsms_gsm7_safe = fields.Boolean(
        "Replace accented letters", compute="_compute_cgsms_new_message_info"
    )
    cgsms_message_ids = fields.One2many(
        "cgsms.repair.message", "repair_id", "Current messages", readonly=True
    )
    cgsms_message_count = fields.Integer("Repair messages", compute="_compute_cgsms_message_count")
    cgsms_history_repair_ids = fields.Many2many(
        "repair.order",
        string="Equipment history",
        compute="_compute_cgsms_history_repair_ids",
        help="The earlier repairs of the same serial number, or of the same product when the "
        "equipment has no serial number.",
    )
    cgsms_history_count = fields.Integer(
        "Earlier repairs", compute="_compute_cgsms_history_repair_ids"
    )
    cgsms_messages_text = fields.Text(
        "Messages of the repair",
        compute="_compute_cgsms_messages_text",
        help="The messages written on the repair, newest first.",
    )
    cgsms_done_notified = fields.Boolean(
        "Customer notified of the end of the repair", copy=False, readonly=True
    )

    @api.depends("cgsms_new_message", "company_id")
    def _compute_cgsms_new_message_info(self):
        for repair in self:
            account = self.env["cgsms.account"]._get_active(repair.company_id)
            repair.cgsms_gsm7_safe = account.gsm7_safe
            text = repair._cgsms_outgoing_text(repair.cgsms_new_message, account)
            info = count_segments(text)
            limit = 160 if info.encoding == GSM7 else 70
            repair.cgsms_new_message_too_long = info.units > limit
            if not text and account.gsm7_safe:
                repair.cgsms_new_message_info = _(
                    "One SMS: 160 characters (accented letters are replaced), or 70 with emoji."
                )
            elif not text:
                repair.cgsms_new_message_info = _(
                    "One SMS: 160 characters, or 70 with characters such as ã, ç or emoji."
                )
            elif info.units > limit:
                repair.cgsms_new_message_info = _(
                    "%(over)s characters too many for one SMS (%(limit)s maximum)",
                    over=info.units - limit,
                    limit=limit,
                )
            elif info.encoding == GSM7:
                repair.cgsms_new_message_info = _(
                    "%(left)s characters left in one SMS", left=limit - info.units
                )
            elif account.gsm7_safe:
                repair.cgsms_new_message_info = _(
                    "%(left)s characters left in one SMS (70 maximum with emoji or symbols)",
                    left=limit - info.units,
                )
            else:
                repair.cgsms_new_message_info = _(
                    "%(left)s characters left in one SMS (70 maximum with ã, ç or emoji)",
                    left=limit - info.units,
                )

    def _compute_cgsms_message_count(self):
        counts = dict(
            self.env["cgsms.repair.message"]._read_group(
                [("repair_id", "in", self.ids)], ["repair_id"], ["__count"]
            )
        )
        for repair in self:
            repair.cgsms_message_count = counts.get(repair._origin, 0)

    def _compute_cgsms_messages_text(self):
        messages = self.env["cgsms.repair.message"].search(
            [("repair_id", "in", self._origin.ids)], order="date desc, id desc"
        )
        by_repair = messages.grouped("repair_id")
        for repair in self:
            lines = by_repair.get(repair._origin, messages.browse())
            repair.cgsms_messages_text = (
                "\n".join(
                    f"{format_datetime(self.env, line.date, dt_format='short')}: {line.body}"
                    for line in lines
                )
                or False
            )

    @api.depends("lot_id", "product_id")
    def _compute_cgsms_history_repair_ids(self):
        """What happened to this equipment before this repair: the repairs received earlier
        (lower id, i.e. created before this one) of its serial number, or of its product when
        it has none. Later repairs are not its history."""
        for repair in self:
            if repair.lot_id:
                domain = [("lot_id", "=", repair.lot_id.id)]
            elif repair.product_id:
                domain = [("product_id", "=", repair.product_id.id)]
            else:
                repair.cgsms_history_repair_ids = False
                repair.cgsms_history_count = 0
                continue
            if repair._origin.id:
                domain.append(("id", "<", repair._origin.id))
            history = self.search(domain, order="schedule_date desc, id desc")
            repair.cgsms_history_repair_ids = history
            repair.cgsms_history_count = len(history)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            refuse_nul(self.env, vals, ("cgsms_new_message",))
        repairs = super().create(vals_list)
        repairs._cgsms_send_pending_sms()
        return repairs

    def write(self, vals):
        refuse_nul(self.env, vals, ("cgsms_new_message",))
        to_notify = self.browse()
        if vals.get("state") == "done":
            to_notify = self.filtered(lambda r: r.state != "done" and not r.cgsms_done_notified)
        res = super().write(vals)
        if "cgsms_new_message" in vals or "cgsms_send_sms" in vals:
            self._cgsms_send_pending_sms()
        if to_notify:
            to_notify._cgsms_notify_done()
        return res

    # ------------------------------------------------------------------ actions

    def action_cgsms_add_message(self):
        """Add the new message to the repair's messages as a note. The form saves the repair
        before running the button, so a message with "Send SMS" ticked has already been sent
        (and cleared) by then."""
        for repair in self:
            body = (repair.cgsms_new_message or "").strip()
            if not body:
                continue
            if repair.cgsms_send_sms:
                repair._cgsms_send_pending_sms()
                continue
            repair._cgsms_post_note(body)
            repair.write({"cgsms_new_message": False})
        return True

    def action_cgsms_open_repair(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "repair.order",
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def action_cgsms_open_history(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Equipment history"),
            "res_model": "repair.order",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", self.cgsms_history_repair_ids.ids)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------ helpers

    def _cgsms_send_pending_sms(self):
        """Send the new message of the repairs whose "Send SMS" is ticked: one SMS per repair.
        Every repair is checked before anything leaves, so an error sends nothing; raising
        also rolls back the save, which leaves the typed message and the option in the form."""
        pending = self.filtered(lambda r: r.cgsms_send_sms and (r.cgsms_new_message or "").strip())
        if not pending:
            return
        checked = []
        for repair in pending:
            policy.check_sender(self.env, repair.company_id)
            account = self.env["cgsms.account"]._get_active(repair.company_id)
            # The repair keeps the user's own words (messages, chatter); the account replaces
            # accents when the SMS leaves, and the SMS history keeps that text.
            body = (repair.cgsms_new_message or "").strip()
            outgoing = repair._cgsms_outgoing_text(body, account)
            info = repair._cgsms_check_length(outgoing, gsm7_safe=account.gsm7_safe)
            partner, number, problem = repair._cgsms_sms_target(info.segments)
            if problem:
                raise UserError(
                    _(
                        'No SMS was sent. %(problem)s Or untick "Send SMS" to save the '
                        "repair without sending it.",
                        problem=problem,
                    )
                )
            checked.append((repair, body, partner, number))
        pending.write({"cgsms_new_message": False, "cgsms_send_sms": False})
        for repair, body, partner, number in checked:
            repair._cgsms_post_sms(body, partner, number)

    @api.model
    def _cgsms_outgoing_text(self, body, account):
        """The new message as the customer receives it (the account may replace accents)."""
        body = (body or "").strip()
        return account._cgsms_prepare_body(body) if account else body

    @api.model
    def _cgsms_check_length(self, body, gsm7_safe=False):
        """``body`` is the text as it leaves (see :meth:`_cgsms_outgoing_text`)."""
        info = count_segments(body)
        if info.segments <= 1:
            return info
        if info.encoding == GSM7:
            raise ValidationError(
                _(
                    "The message has %(units)s characters and one SMS holds 160. Shorten it "
                    "by %(over)s characters.",
                    units=info.units,
                    over=info.units - 160,
                )
            )
        if gsm7_safe:
            raise ValidationError(
                _(
                    "The message has %(units)s characters and one SMS holds 70 when the text "
                    "has emoji or other symbols. Shorten it by %(over)s characters, or remove "
                    "those symbols (up to 160).",
                    units=info.units,
                    over=info.units - 70,
                )
            )
        raise ValidationError(
            _(
                "The message has %(units)s characters and one SMS holds 70 when the text has "
                "characters such as ã, ç or emoji. Shorten it by %(over)s characters, or write "
                "it without those characters (up to 160).",
                units=info.units,
                over=info.units - 70,
            )
        )

    def _cgsms_sms_target(self, segments=1):
        """The customer and E.164 mobile number an SMS of the repair goes to, as
        ``(partner, number, problem)``: ``problem`` is a sentence saying what to fix when the
        SMS cannot be sent (``partner`` and ``number`` are then empty)."""
        self.ensure_one()
        no_target = self.env["res.partner"], ""
        account = self.env["cgsms.account"]._get_active(self.company_id)
        if not account:
            return *no_target, _(
                "%(company)s has no active SMS provider account: set one up in SMS > "
                "Configuration > Settings.",
                company=self.company_id.name,
            )
        partner = self.partner_id
        if not partner:
            return *no_target, _("The repair has no customer to send the SMS to.")
        country = partner.country_id.code or self.company_id.country_id.code or None
        raw_numbers = [n for n in (partner.cgsms_mobile, partner.phone) if n]
        numbers = [normalize_number(raw, country, mobile_only=True) for raw in raw_numbers]
        number = next((n for n in numbers if n.valid), None)
        if not number and raw_numbers:
            return *no_target, _(
                "%(customer)s's number %(number)s cannot receive SMS: enter a mobile number in "
                "the customer's Mobile field.",
                customer=partner.display_name,
                number=raw_numbers[0],
            )
        if not number:
            return *no_target, _(
                "%(customer)s has no mobile number: enter one in the customer's Mobile field.",
                customer=partner.display_name,
            )
        where = policy.destination(account, number.e164)
        if not where.allowed:
            return *no_target, policy.refusal(
                self.env, where.reason, number.e164, where.country_code
            )
        cost = round(segments * where.price, 4)
        available = account.credit_available
        if not policy.has_credits(cost, available):
            return *no_target, policy.credits_error(self.env, cost, available)
        return partner, number.e164, ""

    def _cgsms_subtype(self):
        return self.env["ir.model.data"]._xmlid_to_res_id(MESSAGE_SUBTYPE_XMLID)

    def _cgsms_post_note(self, body):
        self.ensure_one()
        message = self.message_post(
            body=plaintext2html(body), message_type="comment", subtype_id=self._cgsms_subtype()
        )
        return self.env["cgsms.repair.message"].create(
            {"repair_id": self.id, "message_id": message.id, "body": body}
        )

    def _cgsms_post_sms(self, body, partner, number):
        """Post ``body`` in the chatter as an SMS to ``partner`` (sent at once through the
        company's SMS account) and list it in the repair's messages."""
        self.ensure_one()
        message = self._message_sms(
            body,
            subtype_id=self._cgsms_subtype(),
            partner_ids=partner.ids,
            sms_pid_to_number={partner.id: number},
        )
        return self._cgsms_log_sms(message, body, partner, number)

    def _cgsms_log_sms(self, message, body, partner, number):
        return self.env["cgsms.repair.message"].create(
            {
                "repair_id": self.id,
                "message_id": message.id,
                "body": body,
                "is_sms": True,
                "partner_id": partner.id,
                "number": number,
            }
        )

    def _cgsms_notify_done(self):
        """Tell the customers that their equipment is repaired, once per repair. A repair ends
        even when the SMS cannot be sent: the reason is then noted on the repair."""
        self.write({"cgsms_done_notified": True})
        for repair in self.filtered("company_id.cgsms_repair_done_sms"):
            template = repair.company_id.sudo().cgsms_repair_done_template_id or self.env.ref(
                DONE_TEMPLATE_XMLID, raise_if_not_found=False
            )
            if not template:
                continue
            partner, number, problem = repair._cgsms_sms_target()
            if problem:
                repair.message_post(
                    body=_(
                        "The customer was not told by SMS that the repair is done. %(problem)s",
                        problem=problem,
                    ),
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
                continue
            body = template.sudo()._render_field("body", repair.ids, compute_lang=True)[repair.id]
            account = self.env["cgsms.account"]._get_active(repair.company_id)
            text = account._cgsms_prepare_rendered(body)
            error = too_long_error(self.env, text)
            if error:
                repair.message_post(
                    body=_(
                        "The customer was not told by SMS that the repair is done. %(problem)s",
                        problem=error,
                    ),
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
                continue
            # Set up by an administrator: sent whoever ends the repair.
            with policy.automated():
                message = repair._message_sms(
                    text,
                    partner_ids=partner.ids,
                    sms_pid_to_number={partner.id: number},
                    subtype_id=repair._cgsms_subtype(),
                )
            repair._cgsms_log_sms(message, html2plaintext(message.body), partner, number)
