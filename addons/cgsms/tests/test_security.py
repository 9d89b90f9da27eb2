"""Attacks by real users (no SMS group, SMS user, SMS manager, portal) in two companies, each
made the way the web client or JSON-RPC would make it. Every refusal is a clear sentence, in
English and in Portuguese."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .. import compat
from .common import CgsmsCase
from .invoice_common import CgsmsInvoiceCase

EVIL_GROUPS = (
    "{{ object.env['res.users'].browse(%(uid)s).write("
    "{'" + compat.GROUPS_FIELD + "': [(4, object.env.ref('base.group_system').id)]}) }}"
)
EVIL_SUDO = (
    "{{ object.env['res.users'].sudo().browse(%(uid)s).write("
    "{'" + compat.GROUPS_FIELD + "': [(4, object.env.ref('base.group_system').id)]}) }}"
)
EVIL_SECRETS = "{{ object.env['cgsms.account'].search([]).mapped('password') }}"


@tagged("post_install", "-at_install")
class TestSecurity(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        pt = cls.env.ref("base.pt")
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create({"name": "Loja B", "country_id": pt.id})
        cls.account_b = cls._cgsms_make_account(cls.company_b)
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.account_b.id, "kind": "topup", "amount": 100, "reference": "B"}
        )
        sms_user = "base.group_user,cgsms.group_cgsms_user"
        user = cls._cgsms_user
        cls.user_a = user("sec_user_a", sms_user, cls.company_a)
        cls.user_a2 = user("sec_user_a2", sms_user, cls.company_a)
        cls.user_b = user("sec_user_b", sms_user, cls.company_b)
        cls.manager_a = user(
            "sec_manager_a", "base.group_user,cgsms.group_cgsms_manager", cls.company_a
        )
        cls.nobody = user("sec_nobody", "base.group_user", cls.company_a)
        cls.portal = user("sec_portal", "base.group_portal", cls.company_a)
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.company_ids |= cls.company_a
        # A customer only company A may see, and one shared by both companies.
        cls.maria_a = cls.env["res.partner"].create(
            {
                "name": "Maria de A",
                "cgsms_mobile": "926 111 222",
                "country_id": pt.id,
                "company_id": cls.company_a.id,
            }
        )
        cls.shared = cls.env["res.partner"].create(
            {"name": "Rui Partilhado", "cgsms_mobile": "913 000 111", "country_id": pt.id}
        )
        cls.system = cls.env.ref("base.group_system")

    # ------------------------------------------------------------------ helpers

    def _refused(self, call, exception=UserError, english=None):
        """Run ``call(lang)`` in English then Portuguese: both refused with a message, the
        Portuguese one translated. Returns {lang: message}."""
        errors = {}
        for lang in ("en_US", "pt_PT"):
            with self.assertRaises(exception) as caught:
                call(lang)
            errors[lang] = str(caught.exception.args[0])
        if english:
            self.assertIn(english, errors["en_US"])
        self.assertNotEqual(errors["en_US"], errors["pt_PT"], "the error must be translated")
        return errors

    def _new_message(self, user, company=None, **vals):
        Message = self.env["cgsms.message"].with_user(user)
        if company:
            Message = Message.with_company(company)
        return Message.create({"body": "Olá", **vals})

    def _run_scheduled_cron(self):
        cron = self.env.ref("cgsms.ir_cron_cgsms_message_send")
        with self._shared_cursors():
            cron.method_direct_trigger()
        self.env.invalidate_all()

    @staticmethod
    def _notes(message):
        """The chatter of ``message`` as one text (on 19.0 the cron's transaction ends before
        the test reads it, so the tracking of the state change comes after the note)."""
        return " ".join(str(body) for body in message.message_ids.mapped("body"))

    def _schedule(self, message):
        message.scheduled_date = fields.Datetime.now() - timedelta(seconds=1)
        message.action_schedule()
        self.assertEqual(message.state, "scheduled")

    # ------------------------------------------------------------------ 1. scheduled sends

    def test_scheduled_body_edited_to_code_is_not_run_by_the_cron(self):
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        self._schedule(message)
        message.write({"body": EVIL_GROUPS % {"uid": self.user_a.id}})
        self._run_scheduled_cron()
        self.assertFalse(self.user_a.has_group("base.group_system"), "privilege escalation")
        self.assertNotIn(self.user_a, self.system[compat.GROUP_USERS_FIELD])
        self.assertFalse(self._gateway_messages())
        self.assertEqual(message.state, "draft")
        self.assertIn("template editor", self._notes(message))

    def test_scheduled_body_cannot_read_provider_secrets(self):
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        self._schedule(message)
        message.body = EVIL_SECRETS
        self._run_scheduled_cron()
        secrets = {self.account.sudo().password, self.account_b.sudo().password}
        for sent in self._gateway_messages():
            self.assertFalse(any(s in sent["body"] for s in secrets))
        bodies = self.env["cgsms.recipient"].sudo().search([]).mapped("body")
        self.assertFalse([b for b in bodies if any(s in (b or "") for s in secrets)])

    def test_code_in_message_refused_when_scheduling(self):
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        message.body = EVIL_SECRETS
        message.scheduled_date = fields.Datetime.now() + timedelta(hours=1)
        self._refused(
            lambda lang: message.with_context(lang=lang).action_schedule(),
            english="template editor",
        )
        self.assertEqual(message.state, "draft")

    def test_administrator_sending_a_body_written_by_a_user_renders_no_code(self):
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        message.body = EVIL_GROUPS % {"uid": self.user_a.id}
        as_admin = message.with_user(self.admin)
        self._refused(lambda lang: as_admin.with_context(lang=lang).action_send())
        self._refused(lambda lang: as_admin.with_context(lang=lang).action_schedule())
        self.assertFalse(self.user_a.has_group("base.group_system"))
        self.assertFalse(self._gateway_messages())

    def test_other_user_cannot_change_a_scheduled_send(self):
        message = self._new_message(self.manager_a, partner_ids=self.shared.ids)
        self._schedule(message)
        theirs = message.with_user(self.user_a)
        self._refused(
            lambda lang: theirs.with_context(lang=lang).write({"body": "{{ object.name }}"}),
            exception=AccessError,
            english="scheduled",
        )
        with self.assertRaises(AccessError):
            theirs.action_draft()
        with self.assertRaises(AccessError):
            theirs.unlink()
        self.assertEqual((message.state, message.body), ("scheduled", "Olá"))

    def test_owner_and_manager_may_change_a_scheduled_send(self):
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        self._schedule(message)
        message.body = "Olá de novo"
        message.with_user(self.manager_a).body = "Olá {{ object.name }}"
        self._run_scheduled_cron()
        self.assertEqual(message.state, "done")
        self.assertEqual(self._gateway_messages()[0]["body"], "Ola Rui Partilhado")

    def test_state_cannot_be_forced_by_create_or_write(self):
        Message = self.env["cgsms.message"].with_user(self.user_a)
        scheduled = {
            "body": "Olá",
            "partner_ids": self.shared.ids,
            "state": "scheduled",
            "scheduled_date": fields.Datetime.now(),
        }
        self._refused(
            lambda lang: Message.with_context(lang=lang).create(scheduled), english="Schedule"
        )
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        for state in ("scheduled", "sending", "done"):
            self._refused(
                lambda lang, s=state: message.with_context(lang=lang).write({"state": s}),
                english="Schedule",
            )
        self.assertEqual(message.state, "draft")
        self._run_scheduled_cron()
        self.assertFalse(self._gateway_messages())

    def test_scheduled_send_runs_as_its_user_even_if_responsible_changed(self):
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        message.user_id = self.admin
        self._schedule(message)
        message.body = EVIL_GROUPS % {"uid": self.user_a.id}
        self._run_scheduled_cron()
        self.assertFalse(self.user_a.has_group("base.group_system"))

    def test_scheduled_send_not_sent_once_its_user_lost_the_sms_rights(self):
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        self._schedule(message)
        self.user_a.write({compat.GROUPS_FIELD: [(3, self.env.ref("cgsms.group_cgsms_user").id)]})
        self._run_scheduled_cron()
        self.assertFalse(self._gateway_messages())
        message = message.sudo()
        self.assertEqual(message.state, "draft")
        self.assertIn("may no longer send SMS", self._notes(message))

    # ------------------------------------------------------------------ 2. cross-company

    def test_scheduled_send_skips_customers_of_another_company(self):
        group = (
            self.env["cgsms.group"]
            .with_user(self.user_b)
            .create(
                {
                    "name": "Todos",
                    "use_filter": True,
                    "filter_domain": "[('cgsms_mobile', '!=', False)]",
                }
            )
        )
        message = self._new_message(
            self.user_b,
            partner_ids=(self.maria_a | self.shared).ids,
            group_ids=group.ids,
        )
        self.assertEqual(message.company_id, self.company_b)
        self._schedule(message)
        self._run_scheduled_cron()
        sent_to = {sent["to"] for sent in self._gateway_messages()}
        self.assertIn("+351913000111", sent_to)
        self.assertNotIn("+351926111222", sent_to)
        lines = message.with_user(self.user_b).recipient_ids
        self.assertNotIn(self.maria_a.id, lines.sudo().partner_id.ids)
        self.assertFalse([n for n in lines.mapped("number") if n and "926111222" in n])
        self.assertFalse([b for b in lines.mapped("body") if "Maria" in (b or "")])
        hidden = lines.filtered(lambda r: r.error_class == "no_access")
        self.assertEqual(len(hidden), 1)
        self.assertTrue(hidden.failure_reason)

    def test_draft_preview_lists_other_company_customer_without_naming_it(self):
        message = self._new_message(
            self.user_b, partner_ids=(self.maria_a | self.shared).ids
        ).with_user(self.user_b)
        previews = {}
        for lang in ("en_US", "pt_PT"):
            draft = message.with_context(lang=lang)
            draft.invalidate_recordset(["preview_html", "recipient_count"])
            previews[lang] = str(draft.preview_html)
            self.assertEqual(draft.recipient_count, 1)
        self.assertNotIn("Maria", previews["en_US"])
        self.assertNotIn("926", previews["en_US"])
        self.assertIn("may not see", previews["en_US"])
        self.assertNotIn("may not see", previews["pt_PT"])

    # ------------------------------------------------------------------ 4. length cap

    def test_express_message_over_the_segment_cap_refused(self):
        Wizard = self.env["cgsms.express.wizard"].with_user(self.user_a)
        before = self.account.credit_available
        self._refused(
            lambda lang: Wizard.with_context(lang=lang).express_send(
                "912 000 111", [], "x" * 10000
            ),
            english="too long",
        )
        self.assertFalse(self._gateway_messages())
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self.account.credit_available, before, places=4)

    def test_template_over_the_segment_cap_refused_at_save(self):
        template = self.env.ref("cgsms.sms_template_invoice_reminder")
        self._refused(
            lambda lang: template.with_context(lang=lang).write({"body": "x" * 153 * 11}),
            exception=ValidationError,
            english="too long",
        )

    # ------------------------------------------------------------------ 5. opt-out

    def test_opt_out_needs_the_rights_on_the_phone_blacklist(self):
        for user in (self.nobody, self.user_a):
            partner = self.shared.with_user(user)
            self._refused(
                lambda lang, p=partner: p.with_context(lang=lang).action_cgsms_opt_out(),
                exception=AccessError,
                english="blacklist",
            )
        self.assertFalse(
            self.env["phone.blacklist"].sudo().search([("number", "=", "+351913000111")])
        )

    def test_opt_out_undone_by_who_may_do_it(self):
        partner = self.shared.with_user(self.manager_a)
        partner.action_cgsms_opt_out()
        Blacklist = self.env["phone.blacklist"].sudo()
        self.assertTrue(Blacklist.search([("number", "=", "+351913000111")]))
        partner.action_cgsms_opt_in()
        self.assertFalse(Blacklist.search([("number", "=", "+351913000111")]))
        self.shared.with_user(self.admin).action_cgsms_opt_out()
        self._refused(
            lambda lang: (
                self.shared.with_user(self.user_a).with_context(lang=lang).action_cgsms_opt_in()
            ),
            exception=AccessError,
            english="blacklist",
        )
        self.assertTrue(Blacklist.search([("number", "=", "+351913000111")]))

    # ------------------------------------------------------------------ 6. bad input

    def test_nul_byte_in_message_or_number_refused(self):
        Message = self.env["cgsms.message"].with_user(self.user_a)
        self._refused(
            lambda lang: Message.with_context(lang=lang).create(
                {"body": "Olá\x00", "partner_ids": self.shared.ids}
            ),
            english="invisible",
        )
        message = self._new_message(self.user_a, partner_ids=self.shared.ids)
        self._refused(
            lambda lang: message.with_context(lang=lang).write({"free_numbers": "912\x00"}),
            english="invisible",
        )
        Wizard = self.env["cgsms.express.wizard"].with_user(self.user_a)
        self._refused(
            lambda lang: Wizard.with_context(lang=lang).express_send("912\x00000111", [], "Olá"),
            english="invisible",
        )
        self._refused(
            lambda lang: Wizard.with_context(lang=lang).express_send("912000111", [], "O\x00"),
            english="invisible",
        )
        self.assertFalse(self._gateway_messages())

    def test_malformed_api_url_refused(self):
        account = self.account.with_user(self.manager_a)
        self._refused(
            lambda lang: account.with_context(lang=lang).write({"base_url": "http://[::1"}),
            exception=ValidationError,
            english="API URL",
        )
        # An address saved before this check still gives a clear answer on Test connection.
        self.env.cr.execute(
            "UPDATE cgsms_account SET base_url = 'http://[::1' WHERE id = %s", [self.account.id]
        )
        account.invalidate_recordset(["base_url"])
        result = account.action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("API URL", result["params"]["message"])

    def test_balance_of_another_company_not_read_through_onchange(self):
        Message = self.env["cgsms.message"].with_user(self.user_b)
        spec = {
            "company_id": {},
            "account_id": {},
            "credit_available": {},
            "cost_per_segment": {},
            "cost_per_segment_label": {},
        }
        result = Message.onchange({"company_id": self.company_a.id, "body": "x"}, [], spec)
        value = result.get("value", {})
        balance_a = self.account.credit_available
        self.assertNotEqual(value.get("credit_available"), balance_a)
        self.assertFalse(value.get("credit_available"))
        self.assertFalse(value.get("account_id"))
        self.assertFalse(value.get("cost_per_segment"))
        Wizard = self.env["cgsms.express.wizard"].with_user(self.user_b)
        spec = {"company_id": {}, "credit_available": {}, "cost_per_segment": {}}
        value = Wizard.onchange({"company_id": self.company_a.id}, [], spec).get("value", {})
        self.assertFalse(value.get("credit_available"))
        with self.assertRaises(AccessError):
            Wizard.create({"company_id": self.company_a.id, "numbers": "912000111"}).action_send()

    def test_draft_cannot_move_to_a_company_of_someone_else(self):
        message = self._new_message(self.user_b, partner_ids=self.shared.ids)
        self._refused(
            lambda lang: message.with_context(lang=lang).write({"company_id": self.company_a.id}),
            exception=AccessError,
            english="company",
        )
        self.assertEqual(message.sudo().company_id, self.company_b)

    def test_sms_user_cannot_write_shared_or_other_company_templates(self):
        reminder = self.env.ref("cgsms.sms_template_invoice_reminder")
        with self.assertRaises(AccessError):
            reminder.with_user(self.user_a).write({"body": "Pague já"})
        theirs = (
            self.env["sms.template"]
            .with_user(self.user_b)
            .create(
                {"name": "B", "model_id": self.env.ref("base.model_res_partner").id, "body": "B"}
            )
        )
        with self.assertRaises(AccessError):
            theirs.with_user(self.user_a).write({"body": "Hacked"})
        self.assertEqual(theirs.sudo().body, "B")
        self.assertEqual(reminder.body[:4], "Dear")
        ours = (
            self.env["sms.template"]
            .with_user(self.user_a)
            .create(
                {"name": "A", "model_id": self.env.ref("base.model_res_partner").id, "body": "A"}
            )
        )
        ours.body = "A2"
        self.assertEqual(ours.body, "A2")
        # The reminder templates stay usable by the users of every company.
        self.assertTrue(reminder.with_user(self.user_b).body)

    def test_history_change_refused_with_a_translated_sentence(self):
        line = self.env["cgsms.recipient"].create(
            {"company_id": self.company_a.id, "number": "+351913000111", "state": "delivered"}
        )
        theirs = line.with_user(self.manager_a)
        self._refused(
            lambda lang: theirs.with_context(lang=lang).write({"state": "failed"}),
            exception=AccessError,
            english="history",
        )
        with self.assertRaises(UserError):
            line.unlink()
        self.assertEqual(line.state, "delivered")

    def test_portal_and_users_without_sms_group_cannot_send(self):
        for user in (self.portal, self.nobody):
            with self.assertRaises(AccessError):
                self.env["cgsms.message"].with_user(user).create({"body": "x"})


@tagged("post_install", "-at_install")
class TestReminderSecurity(CgsmsInvoiceCase):
    """The reminder wizard renders the text a user types with that user's template rights."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        cls.clerk = new_test_user(
            cls.env,
            login="sec_clerk",
            groups="base.group_user,account.group_account_invoice,cgsms.group_cgsms_user",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )

    def _wizard(self, body):
        invoice = self._invoice(self.customer, self._today() - timedelta(days=10))
        Wizard = self.env["cgsms.reminder.wizard"].with_user(self.clerk)
        return Wizard.create({"move_ids": invoice.ids, "template_id": False, "body": body})

    def test_typed_reminder_with_code_is_not_run(self):
        wizard = self._wizard(EVIL_SUDO % {"uid": self.clerk.id})
        with self.assertRaises(AccessError):
            wizard.action_send()
        self.assertFalse(self.clerk.has_group("base.group_system"))
        self.assertFalse(self._gateway_messages())

    def test_typed_reminder_over_the_segment_cap_refused(self):
        wizard = self._wizard("x" * 153 * 11)
        errors = {}
        for lang in ("en_US", "pt_PT"):
            with self.assertRaises(UserError) as caught:
                wizard.with_context(lang=lang).action_send()
            errors[lang] = str(caught.exception.args[0])
        self.assertIn("too long", errors["en_US"])
        self.assertNotEqual(errors["en_US"], errors["pt_PT"])
        self.assertFalse(self._gateway_messages())
