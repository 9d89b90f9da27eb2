from odoo import _, fields, models
from odoo.exceptions import UserError

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
        every send (ours and Odoo's) respects. Remove a number from the blacklist to undo."""
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
        blacklist = self.env["phone.blacklist"].sudo()
        blacklist._add([*dict.fromkeys(numbers)], message=_("Opted out of SMS"))
        self.invalidate_recordset(
            [f for f in ("phone_blacklisted", "mobile_blacklisted") if f in self._fields]
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Opted out"),
                "message": _(
                    "%(count)s numbers will not receive SMS any more.", count=len(numbers)
                ),
                "type": "success",
            },
        }
