from odoo import _, api, models


class CgsmsNumberDocument(models.AbstractModel):
    """An SMS exchanged with a number (``number``, ``partner_id``) about a document
    (``res_model``, ``res_id``): sent (``cgsms.recipient``) or received (``cgsms.reply``)."""

    _name = "cgsms.number.document"
    _description = "SMS exchanged with a number about a document"

    @api.depends("number", "partner_id")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = (
                f"{rec.partner_id.name} ({rec.number})" if rec.partner_id else rec.number or ""
            )

    def action_open_document(self):
        self.ensure_one()
        if not self.res_model or not self.res_id:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "name": _("Document"),
        }
