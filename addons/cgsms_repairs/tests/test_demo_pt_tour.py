from odoo.tests import HttpCase, new_test_user, tagged

from .common import CgsmsRepairsMixin


@tagged("post_install", "-at_install")
class TestDemoPtTour(CgsmsRepairsMixin, HttpCase):
    """The demo data in Portuguese, driven in the browser by a Portuguese user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(
            ["cgsms", "cgsms_repairs"], ["pt_PT"], overwrite=True
        )
        cls.user = new_test_user(
            cls.env,
            login="cgsms_demo_pt",
            groups="base.group_user,cgsms.group_cgsms_manager,stock.group_stock_user",
            lang="pt_PT",
        )

    def test_demo_in_portuguese(self):
        repair = self.env.ref("cgsms_repairs.repair_demo_ana", raise_if_not_found=False)
        if not repair:
            self.skipTest("installed without demo data")
        # The first Portuguese page reads every module's translations: done beforehand, so
        # that the browser's idle pre-opened connection does not time out meanwhile.
        IrHttp = self.env["ir.http"]
        warm = getattr(IrHttp, "_get_translations_for_webclient", None)
        (warm or IrHttp.get_translations_for_webclient)(self.registry._init_modules, "pt_PT")
        self.start_tour(
            f"/odoo/action-repair.action_repair_order_tree/{repair.id}",
            "cgsms_demo_pt_tour",
            login="cgsms_demo_pt",
        )
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["body"], "Ja foi diagnosticado. Orcamento enviado por email.")
        self.assertEqual(sent[0]["to"], "+351912345678")
        self.assertEqual(
            repair.cgsms_message_ids.body, "Já foi diagnosticado. Orçamento enviado por email."
        )
