from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.tests import Form, new_test_user, tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestGroup(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.ana = Partner.create({"name": "Ana Braga", MOBILE: "912 000 001", "city": "Braga"})
        cls.rui = Partner.create({"name": "Rui Braga", MOBILE: "912 000 002", "city": "Braga"})
        cls.eva = Partner.create({"name": "Eva Faro", MOBILE: "912 000 003", "city": "Faro"})

    def test_dynamic_filter_matches_are_members_counted_once(self):
        with Form(self.env["cgsms.group"]) as form:
            form.name = "Braga"
            form.partner_ids.add(self.ana)
            form.partner_ids.add(self.eva)
            form.use_filter = True
            form.filter_domain = "[('city', '=', 'Braga')]"
            self.assertEqual(form.filter_count, 2)
            self.assertEqual(form.member_count, 3, "Ana is listed and matched: counted once")
        group = form.record
        self.assertEqual(group._get_members(), self.ana | self.rui | self.eva)

    def test_filter_applies_to_contacts_created_later(self):
        group = self.env["cgsms.group"].create(
            {"name": "Faro", "use_filter": True, "filter_domain": "[('city', '=', 'Faro')]"}
        )
        self.assertEqual(group.member_count, 1)
        late = self.env["res.partner"].create({"name": "Late Faro", "city": "Faro"})
        group.invalidate_recordset(["member_count"])
        self.assertEqual(group.member_count, 2)
        self.assertIn(late, group._get_members())

    def test_filter_ignored_when_switched_off(self):
        group = self.env["cgsms.group"].create(
            {"name": "Off", "partner_ids": [(4, self.ana.id)], "filter_domain": "[]"}
        )
        self.assertEqual(group.member_count, 1)

    def test_send_button_opens_new_sms_prefilled_with_group(self):
        group = self.env["cgsms.group"].create({"name": "VIP", "partner_ids": [(4, self.ana.id)]})
        action = group.action_send_sms()
        self.assertEqual(action["res_model"], "cgsms.message")
        message = Form(self.env["cgsms.message"].with_context(**action["context"]))
        self.assertEqual(message.group_ids[:], group)
        self.assertEqual(message.recipient_count, 1)

    def test_group_of_another_company_is_hidden(self):
        other = self.env["res.company"].create({"name": "Other company"})
        hidden = self.env["cgsms.group"].create({"name": "Theirs", "company_id": other.id})
        user = new_test_user(
            self.env,
            login="cgsms_group_user",
            groups="cgsms.group_cgsms_user",
            company_id=self.company.id,
        )
        visible = self.env["cgsms.group"].with_user(user).search([("name", "=", "Theirs")])
        self.assertFalse(visible)
        self.assertTrue(hidden.exists())
