from ast import literal_eval

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestRepairDemo(TransactionCase):
    """The demo a Portuguese user tries: Portuguese customers with repairs and overdue
    invoices, a Lisbon group of customers only, and the shared templates under SMS."""

    def setUp(self):
        super().setUp()
        if not self.env.ref("cgsms_repairs.repair_demo_ana", raise_if_not_found=False):
            self.skipTest("installed without demo data")

    def test_demo_repairs_belong_to_portuguese_customers(self):
        repairs = self.env.ref("cgsms_repairs.repair_demo_ana") | self.env.ref(
            "cgsms_repairs.repair_demo_joao"
        )
        self.assertEqual(set(repairs.partner_id.country_id.mapped("code")), {"PT"})
        self.assertTrue(
            all(n.startswith("+351") for n in repairs.partner_id.mapped("cgsms_mobile"))
        )

    def test_demo_overdue_invoices_of_portuguese_customers(self):
        overdue = self.env["account.move"].search(self.env["account.move"]._cgsms_overdue_domain())
        portuguese = overdue.filtered(lambda m: m.partner_id.country_id.code == "PT")
        self.assertIn(self.env.ref("cgsms.partner_demo_ana"), portuguese.partner_id)
        groups, _skipped = portuguese._cgsms_reminder_groups()
        self.assertTrue(groups, "a Portuguese customer can get a reminder")

    def test_lisbon_group_holds_customers_only(self):
        group = self.env.ref("cgsms.group_demo_lisbon")
        partners = self.env["res.partner"].search(literal_eval(group.filter_domain))
        self.assertIn(self.env.ref("cgsms.partner_demo_ana"), partners)
        self.assertNotIn(self.env.company.partner_id, partners)
        self.assertFalse(partners.user_ids, "no member of staff")

    def test_sms_templates_menu_lists_the_repair_template(self):
        action = self.env.ref("cgsms.sms_template_action_cgsms")
        templates = self.env["sms.template"].search(literal_eval(action.domain))
        self.assertIn(self.env.ref("cgsms_repairs.sms_template_repair_done"), templates)
