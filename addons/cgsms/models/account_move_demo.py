"""Demo data: overdue invoices of the demo's customers, for the SMS payment reminders."""

from datetime import timedelta

from odoo import api, fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    @api.model
    def _cgsms_demo_overdue_invoices(self, partner_xmlids, amounts, days_overdue):
        """Posted customer invoices, overdue by ``days_overdue`` days, for the demo's
        Portuguese customers (demo data; nothing when the company has no sales journal)."""
        company = self.env.company
        journal = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
        )
        if not journal:
            return self
        moves = self
        today = fields.Date.context_today(self)
        for xmlid, amount, days in zip(partner_xmlids, amounts, days_overdue, strict=True):
            due = today - timedelta(days=days)
            partner = self.env.ref(xmlid)
            line = self.with_context(lang=self._cgsms_demo_lang(partner)).env._("Repair service")
            moves |= self.create(
                {
                    "move_type": "out_invoice",
                    "journal_id": journal.id,
                    "partner_id": partner.id,
                    "invoice_date": due - timedelta(days=30),
                    "invoice_date_due": due,
                    "invoice_line_ids": [
                        fields.Command.create({"name": line, "quantity": 1, "price_unit": amount})
                    ],
                }
            )
        moves.action_post()
        return moves

    @api.model
    def _cgsms_demo_lang(self, partner):
        """The language the demo writes a customer's invoice in: the customer's own, else the
        active language of the customer's country (Portuguese in Portugal), else the reader's."""
        installed = {code for code, _name in self.env["res.lang"].get_installed()}
        if partner.lang in installed and partner.lang != "en_US":
            return partner.lang
        country = partner.country_id.code
        local = sorted(code for code in installed if country and code.endswith(f"_{country}"))
        return local[0] if local else self.env.lang
