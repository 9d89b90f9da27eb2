from odoo.tests import TransactionCase, tagged

from .translations_common import PortugueseTranslationsMixin


@tagged("post_install", "-at_install")
class TestTranslations(PortugueseTranslationsMixin, TransactionCase):
    pt_module = "cgsms"

    def test_views_and_menus_show_pt_po_in_portuguese(self):
        self.assertEqual(self._pt_untranslated("cgsms"), [])

    def test_every_view_text_and_menu_has_a_portuguese_translation(self):
        self.assertEqual(self._pt_views_without_entry("cgsms"), [])

    def test_delivery_report_settings_and_menu_in_portuguese(self):
        self._pt_load("cgsms")
        menu = self.env.ref("cgsms.cgsms_delivery_report_menu").with_context(lang="pt_PT")
        self.assertNotEqual(menu.name, "Unmatched delivery reports")
        view = self.env.ref("cgsms.res_config_settings_view_form_dlr").with_context(lang="pt_PT")
        self.assertNotIn("Delivery report URL", view.arch_db)

    def test_reminders_menu_keeps_the_word_sms(self):
        self._pt_load("cgsms")
        menu = self.env.ref("cgsms.cgsms_menu_invoice_reminders")
        self.assertIn("SMS", menu.with_context(lang="en_US").name)
        self.assertIn("SMS", menu.with_context(lang="pt_PT").name)

    def test_every_field_label_and_choice_in_our_views_has_a_portuguese_translation(self):
        self.maxDiff = None
        self.assertEqual(self._pt_view_fields_without_entry("cgsms"), [])
