from ast import literal_eval

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class CgsmsGroup(models.Model):
    _name = "cgsms.group"
    _inherit = ["mail.thread"]
    _description = "SMS customer group"
    _order = "name, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    color = fields.Integer()
    description = fields.Text()
    partner_ids = fields.Many2many(
        "res.partner",
        "cgsms_group_res_partner_rel",
        "group_id",
        "partner_id",
        string="Members",
        help="Contacts always in the group.",
    )
    use_filter = fields.Boolean(
        "Add contacts by filter",
        help="Contacts matching the filter are members too, including contacts created or "
        "changed after the group.",
    )
    filter_domain = fields.Char(
        "Filter",
        default="[]",
        help="Contacts matching this filter are members of the group, besides the listed ones.",
    )
    member_count = fields.Integer("Number of members", compute="_compute_member_count")
    filter_count = fields.Integer("Matching the filter", compute="_compute_member_count")
    message_count = fields.Integer("SMS sends", compute="_compute_message_count")

    @api.constrains("filter_domain", "use_filter")
    def _check_filter_domain(self):
        for group in self.filtered("use_filter"):
            try:
                group._filter_partners()
            except Exception as exc:
                raise ValidationError(
                    _("The filter of the group %(group)s is not valid.", group=group.name)
                ) from exc

    @api.depends("partner_ids", "use_filter", "filter_domain")
    def _compute_member_count(self):
        for group in self:
            filtered = group._filter_partners()
            group.filter_count = len(filtered)
            group.member_count = len(group.partner_ids._origin | filtered)

    def _compute_message_count(self):
        counts = dict(
            self.env["cgsms.message"]._read_group(
                [("group_ids", "in", self.ids)], ["group_ids"], ["__count"]
            )
        )
        for group in self:
            group.message_count = counts.get(group._origin, 0)

    # ------------------------------------------------------------------ actions

    def action_send_sms(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("New SMS"),
            "res_model": "cgsms.message",
            "view_mode": "form",
            "target": "current",
            "context": {
                "default_group_ids": [self.id],
                "default_company_id": self.company_id.id,
                "default_name": self.name,
            },
        }

    def action_view_members(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Members of %(group)s", group=self.name),
            "res_model": "res.partner",
            "view_mode": "list,form",
            "domain": [("id", "in", self._get_members().ids)],
        }

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cgsms.cgsms_message_action")
        action["domain"] = [("group_ids", "in", self.ids)]
        action["context"] = {"default_group_ids": self.ids}
        return action

    # ------------------------------------------------------------------ helpers

    def _filter_partners(self):
        """Contacts matched by the group's filter (empty without one)."""
        self.ensure_one()
        Partner = self.env["res.partner"]
        if not self.use_filter:
            return Partner
        domain = literal_eval(self.filter_domain or "[]")
        return Partner.search(domain)

    def _get_members(self):
        """Every member of the groups: listed contacts plus the filter's matches, once each."""
        members = self.env["res.partner"]
        for group in self:
            members |= group.partner_ids._origin | group._filter_partners()
        return members
