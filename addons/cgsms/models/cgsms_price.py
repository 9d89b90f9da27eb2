import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

_PREFIX = re.compile(r"^\+[1-9]\d{0,14}$")


class CgsmsPrice(models.Model):
    _name = "cgsms.price"
    _description = "SMS price per destination"
    _order = "account_id, prefix, country_id"

    account_id = fields.Many2one("cgsms.account", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    country_id = fields.Many2one(
        "res.country", "Country", help="The price of every number of this country."
    )
    prefix = fields.Char(
        help="The price of the numbers starting with this international prefix, e.g. +4475. "
        "A longer prefix wins over a shorter one and over the country.",
    )
    cost_per_segment = fields.Float(
        "Credits per SMS", digits=(12, 4), required=True, help="Credits per SMS segment."
    )

    @api.constrains("country_id", "prefix", "cost_per_segment")
    def _check_destination(self):
        for price in self:
            if bool(price.country_id) == bool(price.prefix):
                raise ValidationError(
                    self.env._("A price is for a country or for a prefix: set exactly one.")
                )
            if price.prefix and not _PREFIX.match(price.prefix):
                raise ValidationError(
                    self.env._(
                        "%(prefix)s is not an international prefix: write it like +4475.",
                        prefix=price.prefix,
                    )
                )
            if price.cost_per_segment < 0:
                raise ValidationError(self.env._("The credits per SMS cannot be negative."))

    @api.model_create_multi
    def create(self, vals_list):
        prices = super().create(vals_list)
        self.env.registry.clear_cache()  # the accounts' policy rules
        return prices

    def write(self, vals):
        res = super().write(vals)
        self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()
        return res

    @api.depends("country_id", "prefix")
    def _compute_display_name(self):
        for price in self:
            price.display_name = price.prefix or price.country_id.name or ""
