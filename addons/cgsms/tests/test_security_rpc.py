"""Attacks over JSON-RPC, the way the web client calls the server, by real users of two
companies: a portal user, an employee without the SMS group, an SMS user, and the SMS
managers of company A and of company B. The target is company A's provider account and its
SMS history."""

import json

from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .common import CgsmsGatewayMixin

SETTINGS_SPEC = {
    "company_id": {},
    "cgsms_account_id": {"fields": {"display_name": {}}},
    "cgsms_state": {},
    "cgsms_credit_available": {},
    "cgsms_last_check_message": {},
    "cgsms_account_provider": {},
}
MANAGER_SPEC = dict(SETTINGS_SPEC, cgsms_callback_url={}, cgsms_webhook_secret={})
SECRET_A = "a-secret-only-company-a-knows"
MESSAGE_A = "last check of company A"
# Odoo's own log lines of a refused request
REFUSALS = ("odoo.http", "odoo.addons.base.models.ir_model", "odoo.addons.base.models.ir_rule")


@tagged("post_install", "-at_install")
class TestSecurityRpc(CgsmsGatewayMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create(
            {"name": "Loja B", "country_id": cls.env.ref("base.pt").id}
        )
        cls.account_a = cls.account
        cls.account_a.write(
            {"webhook_secret": SECRET_A, "state": "error", "last_check_message": MESSAGE_A}
        )
        cls.account_b = cls._cgsms_make_account(cls.company_b)
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.account_b.id, "kind": "topup", "amount": 77, "reference": "B"}
        )
        user = cls._cgsms_user
        manager = "base.group_user,cgsms.group_cgsms_manager"
        cls.portal_a = user("rpc_portal_a", "base.group_portal", cls.company_a)
        cls.nobody_a = user("rpc_nobody_a", "base.group_user", cls.company_a)
        cls.user_a = user("rpc_user_a", "base.group_user,cgsms.group_cgsms_user", cls.company_a)
        cls.manager_a = user("rpc_manager_a", manager, cls.company_a)
        cls.manager_b = user("rpc_manager_b", manager, cls.company_b)
        # Settings are for administrators (19.0 refuses even their onchange to anyone else):
        # the administrators of one company only.
        cls.settings_a = user("rpc_settings_a", "base.group_system", cls.company_a)
        cls.settings_b = user("rpc_settings_b", "base.group_system", cls.company_b)
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.write({"company_ids": [(4, cls.company_a.id), (4, cls.company_b.id)]})
        cls.admin.password = "admin"
        cls.attackers = (cls.portal_a, cls.nobody_a, cls.user_a, cls.manager_b)

    # ------------------------------------------------------------------ helpers

    def _rpc(self, user, model, method, *args, password=None, **kwargs):
        """``model.method(*args, **kwargs)`` called by ``user`` through /web/dataset/call_kw."""
        self.authenticate(user.login, password or user.login)
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _refused(self, user, model, method, *args, **kwargs):
        with self.assertRaises(JsonRpcException) as caught, mute_logger(*REFUSALS):
            self._rpc(user, model, method, *args, **kwargs)
        self.assertIn(str(caught.exception), ("odoo.exceptions.AccessError",))

    def _settings_onchange(self, user, values, changed, spec=None, password=None, **kwargs):
        """The settings onchange as ``user`` calls it: the result, or None when refused."""
        spec = spec or (MANAGER_SPEC if user.has_group("cgsms.group_cgsms_manager") else None)
        try:
            with mute_logger(*REFUSALS):
                return self._rpc(
                    user,
                    "res.config.settings",
                    "onchange",
                    [],
                    values,
                    changed,
                    spec or SETTINGS_SPEC,
                    password=password,
                    **kwargs,
                )
        except JsonRpcException as exc:
            self.assertEqual(str(exc), "odoo.exceptions.AccessError")
            return None

    def _assert_nothing_of_a(self, result):
        text = json.dumps(result or {})
        self.assertNotIn(SECRET_A, text)
        self.assertNotIn(MESSAGE_A, text)
        self.assertNotIn("/cgsms/dlr/sandbox/%d" % self.account_a.id, text)
        value = (result or {}).get("value", {})
        self.assertNotIn(value.get("cgsms_credit_available"), (1000, 1000.0))
        self.assertNotEqual(value.get("cgsms_state"), "error")
        account = value.get("cgsms_account_id")
        self.assertNotEqual(account and account["id"], self.account_a.id)

    def _gateway_calls(self, kind):
        return [r for r in self.gateway.requests if r["kind"] == kind]

    def _sent_line(self):
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                {"number": "+351912000401", "body": "Olá", "cgsms_company_id": self.company_a.id}
            )
        )
        sms._send(unlink_sent=False)
        line = sms.cgsms_recipient_id
        self.assertEqual(line.state, "sent")
        self.env.flush_all()
        return line

    # ------------------------------------------------------------------ 1. settings

    def test_settings_onchange_naming_another_company_account_shows_nothing_of_it(self):
        for user in (self.portal_a, self.nobody_a, self.manager_b, self.settings_b):
            for changed in (["cgsms_account_id"], []):
                with self.subTest(user=user.login, changed=changed):
                    values = {"cgsms_account_id": self.account_a.id}
                    self._assert_nothing_of_a(self._settings_onchange(user, values, changed))

    def test_settings_onchange_shows_the_secret_to_no_sms_user(self):
        values = {"cgsms_account_id": self.account_a.id}
        for changed in (["cgsms_account_id"], []):
            with self.subTest(changed=changed):
                result = self._settings_onchange(self.user_a, values, changed, MANAGER_SPEC)
                text = json.dumps(result or {})
                self.assertNotIn(SECRET_A, text)
                self.assertNotIn("/cgsms/dlr/", text)

    def test_settings_onchange_naming_another_company_shows_nothing_of_it(self):
        values = {"company_id": self.company_a.id, "cgsms_account_id": self.account_a.id}
        for user in (self.manager_b, self.settings_b):
            for changed in (["company_id"], []):
                with self.subTest(user=user.login, changed=changed):
                    result = self._settings_onchange(user, values, changed)
                    self._assert_nothing_of_a(result)

    def test_sms_manager_reads_own_company_settings_and_secret(self):
        [account] = self._rpc(
            self.manager_a, "cgsms.account", "read", [self.account_a.id], ["webhook_secret"]
        )
        self.assertEqual(account["webhook_secret"], SECRET_A)
        result = self._settings_onchange(self.settings_a, {}, [])
        value = result["value"]
        self.assertEqual(value["cgsms_account_id"]["id"], self.account_a.id)
        self.assertEqual(value["cgsms_webhook_secret"], SECRET_A)
        self.assertTrue(value["cgsms_callback_url"].endswith(f"/{self.account_a.id}"))
        self.assertAlmostEqual(value["cgsms_credit_available"], 1000.0)
        self.assertEqual(value["cgsms_state"], "error")

    def test_administrator_sees_the_credits_of_the_company_he_is_in(self):
        for company, credits in ((self.company_a, 1000.0), (self.company_b, 77.0)):
            with self.subTest(company=company.name):
                context = {"allowed_company_ids": [company.id]}
                result = self._settings_onchange(
                    self.admin, {}, [], password="admin", context=context
                )
                self.assertAlmostEqual(result["value"]["cgsms_credit_available"], credits)

    # ------------------------------------------------------------------ 2. test connection

    def test_test_connection_refused_to_whoever_may_not_change_the_account(self):
        for user in self.attackers:
            with self.subTest(user=user.login):
                self._refused(user, "cgsms.account", "action_test_connection", [self.account_a.id])
        self.assertFalse(self._gateway_calls("balance"))
        account = self.account_a.sudo()
        account.invalidate_recordset()
        self.assertEqual((account.state, account.last_check_message), ("error", MESSAGE_A))

    def test_sms_manager_tests_the_connection_of_own_company_account(self):
        result = self._rpc(
            self.manager_a, "cgsms.account", "action_test_connection", [self.account_a.id]
        )
        self.assertEqual(result["params"]["type"], "success")
        self.account_a.invalidate_recordset()
        self.assertEqual(self.account_a.state, "ok")

    # ------------------------------------------------------------------ 3. history

    def test_sms_history_cannot_be_rewritten_or_deleted(self):
        line = self._sent_line()
        lines = self.env["cgsms.recipient"].search_count([])
        facts = (line.state, line.body, line.cost)
        for user in (self.manager_a, self.user_a):
            for vals in ({"state": "failed"}, {"body": "Outro texto"}, {"cost": 0.0}):
                with self.subTest(user=user.login, vals=vals):
                    self._refused(user, "cgsms.recipient", "write", [line.id], vals)
            with self.subTest(user=user.login, method="unlink"):
                self._refused(user, "cgsms.recipient", "unlink", [line.id])
        self._refused(
            self.manager_a,
            "cgsms.recipient",
            "create",
            {"company_id": self.company_a.id, "number": "+351912000402", "state": "delivered"},
        )
        line.invalidate_recordset()
        self.assertEqual((line.state, line.body, line.cost), facts)
        self.assertEqual(facts, ("sent", "Ola", 1.44))
        self.assertEqual(self.env["cgsms.recipient"].search_count([]), lines)

    def test_sms_history_stays_readable_to_sms_users(self):
        line = self._sent_line()
        [read] = self._rpc(self.user_a, "cgsms.recipient", "read", [line.id], ["state", "body"])
        self.assertEqual((read["state"], read["body"]), ("sent", "Ola"))
