"""The report's figures over JSON-RPC, as the web client's pivot and graph read them, by real
users of two companies."""

from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .reporting_common import CgsmsReportingMixin

MEASURES = ["sms_count:sum", "segments:sum", "cost:sum", "delivery_rate:avg"]
REFUSALS = ("odoo.http", "odoo.addons.base.models.ir_model", "odoo.addons.base.models.ir_rule")


@tagged("post_install", "-at_install")
class TestReportingRpc(CgsmsReportingMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        user = cls._cgsms_user
        cls.manager_a = user(
            "rep_manager_a", "base.group_user,cgsms.group_cgsms_manager", cls.company_a
        )
        cls.manager_b = user(
            "rep_manager_b", "base.group_user,cgsms.group_cgsms_manager", cls.company_b
        )
        cls.user_a = user("rep_user_a", "base.group_user,cgsms.group_cgsms_user", cls.company_a)
        cls.nobody_a = user("rep_nobody_a", "base.group_user", cls.company_a)

    def _rpc(self, user, model, method, *args, **kwargs):
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _read_group(self, user, groupby, domain=None, company=None):
        context = {"allowed_company_ids": [(company or user.company_id).id]}
        return self._rpc(
            user,
            "cgsms.report.sms",
            "read_group",
            domain or [],
            MEASURES,
            [groupby],
            lazy=False,
            context=context,
        )

    def test_company_a_reads_its_figures_over_json_rpc(self):
        groups = self._read_group(self.manager_a, "account_id")
        by_account = {g["account_id"][0]: g for g in groups}
        self.assertEqual(set(by_account), {self.account_a.id, self.account_a2.id})
        group = by_account[self.account_a.id]
        self.assertEqual((group["sms_count"], group["segments"]), (7, 8))
        self.assertAlmostEqual(group["cost"], 13.2, places=4)
        self.assertEqual(group["delivery_rate"], 60.0)

    def test_company_b_reads_none_of_company_a_figures_over_json_rpc(self):
        for domain in (
            [],
            [("account_id", "=", self.account_a.id)],
            [("company_id", "=", self.company_a.id)],
        ):
            groups = self._read_group(self.manager_b, "company_id", domain)
            self.assertEqual(
                [g["company_id"][0] for g in groups if g["__count"]],
                [self.company_b.id] if not domain else [],
            )
        # asking for company A's figures with company A in the context is refused
        with self.assertRaises(JsonRpcException), mute_logger(*REFUSALS):
            self._read_group(self.manager_b, "company_id", company=self.company_a)
        credits = self._rpc(
            self.manager_b,
            "cgsms.credit.line",
            "read_group",
            [("account_id", "=", self.account_a.id)],
            ["amount:sum"],
            ["account_id"],
            context={"allowed_company_ids": self.company_b.ids},
        )
        self.assertEqual(credits, [])

    def test_sms_user_groups_by_every_pivot_row(self):
        # the document type is an ir.model, which an employee may not read: its name comes
        # with the group
        for groupby in ("account_id", "country_id", "user_id", "model_id", "message_id", "state"):
            groups = self._read_group(self.user_a, groupby)
            self.assertEqual(sum(g["sms_count"] for g in groups), 8, groupby)
        [group] = self._read_group(self.user_a, "country_id", [("number", "=like", "+34%")])
        self.assertEqual(group["country_id"][1], "Spain")

    def test_employee_without_sms_rights_reads_no_figures(self):
        with self.assertRaises(JsonRpcException) as caught, mute_logger(*REFUSALS):
            self._read_group(self.nobody_a, "company_id")
        self.assertEqual(str(caught.exception), "odoo.exceptions.AccessError")
