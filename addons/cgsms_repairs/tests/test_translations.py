from odoo.addons.cgsms.tests.translations_common import PortugueseTranslationsMixin
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestRepairTranslations(PortugueseTranslationsMixin, TransactionCase):
    pt_module = "cgsms_repairs"

    def test_views_and_menus_show_pt_po_in_portuguese(self):
        self.assertEqual(self._pt_untranslated("cgsms_repairs"), [])

    def test_every_view_text_and_menu_has_a_portuguese_translation(self):
        self.assertEqual(self._pt_views_without_entry("cgsms_repairs"), [])

    def test_every_field_label_and_choice_in_our_views_has_a_portuguese_translation(self):
        self.assertEqual(self._pt_view_fields_without_entry("cgsms_repairs"), [])
