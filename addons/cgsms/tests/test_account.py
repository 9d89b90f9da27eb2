import logging

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import CgsmsCase, fake_gateway


@tagged("post_install", "-at_install")
class TestAccount(CgsmsCase):
    def test_test_connection_shows_provider_balance(self):
        action = self.account.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.account.state, "ok")
        self.assertAlmostEqual(self.account.provider_balance, fake_gateway.DEFAULT_BALANCE)
        self.assertIn(str(int(fake_gateway.DEFAULT_BALANCE)), action["params"]["message"])

    def test_test_connection_with_wrong_password_explains_what_to_do(self):
        self.account.password = "wrong-token"
        action = self.account.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(self.account.state, "error")
        self.assertIn("credentials", action["params"]["message"])
        self.assertNotIn("wrong-token", action["params"]["message"])

    def test_test_connection_provider_down(self):
        self.gateway.fail_next("sandbox", "server_error", count=10)
        action = self.account.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("temporary", action["params"]["message"])

    def test_each_provider_connects_against_its_protocol(self):
        for provider in ("twilio", "vonage", "lusosms"):
            with self.subTest(provider=provider):
                company = self.env["res.company"].create({"name": f"Co {provider}"})
                account = self._cgsms_make_account(company, provider=provider)
                account.action_test_connection()
                self.assertEqual(account.state, "ok", account.last_check_message)

    def test_second_active_account_allowed_and_first_stays_primary(self):
        # Several providers per company (routing and failover): a second one is no error.
        second = self._cgsms_make_account(self.company, sequence=self.account.sequence + 1)
        self.assertTrue(second.active)
        self.assertEqual(self.env["cgsms.account"]._get_active(self.company), self.account)

    def test_sender_validated_per_provider(self):
        with self.assertRaises(ValidationError):
            self.account.sender = "A sender name far too long"

    def test_settings_create_account_and_test_connection(self):
        company = self.env["res.company"].create({"name": "Nova Loja"})
        settings_env = self.env(context=dict(self.env.context, allowed_company_ids=[company.id]))
        with Form(settings_env["res.config.settings"]) as form:
            form.cgsms_active = True
            form.cgsms_provider = "sandbox"
            form.cgsms_sender = "NovaLoja"
            form.cgsms_password = fake_gateway.SANDBOX_TOKEN
            form.cgsms_base_url = self.gateway.url
        settings = form.record
        settings.execute()
        account = self.env["cgsms.account"].search([("company_id", "=", company.id)])
        self.assertEqual(account.sender, "NovaLoja")
        self.assertTrue(account.active)
        action = settings.action_cgsms_test_connection()
        self.assertEqual(action["params"]["type"], "success")

    def test_ledger_is_append_only(self):
        line = self.account.credit_line_ids[:1]
        with self.assertRaises(UserError):
            line.amount = 5000
        with self.assertRaises(UserError):
            line.unlink()

    def test_low_balance_notifies_managers_once(self):
        self.account.low_balance_threshold = self.account.credit_available - 1
        sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "x"})
        sms._send()
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "cgsms.account"), ("res_id", "=", self.account.id)]
        )
        self.assertTrue(activities)
        sms2 = self.env["sms.sms"].sudo().create({"number": "+351912345679", "body": "y"})
        sms2._send()
        self.assertEqual(
            self.env["mail.activity"].search_count(
                [("res_model", "=", "cgsms.account"), ("res_id", "=", self.account.id)]
            ),
            len(activities),
        )


@tagged("post_install", "-at_install")
class TestAccountSecurity(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_user = new_test_user(
            cls.env, "sms_user", groups="base.group_user,cgsms.group_cgsms_user"
        )
        cls.sms_manager = new_test_user(
            cls.env, "sms_manager", groups="base.group_user,cgsms.group_cgsms_manager"
        )
        cls.employee = new_test_user(cls.env, "employee", groups="base.group_user")

    def test_sms_user_cannot_read_credentials(self):
        account = self.account.with_user(self.sms_user)
        self.assertTrue(account.credit_available)
        with self.assertRaises(AccessError):
            account.read(["password"])
        with self.assertRaises(AccessError):
            account.read(["webhook_secret"])

    def test_sms_manager_reads_credentials(self):
        account = self.account.with_user(self.sms_manager)
        self.assertEqual(account.password, fake_gateway.SANDBOX_TOKEN)

    def test_sms_user_cannot_add_credits(self):
        with self.assertRaises(AccessError):
            self.env["cgsms.credit.line"].with_user(self.sms_user).create(
                {"account_id": self.account.id, "kind": "topup", "amount": 100}
            )

    def test_plain_employee_sees_no_account(self):
        with self.assertRaises(AccessError):
            self.env["cgsms.account"].with_user(self.employee).search([])

    def test_other_company_account_invisible(self):
        other = self.env["res.company"].create({"name": "Outra"})
        other_account = self._cgsms_make_account(other)
        visible = self.env["cgsms.account"].with_user(self.sms_manager).search([])
        self.assertNotIn(other_account, visible)

    def test_password_never_logged_when_sending(self):
        with self.assertLogs("odoo.addons.cgsms", level=logging.DEBUG) as logs:
            logging.getLogger("odoo.addons.cgsms").debug("start")
            sms = self.env["sms.sms"].sudo().create({"number": "+351912345678", "body": "x"})
            self.gateway.fail_next("sandbox", "auth")
            sms._send()
            self.account.action_test_connection()
        self.assertFalse([line for line in logs.output if fake_gateway.SANDBOX_TOKEN in line])


@tagged("post_install", "-at_install")
class TestMultiCompany(CgsmsCase):
    """Accounts, ledgers, groups, sends and history stay inside their company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls.env["res.company"].create({"name": "Outra Empresa"})
        cls.other_account = cls._cgsms_make_account(cls.other)
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.other_account.id, "kind": "topup", "amount": 10}
        )
        cls.other_group = cls.env["cgsms.group"].create(
            {"name": "Clientes da outra", "company_id": cls.other.id}
        )
        cls.other_message = cls.env["cgsms.message"].create(
            {"body": "Olá", "company_id": cls.other.id}
        )
        cls.manager = new_test_user(
            cls.env,
            "sms_manager_a",
            groups="base.group_user,cgsms.group_cgsms_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )

    def test_records_of_another_company_are_invisible(self):
        env = self.env(user=self.manager)
        self.assertNotIn(self.other_account, env["cgsms.account"].search([]))
        self.assertFalse(
            env["cgsms.credit.line"].search([("account_id", "=", self.other_account.id)])
        )
        self.assertNotIn(self.other_group, env["cgsms.group"].search([]))
        self.assertNotIn(self.other_message, env["cgsms.message"].search([]))

    def test_cannot_send_for_another_company(self):
        with self.assertRaises(AccessError):
            self.other_message.with_user(self.manager).action_send()
        self.assertFalse(self._gateway_messages())

    def test_sms_of_a_company_is_charged_to_its_own_account(self):
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create({"number": "+351912345678", "body": "Olá", "cgsms_company_id": self.other.id})
        )
        before = self.account.credit_available
        sms._send(unlink_sent=False)
        self.assertEqual(sms.cgsms_recipient_id.account_id, self.other_account)
        self.account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self.account.credit_available, before, places=4)
        self.other_account.invalidate_recordset(["credit_available"])
        self.assertAlmostEqual(self.other_account.credit_available, 10 - 1.44, places=4)
