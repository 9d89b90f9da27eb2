"""An account routed by a prefix: the countries phonenumbers places under that prefix and the
account's destinations leave out are named on its form, and their numbers are refused."""

from odoo.tests import Form, tagged

from ..engine import policy
from .common import CgsmsCase

# Mobiles that phonenumbers places in Guernsey, Jersey and the Isle of Man, all under +44.
MOBILES = {
    "GB": "+447400123456",
    "GG": "+447781123456",
    "JE": "+447797712345",
    "IM": "+447624123456",
}


@tagged("post_install", "-at_install")
class TestRoutingPrefixCountries(CgsmsCase):
    def test_form_names_guernsey_jersey_and_man_under_plus_44_for_a_gb_account(self):
        with Form(self.account.with_context(lang="en_US")) as form:
            form.route_prefixes = "+44"
            form.allowed_country_ids.clear()
            form.allowed_country_ids.add(self.env.ref("base.uk"))
            warning = form.route_warning
        self.assertIn("+44", warning)
        for name in ("Guernsey", "Jersey", "Isle of Man"):
            self.assertIn(name, warning)
        self.assertNotIn("United Kingdom", warning)
        self.assertEqual(self.account.route_warning, warning)  # still there once saved

    def test_no_warning_when_the_destinations_cover_the_prefix(self):
        self.account.write(
            {
                "route_prefixes": "+351, +44",
                "allowed_country_ids": [
                    (
                        6,
                        0,
                        self.env["res.country"]
                        .search([("code", "in", ["PT", "GB", "GG", "JE", "IM"])])
                        .ids,
                    )
                ],
            }
        )
        self.assertFalse(self.account.route_warning)
        self.account.route_prefixes = False
        self.assertFalse(self.account.route_warning)

    def test_numbers_of_left_out_countries_under_the_prefix_refused(self):
        self.account.write(
            {"route_prefixes": "+44", "allowed_country_ids": [(6, 0, self.env.ref("base.uk").ids)]}
        )
        self.assertTrue(policy.destination(self.account, MOBILES["GB"]).allowed)
        for region in ("GG", "JE", "IM"):
            with self.subTest(region=region):
                refused = policy.destination(self.account, MOBILES[region])
                self.assertEqual((refused.reason, refused.country_code), ("country", region))

    def test_warning_in_portuguese(self):
        self.env["res.lang"]._activate_lang("pt_PT")
        self.env["ir.module.module"].search([("name", "=", "cgsms")])._update_translations(
            "pt_PT", overwrite=True
        )
        self.account.write(
            {"route_prefixes": "+44", "allowed_country_ids": [(6, 0, self.env.ref("base.uk").ids)]}
        )
        warning = self.account.with_context(lang="pt_PT").route_warning
        self.assertIn("recusados", warning)
