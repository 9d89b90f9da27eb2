import logging

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from ..providers import fake_gateway
from .common import CgsmsCase


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

    def test_one_active_account_per_company(self):
        with self.assertRaises(ValidationError):
            self._cgsms_make_account(self.company)

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
        cls.sms_user = new_test_user(cls.env, "sms_user", groups="base.group_user,cgsms.group_cgsms_user")
        cls.sms_manager = new_test_user(cls.env, "sms_manager", groups="base.group_user,cgsms.group_cgsms_manager")
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
