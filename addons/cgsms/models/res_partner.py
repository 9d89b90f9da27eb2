from odoo import _, fields, models
from odoo.exceptions import AccessError, UserError

from .. import compat


class ResPartner(models.Model):
    _inherit = "res.partner"

    cgsms_group_ids = fields.Many2many(
        "cgsms.group",
        "cgsms_group_res_partner_rel",
        "partner_id",
        "group_id",
        string="SMS groups",
        help="Customer groups this contact is listed in (groups matching by filter excluded).",
    )
    # The number a contact gets SMS on, by the same name on both series: the mobile field on
    # Odoo 18.0, the phone on 19.0 (which has no mobile field).
    cgsms_mobile = fields.Char(
        "Mobile for SMS", related=compat.PARTNER_MOBILE_FIELD, readonly=False
    )
    cgsms_group_count = fields.Integer("Number of SMS groups", compute="_compute_cgsms_group_count")

    def _compute_cgsms_group_count(self):
        for partner in self:
            partner.cgsms_group_count = len(partner.cgsms_group_ids)

    def action_cgsms_view_groups(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cgsms.cgsms_group_action")
        action["domain"] = [("partner_ids", "in", self.ids)]
        return action

    def action_cgsms_opt_out(self):
        """Stop all SMS to these contacts: their numbers go to Odoo's phone blacklist, which
        every send (ours and Odoo's) respects. Undo with :meth:`action_cgsms_opt_in`. Needs
        the rights to change the blacklist (SMS managers, administrators)."""
        blacklist = self._cgsms_blacklist()
        numbers = self._cgsms_blacklist_numbers()
        blacklist._add(numbers, message=_("Opted out of SMS"))
        self.invalidate_recordset(compat.PARTNER_BLACKLISTED_FIELDS)
        return self._cgsms_notify(
            _("Opted out"),
            _("%(count)s numbers will not receive SMS any more.", count=len(numbers)),
        )

    def action_cgsms_opt_in(self):
        """Undo an opt-out: these contacts' numbers leave the phone blacklist."""
        blacklist = self._cgsms_blacklist()
        numbers = self._cgsms_blacklist_numbers()
        blacklist._remove(numbers, message=_("Opt-out of SMS undone"))
        self.invalidate_recordset(compat.PARTNER_BLACKLISTED_FIELDS)
        return self._cgsms_notify(
            _("Opt-out undone"),
            _("%(count)s numbers can receive SMS again.", count=len(numbers)),
        )

    def _cgsms_blacklist(self):
        """Odoo's phone blacklist with the user's own rights (never as superuser)."""
        access = self.env["ir.model.access"]
        if not all(
            access.check("phone.blacklist", operation, raise_exception=False)
            for operation in ("read", "write", "create")
        ):
            raise AccessError(
                _(
                    "Only users allowed to change the phone blacklist (SMS managers and "
                    "administrators) can opt contacts out of SMS or undo it. Ask one of them."
                )
            )
        return self.env["phone.blacklist"]

    def _cgsms_blacklist_numbers(self):
        numbers = []
        for partner in self:
            country = partner.country_id or self.env.company.country_id
            for field in compat.PARTNER_NUMBER_FIELDS:
                if partner[field]:
                    number = partner._phone_format(number=partner[field], country=country)
                    if number:
                        numbers.append(number)
        if not numbers:
            raise UserError(_("These contacts have no valid phone number to opt out."))
        return [*dict.fromkeys(numbers)]

    def _cgsms_notify(self, title, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": "success"},
        }
