from odoo.addons.cgsms.tests.translations_common import PortugueseTranslationsMixin
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestMassMailingTranslations(PortugueseTranslationsMixin, TransactionCase):
    pt_module = "cgsms_mass_mailing"

    def test_views_show_pt_po_in_portuguese(self):
        self.assertEqual(self._pt_untranslated("cgsms_mass_mailing"), [])

    def test_every_view_text_has_a_portuguese_translation(self):
        self.assertEqual(self._pt_views_without_entry("cgsms_mass_mailing"), [])

    def test_the_mailing_figures_read_in_portuguese(self):
        fields = (
            self.env["mailing.mailing"]
            .with_context(lang="pt_PT")
            .fields_get(["cgsms_recipient_count", "cgsms_estimated_cost"], ["string"])
        )
        self.assertEqual(fields["cgsms_recipient_count"]["string"], "Destinatários SMS")
        self.assertEqual(fields["cgsms_estimated_cost"]["string"], "Custo dos SMS")
