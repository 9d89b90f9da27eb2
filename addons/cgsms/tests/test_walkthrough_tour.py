from odoo.tests import HttpCase, new_test_user, tagged

from .common import CgsmsGatewayMixin


@tagged("post_install", "-at_install")
class TestWalkthroughTour(CgsmsGatewayMixin, HttpCase):
    """The screens a new user goes through, driven in the browser."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="cgsms_pack_manager",
            groups="base.group_user,cgsms.group_cgsms_manager",
            name="Pack Manager",
        )
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        new_test_user(
            cls.env,
            login="cgsms_walk_pt",
            groups="base.group_user,cgsms.group_cgsms_user",
            lang="pt_PT",
        )

    def test_record_a_pack_from_the_credits_screen(self):
        before = self.account.credit_available
        self.start_tour("/odoo", "cgsms_record_pack_tour", login="cgsms_pack_manager")
        line = self.env["cgsms.credit.line"].search([("reference", "=", "Tour pack 1000 SMS")])
        self.assertEqual(line.kind, "topup")
        self.assertEqual(line.account_id, self.account)
        self.assertEqual(line.user_id, self.manager)
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self.account.credit_available, before + 1440)

    def test_reloading_an_untouched_new_sms_creates_nothing(self):
        Message = self.env["cgsms.message"]
        before = Message.search_count([])
        self.start_tour("/odoo", "cgsms_new_form_reload_tour", login="admin")
        self.assertEqual(Message.search_count([]), before)

    def test_template_form_is_title_and_message_with_counter(self):
        self.start_tour("/odoo", "cgsms_template_form_tour", login="cgsms_pack_manager")
        template = self.env["sms.template"].search([("name", "=", "Reparação pronta")])
        self.assertEqual(template.model, "res.partner")
        self.assertEqual(template.body, "Olá {{ object.name }}, a sua reparação está pronta.")

    def test_one_recipient_reads_in_the_singular_in_portuguese(self):
        # The first Portuguese page reads every module's translations: done here beforehand,
        # so that the browser's idle pre-opened connection does not time out meanwhile.
        IrHttp = self.env["ir.http"]
        # named _get_translations_for_webclient on 19.0, with no default for the modules
        warm = getattr(IrHttp, "_get_translations_for_webclient", None)
        (warm or IrHttp.get_translations_for_webclient)(self.registry._init_modules, "pt_PT")
        self.start_tour("/odoo", "cgsms_singular_tour", login="cgsms_walk_pt")
