from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from ..providers.base import ProviderError
from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestWalkthrough(CgsmsCase):
    """What a new user met while trying every screen: wording, counts, outages, credits."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        Partner = cls.env["res.partner"]
        cls.maria = Partner.create({"name": "Maria Costa", "cgsms_mobile": "912 345 678"})
        cls.jose = Partner.create({"name": "José Lima", "cgsms_mobile": "+351 935 555 012"})
        cls.user = new_test_user(
            cls.env, login="cgsms_walk_user", groups="base.group_user,cgsms.group_cgsms_user"
        )
        cls.manager = new_test_user(
            cls.env,
            login="cgsms_walk_manager",
            groups="base.group_user,cgsms.group_cgsms_manager",
        )

    def _message(self, body="Hello", partners=(), numbers=""):
        form = Form(self.env["cgsms.message"])
        for partner in partners:
            form.partner_ids.add(partner)
        if numbers:
            form.free_numbers = numbers
        form.body = body
        return form.save()

    def _last_note(self, message):
        # What a commit does first: the sends whose SMS all left are closed and say so.
        self.env.cr.precommit.run()
        return message.message_ids.filtered("body").sorted("id")[-1:].body or ""

    # ------------------------------------------------------------------ credits

    def test_manager_records_a_pack_from_the_credits_screen(self):
        before = self.account.credit_available
        action = self.env["cgsms.credit.line"].with_user(self.manager).browse().action_record_pack()
        self.assertEqual(action["res_model"], "cgsms.credit.line")
        self.assertEqual(action["target"], "new")
        form = Form(
            self.env["cgsms.credit.line"].with_user(self.manager).with_context(action["context"])
        )
        form.amount = 1440
        form.reference = "Pack 1000 SMS"
        line = form.save()
        self.assertEqual((line.kind, line.account_id), ("topup", self.account))
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self.account.credit_available, before + 1440)

    def test_sms_user_cannot_record_a_pack(self):
        with self.assertRaises(AccessError):
            self.env["cgsms.credit.line"].with_user(self.user).browse().action_record_pack()

    def test_low_balance_alert_once_per_active_manager_never_odoobot(self):
        inactive = new_test_user(
            self.env,
            login="cgsms_walk_gone",
            groups="base.group_user,cgsms.group_cgsms_manager",
        )
        inactive.active = False
        self.account.low_balance_threshold = self.account.credit_available + 10
        # recorded from SMS > Configuration > Provider accounts, whose screens list archived
        # accounts too (active_test=False), as the user did
        self.env["cgsms.credit.line"].with_context(active_test=False).create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -1}
        )
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "cgsms.account"), ("res_id", "=", self.account.id)]
        )
        users = activities.user_id
        self.assertEqual(len(activities), len(users), "one activity per manager")
        self.assertIn(self.manager, users)
        self.assertIn(self.env.ref("base.user_admin"), users)
        self.assertNotIn(self.env.ref("base.user_root"), users, "never OdooBot")
        self.assertNotIn(inactive, users)
        self.assertTrue(all(u.active and not u.share for u in users))

    def test_provider_balance_in_the_readers_language(self):
        self.account.write({"provider_balance": 100.0, "provider_currency": "credits"})
        account = self.account.with_context(lang="pt_PT")
        self.assertEqual(account.provider_balance_display, "100,00 créditos")
        self.account.invalidate_recordset(["provider_balance_display"])
        self.assertEqual(
            self.account.with_context(lang="en_US").provider_balance_display, "100.00 credits"
        )

    def test_reminder_wizard_speaks_the_users_language(self):
        wizard = self.env["cgsms.reminder.wizard"].with_context(lang="pt_PT").new({})
        self.assertIn("1 SMS = 1,44 créditos", wizard.credit_info)
        arch = self.env["cgsms.reminder.wizard"].get_view(
            self.env.ref("cgsms.cgsms_reminder_wizard_view_form").id, "form"
        )["arch"]
        # Odoo's sms_widget counter is English-only ("0 characters, fits in 0 SMS (GSM7)")
        self.assertIn('widget="cgsms_sms_body"', arch)
        self.assertNotIn("sms_widget", arch)

    def test_successful_connection_stores_no_english_text(self):
        self.account.with_context(lang="en_US").action_test_connection()
        self.assertEqual(self.account.state, "ok")
        self.assertFalse(self.account.last_check_message)

    def test_not_attempted_reason_shows_no_provider_code(self):
        exc = ProviderError(
            "temporary", "x", provider_code="not_attempted", provider_text="Not attempted: HTTP 503"
        )
        reason = self.account.with_context(lang="pt_PT")._error_message(exc)
        self.assertNotIn("not_attempted", reason)
        self.assertNotIn("Not attempted", reason)

    # ------------------------------------------------------------------ send form

    def test_skipped_numbers_are_counted_alike_before_and_after_sending(self):
        # the send: a customer, the same number twice more, an invalid one, no number
        nobody = self.env["res.partner"].create({"name": "Sem Numero"})
        message = self._message(
            partners=[self.maria, nobody],
            numbers="912345678; +351 912 345 678; 961000001; 12345",
        )
        self.assertEqual((message.recipient_count, message.dropped_count), (2, 4))
        self.assertIn("912345678", message.preview_html, "the number as it was typed")
        self.assertIn("+351 912 345 678", message.preview_html)
        message.action_send()
        self.assertEqual(len(self._gateway_messages()), 2)
        skipped = message.recipient_ids.filtered(lambda r: r.state == "cancelled")
        self.assertEqual(len(skipped), 4)
        # the Recipients tab shows each skipped number as it was typed, not two "+3519..."
        self.assertEqual(
            sorted(number for number in skipped.mapped("typed_number") if number),
            ["+351 912 345 678", "12345", "912345678"],
        )
        self.assertEqual(message.cancelled_count, 4, "the tab's 'Not sent', as the form said")
        self.assertEqual(message.dropped_count, 4)
        self.assertEqual(message.total_count, len(message.recipient_ids), "the Numbers button")
        self.assertEqual(message.total_count, 6)
        self.assertIn("4 numbers skipped.", self._last_note(message), "the chatter")
        self.assertIn(
            "4 números ignorados", message.with_context(lang="pt_PT")._cgsms_done_summary()
        )

    def test_chatter_says_one_number_in_the_singular(self):
        message = self._message(partners=[self.maria])
        message.with_context(lang="en_US").action_send()
        self.assertIn("SMS sent to 1 number.", self._last_note(message))
        message = self._message(partners=[self.maria, self.jose], numbers="12")
        message.with_context(lang="pt_PT").action_send()
        note = self._last_note(message)
        self.assertIn("SMS enviado para 2 números.", note)
        self.assertIn("1 número ignorado.", note)

    def test_outage_chatter_says_queued_then_sent_when_they_leave(self):
        # The provider cannot be reached (connection refused): the SMS certainly did not leave.
        gateway_url = self.account.base_url
        self.account.base_url = "http://127.0.0.1:9"
        message = self._message(partners=[self.maria, self.jose])
        message.with_context(lang="en_US").action_send()
        self.assertFalse(self._gateway_messages())
        self.env.cr.precommit.run()
        self.assertEqual(message.state, "sending")
        self.assertEqual(message.retry_count, 2)
        notes = " ".join(message.message_ids.mapped("body"))
        self.assertNotIn("SMS sent to", notes, "nothing has left yet")
        self.assertIn("2 SMS queued", self._last_note(message))
        # the provider is back: Retry now sends them without waiting for the queue's next try
        self.account.base_url = gateway_url
        message.with_user(self.user).with_context(lang="en_US").action_retry_now()
        self.assertEqual(len(self._gateway_messages()), 2)
        self.assertEqual(message.state, "done")
        self.assertEqual(message.retry_count, 0)
        self.assertIn("SMS sent to 2 numbers.", self._last_note(message))

    def test_retry_now_with_nothing_waiting_says_so(self):
        message = self._message(partners=[self.maria])
        message.action_send()
        with self.assertRaisesRegex(Exception, "No SMS is waiting"):
            message.with_user(self.user).action_retry_now()

    # ------------------------------------------------------------------ templates

    def test_sms_user_writes_a_template_with_title_and_message_only(self):
        action = self.env.ref("cgsms.sms_template_action_cgsms")
        form_view = action.view_ids.filtered(lambda v: v.view_mode == "form").view_id
        self.assertEqual(form_view, self.env.ref("cgsms.sms_template_view_form_cgsms"))
        Template = (
            self.env["sms.template"].with_user(self.user).with_context(default_model="res.partner")
        )
        arch = etree.fromstring(Template.get_view(form_view.id, "form")["arch"])
        for technical in ("model_id", "lang", "sidebar_action_id"):
            # 18.0 leaves developer-mode nodes out of the view, 19.0 sends them invisible
            shown = [
                node
                for node in arch.xpath(f"//field[@name='{technical}']")
                if not any(
                    element.get("invisible") in ("1", "True")
                    for element in (node, *node.iterancestors())
                )
            ]
            self.assertFalse(shown, f"{technical}: the technical fields are for developers")
        form = Form(Template, view=form_view)
        form.name = "Marcação"
        form.body = "Olá {{ object.name }}, lembramos a sua marcação amanhã."
        template = form.save()
        self.assertEqual(
            template.model, "res.partner", "templates of the SMS menu are for contacts"
        )
        self.assertEqual(
            template.cgsms_body_without_contact, "Olá, lembramos a sua marcação amanhã."
        )

    def test_developer_mode_keeps_the_technical_fields(self):
        # base.group_no_one only applies in a debug-mode session: the fields are in the view
        # for that group, and shown by the web client in developer mode
        arch = etree.fromstring(self.env.ref("cgsms.sms_template_view_form_cgsms").arch)
        technical = arch.xpath("//group[@name='technical']")
        self.assertEqual(technical[0].get("groups"), "base.group_no_one")
        names = technical[0].xpath(".//field/@name")
        self.assertIn("model_id", names)
        self.assertIn("lang", names)

    def test_template_sent_to_a_typed_number_reads_well(self):
        template = self.env["sms.template"].create(
            {
                "name": "Marcação",
                "model_id": self.env.ref("base.model_res_partner").id,
                "body": "Bom dia {{ object.name }}, lembramos a sua consulta.",
            }
        )
        form = Form(self.env["cgsms.message"])
        form.template_id = template
        form.partner_ids.add(self.maria)
        form.free_numbers = "935 000 111"
        message = form.save()
        message.action_send()
        bodies = {m["to"]: m["body"] for m in self._gateway_messages()}
        self.assertEqual(bodies["+351912345678"], "Bom dia Maria Costa, lembramos a sua consulta.")
        self.assertEqual(bodies["+351935000111"], "Bom dia, lembramos a sua consulta.")

    def test_demo_template_has_a_portuguese_title(self):
        template = self.env.ref("sms.sms_template_demo_0", raise_if_not_found=False)
        self.assertTrue(template, "the test database is built with demo data")
        self.env["ir.module.module"]._load_module_terms(["sms", "cgsms"], ["pt_PT"])
        self.assertEqual(template.with_context(lang="pt_PT").name, "Cliente: SMS automático")

    def test_user_without_sms_rights_cannot_retry_the_queue(self):
        outsider = new_test_user(self.env, login="cgsms_walk_outsider", groups="base.group_user")
        self.gateway.fail_next("sandbox", "server_error", count=10)
        message = self._message(partners=[self.maria])
        message.action_send()
        self.gateway.reset()
        with self.assertRaises(AccessError):
            message.recipient_ids.with_user(outsider).action_retry_now()
        self.assertFalse(self._gateway_messages())
