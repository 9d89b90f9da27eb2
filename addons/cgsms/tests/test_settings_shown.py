from ast import literal_eval

from odoo.tests import Form, tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestSettingsShown(CgsmsCase):
    """What Settings and the SMS menus show a Portuguese user: the templates in use, the
    shared templates, credits beside the provider's balance, with 2 decimals."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)

    def test_settings_show_the_reminder_template_the_wizard_uses(self):
        # a company that existed before the module: no template of its own
        self.company.cgsms_reminder_template_id = False
        self.company.cgsms_invoice_post_template_id = False
        default = self.env.ref("cgsms.sms_template_invoice_reminder")
        settings = Form(self.env["res.config.settings"])
        self.assertEqual(settings.cgsms_reminder_template_id, default)
        self.assertEqual(
            settings.cgsms_invoice_post_template_id,
            self.env.ref("cgsms.sms_template_invoice_posted"),
        )
        defaults = self.env["cgsms.reminder.wizard"].default_get(["template_id"])
        self.assertEqual(defaults["template_id"], default.id)

    def test_template_chosen_in_settings_is_the_company_one(self):
        detailed = self.env.ref("cgsms.sms_template_invoice_reminder_detailed")
        settings = Form(self.env["res.config.settings"])
        settings.cgsms_reminder_template_id = detailed
        settings.save().execute()
        self.assertEqual(self.company.cgsms_reminder_template_id, detailed)
        self.assertEqual(self.company._cgsms_reminder_template(), detailed)

    def test_sms_templates_menu_lists_the_invoice_templates(self):
        action = self.env.ref("cgsms.sms_template_action_cgsms")
        templates = self.env["sms.template"].search(literal_eval(action.domain))
        self.assertIn(self.env.ref("cgsms.sms_template_invoice_reminder"), templates)
        self.assertIn(self.env.ref("cgsms.sms_template_invoice_posted"), templates)

    def test_template_form_counts_the_text_as_it_leaves(self):
        # the send form's counter reads the account's setting: so does the template's
        self.assertTrue(self.account.gsm7_safe)
        template = Form(
            self.env["sms.template"].with_context(default_model="res.partner"),
            view="cgsms.sms_template_view_form_cgsms",
        )
        template.name = "Aviso"
        template.body = "Já está pronto."
        self.assertTrue(template.cgsms_gsm7_safe)
        self.account.gsm7_safe = False
        self.assertFalse(template.save().cgsms_gsm7_safe)

    def test_test_connection_puts_provider_balance_beside_our_credits(self):
        action = self.account.with_context(lang="pt_PT").action_test_connection()
        message = action["params"]["message"]
        self.assertIn("Saldo no fornecedor", message)
        self.assertIn("Créditos disponíveis aqui", message)
        self.assertIn("1000,00", message, "our ledger, with 2 decimals")
        self.assertNotIn(",0000", message)

    def test_credits_show_two_decimals_unless_the_price_needs_more(self):
        credits = self.env["cgsms.credit.line"].with_context(lang="pt_PT")
        self.assertEqual(credits._format_credits(1.44), "1,44")
        self.assertEqual(credits._format_credits(7.2), "7,20")
        self.assertEqual(credits._format_credits(1.4375), "1,4375")
        settings = self.env["res.config.settings"].get_view(
            self.env.ref("cgsms.res_config_settings_view_form").id, "form"
        )["arch"]
        self.assertIn('widget="cgsms_credits"', settings)

    def test_demo_pack_is_named_in_the_reader_language(self):
        line = (
            self.env["cgsms.credit.line"].with_context(lang="pt_PT")._cgsms_demo_topup(self.account)
        )
        self.assertEqual(line.reference, "Pacote de demonstração (1000 SMS)")

    def test_demo_invoices_are_written_in_the_customer_language(self):
        Partner = self.env["res.partner"]
        lisbon = Partner.create(
            {"name": "Inês Rocha", "country_id": self.env.ref("base.pt").id, "lang": "en_US"}
        )
        madrid = Partner.create({"name": "Lucía Gil", "country_id": self.env.ref("base.es").id})
        for partner, name in ((lisbon, "lisbon"), (madrid, "madrid")):
            self.env["ir.model.data"].create(
                {"module": "cgsms_test", "name": name, "model": "res.partner", "res_id": partner.id}
            )
        moves = self.env["account.move"]._cgsms_demo_overdue_invoices(
            ["cgsms_test.lisbon", "cgsms_test.madrid"], [184.5, 96.0], [12, 40]
        )
        self.assertEqual(moves.mapped("state"), ["posted", "posted"])
        # Portuguese for the Portuguese customer (Spanish is not installed: the reader's)
        self.assertEqual(
            moves.invoice_line_ids.mapped("name"), ["Serviço de reparação", "Repair service"]
        )
        self.assertEqual(moves.mapped("cgsms_days_overdue"), [12, 40])
