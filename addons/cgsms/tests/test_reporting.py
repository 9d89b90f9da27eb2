from datetime import timedelta

from odoo import Command, fields
from odoo.tests import TransactionCase, tagged

from ..models.cgsms_account_usage import days_left
from ..providers.base import DeliveryReport
from .reporting_common import CgsmsReportingMixin


@tagged("post_install", "-at_install")
class TestReporting(CgsmsReportingMixin, TransactionCase):
    def _report(self, user=None, company=None):
        report = self.env["cgsms.report.sms"]
        if user:
            report = report.with_user(user)
        if company:
            report = report.with_context(allowed_company_ids=company.ids)
        return report

    def _pivot(self, groupby, domain=(), report=None):
        """The pivot's figures per group, as the web client reads them."""
        report = report if report is not None else self._report()
        measures = ["sms_count:sum", "segments:sum", "cost:sum", "delivery_rate:avg"]
        return {
            group[0]: tuple(group[1:])
            for group in report._read_group(list(domain), [groupby], measures)
        }

    def test_pivot_sms_segments_and_credits_equal_the_history(self):
        figures = self._pivot("account_id")
        for account in (self.account_a, self.account_a2, self.account_b):
            history = self.env["cgsms.recipient"].search([("account_id", "=", account.id)])
            sms, segments, cost, _rate = figures[account]
            self.assertEqual(sms, len(history))
            self.assertEqual(segments, sum(history.mapped("segments")))
            self.assertAlmostEqual(cost, sum(history.mapped("cost")), places=4)
        self.assertEqual(figures[self.account_a][:2], (7, 8))
        self.assertAlmostEqual(figures[self.account_a][2], 13.2, places=4)

    def test_pivot_columns_by_month_split_this_month_from_the_last(self):
        rows = self.env["cgsms.report.sms"]._read_group(
            [("company_id", "=", self.company_a.id)], ["date:month"], ["sms_count:sum"]
        )
        self.assertEqual(sorted(count for _month, count in rows), [1, 7])

    def test_delivery_rate_of_a_group_is_delivered_over_the_sms_that_left(self):
        figures = self._pivot("account_id")
        # 3 delivered out of 5 that left: the 2 refused numbers never left
        self.assertEqual(figures[self.account_a][3], 60.0)
        self.assertEqual(figures[self.account_a2][3], 100.0)
        self.assertEqual(figures[self.account_b][3], 0.0)
        # the company's rate is 4 out of 6, not the average of its accounts' rates (80)
        company = self._pivot("company_id")
        self.assertEqual(company[self.company_a][3], 66.7)

    def test_delivery_rate_of_a_group_with_nothing_sent_is_empty(self):
        figures = self._pivot(
            "state", [("state", "=", "failed"), ("error_class", "!=", "undelivered")]
        )
        self.assertEqual(figures["failed"][0], 2)
        self.assertFalse(figures["failed"][3])

    def test_delivery_rate_with_an_unknown_aggregate_refused(self):
        for spec in ("delivery_rate:drop table", "delivery_rate"):
            with self.assertRaises(ValueError):
                self.env["cgsms.report.sms"]._read_group([], ["account_id"], [spec])

    def test_delivery_rate_ordered_by_its_group_value(self):
        rows = self.env["cgsms.report.sms"]._read_group(
            [], ["account_id"], ["delivery_rate:avg"], order="delivery_rate:avg desc"
        )
        self.assertEqual(
            [account for account, _rate in rows][:3],
            [self.account_a2, self.account_a, self.account_b],
        )

    def test_country_is_the_one_of_the_number(self):
        figures = self._pivot("country_id", [("company_id", "=", self.company_a.id)])
        self.assertEqual(figures[self.env.ref("base.pt")][0], 7)
        self.assertEqual(figures[self.env.ref("base.es")][0], 1)

    def test_shared_calling_code_takes_the_contact_country(self):
        canada = self.env.ref("base.ca")
        partner = self.env["res.partner"].create({"name": "Chloé", "country_id": canada.id})
        line = self._history(self.account_a, [("+14165550123", "sent", 1, 1.0, self.now)])
        line.partner_id = partner
        report = self.env["cgsms.report.sms"].search([("id", "=", line.id)])
        self.assertEqual(report.country_id, canada)

    def test_a_real_send_counts_once_delivered(self):
        partners = self.env["res.partner"].create(
            [
                {
                    "name": "Ana",
                    "cgsms_mobile": "912 300 001",
                    "country_id": self.env.ref("base.pt").id,
                },
                {
                    "name": "Rui",
                    "cgsms_mobile": "912 300 002",
                    "country_id": self.env.ref("base.pt").id,
                },
            ]
        )
        message = self.env["cgsms.message"].create(
            {"partner_ids": [Command.set(partners.ids)], "body": "Olá! A sua encomenda chegou."}
        )
        message.action_send()
        self.assertEqual(message.account_id, self.account)
        self.assertEqual(
            sorted(m["to"] for m in self._gateway_messages()), ["+351912300001", "+351912300002"]
        )
        first = message.recipient_ids.sorted("number")[0]
        self.env["cgsms.recipient"]._apply_delivery_reports(
            self.account, [DeliveryReport(first.provider_message_id, "delivered")]
        )
        figures = self._pivot("message_id", [("message_id", "=", message.id)])
        sms, segments, cost, rate = figures[message]
        self.assertEqual((sms, rate), (2, 50.0))
        self.assertEqual(segments, sum(message.recipient_ids.mapped("segments")))
        self.assertAlmostEqual(cost, message.cost_total, places=4)
        model = self._pivot("model_id", [("message_id", "=", message.id)])
        self.assertEqual(list(model), [self.env["ir.model"]._get("cgsms.message")])

    def test_user_of_company_b_sees_none_of_company_a_figures(self):
        user_b = self._cgsms_user(
            "report_b", "base.group_user,cgsms.group_cgsms_manager", self.company_b
        )
        report = self._report(user_b, self.company_b)
        self.assertEqual(report.search([]).account_id, self.account_b)
        figures = self._pivot("company_id", report=report)
        self.assertEqual(list(figures), [self.company_b])
        self.assertEqual(figures[self.company_b][:2], (2, 6))
        # naming company A's account in the domain finds nothing either
        self.assertFalse(report.search_count([("account_id", "=", self.account_a.id)]))
        # nor do the ledger's figures
        credits = (
            self.env["cgsms.credit.line"]
            .with_user(user_b)
            .with_context(allowed_company_ids=self.company_b.ids)
        )
        self.assertFalse(credits.search_count([("account_id", "=", self.account_a.id)]))

    def test_sms_user_of_company_a_sees_the_company_figures(self):
        user_a = self._cgsms_user(
            "report_a", "base.group_user,cgsms.group_cgsms_user", self.company_a
        )
        figures = self._pivot("company_id", report=self._report(user_a, self.company_a))
        self.assertEqual(list(figures), [self.company_a])
        self.assertEqual(figures[self.company_a][0], 8)


@tagged("post_install", "-at_install")
class TestCreditForecast(CgsmsReportingMixin, TransactionCase):
    def _ledger(self, account, rows):
        self.env["cgsms.credit.line"].create(
            [
                {"account_id": account.id, "kind": kind, "amount": amount, "date": date}
                for kind, amount, date in rows
            ]
        )
        account.invalidate_recordset()

    def test_days_left_at_the_last_30_days_rate(self):
        account = self._cgsms_make_account(self.company_b, name="Known ledger")
        now = fields.Datetime.now()
        self._ledger(
            account,
            [
                ("topup", 1000.0, now - timedelta(days=60)),
                ("debit", -500.0, now - timedelta(days=45)),  # before the 30 days: not counted
                ("debit", -200.0, now - timedelta(days=20)),
                ("debit", -100.0, now - timedelta(days=2)),
                ("refund", 20.0, now - timedelta(days=1)),
                ("adjustment", 30.0, now - timedelta(days=1)),  # not spending
            ],
        )
        # 250 credits left; 280 spent in 30 days: 9.33 a day, 26.8 days
        self.assertAlmostEqual(account.credit_available, 250.0, places=4)
        self.assertAlmostEqual(account.credit_spent_30d, 280.0, places=4)
        self.assertEqual(account.credit_days_left, 26)
        self.assertEqual(
            account.with_context(lang="en_US").credit_forecast,
            "≈ 26 days left at the last 30 days' rate",
        )

    def test_no_spending_gives_no_days_figure(self):
        account = self._cgsms_make_account(self.company_b, name="Unused")
        self._ledger(account, [("topup", 100.0, fields.Datetime.now())])
        self.assertEqual(account.credit_days_left, 0)
        self.assertIn("No SMS in the last 30 days", account.credit_forecast)
        self.assertEqual(days_left(100.0, 0.0), 0)
        self.assertEqual(days_left(300.0, 30.0), 300)

    def test_more_than_a_year_of_credits_said_so(self):
        account = self._cgsms_make_account(self.company_b, name="Barely used")
        now = fields.Datetime.now()
        self._ledger(account, [("topup", 1000.0, now), ("debit", -1.44, now)])
        self.assertEqual(account.credit_days_left, 20803)
        self.assertEqual(
            account.with_context(lang="en_US").credit_forecast,
            "More than a year of credits at the last 30 days' rate",
        )

    def test_month_spending_against_last_month(self):
        account = self._cgsms_make_account(self.company_b, name="Months")
        month_start = account._cgsms_month_start()
        now = fields.Datetime.now()
        self._ledger(
            account,
            [
                ("topup", 1000.0, month_start - timedelta(days=40)),
                ("debit", -40.0, month_start - timedelta(days=10)),
                ("debit", -2.5, month_start - timedelta(hours=1)),
                ("debit", -7.2, min(now, month_start + timedelta(seconds=1))),
            ],
        )
        self.assertAlmostEqual(account.credit_spent_month, 7.2, places=4)
        self.assertAlmostEqual(account.credit_spent_last_month, 42.5, places=4)
        self.assertEqual(
            account.with_context(lang="en_US").credit_month_comparison,
            "7.20 credits spent this month, 42.50 last month",
        )

    def test_settings_show_the_forecast_of_their_company_account(self):
        manager_b = self._cgsms_user("forecast_b", "base.group_system", self.company_b)
        self._ledger(
            self.account_b,
            [("topup", 300.0, fields.Datetime.now()), ("debit", -30.0, fields.Datetime.now())],
        )
        settings = (
            self.env["res.config.settings"]
            .with_user(manager_b)
            .with_context(allowed_company_ids=self.company_b.ids, lang="en_US")
            .create({})
        )
        self.assertEqual(
            settings.cgsms_credit_forecast, "≈ 270 days left at the last 30 days' rate"
        )
        self.assertIn("30.00 credits spent this month", settings.cgsms_credit_month_comparison)


@tagged("post_install", "-at_install")
class TestReportingDemo(CgsmsReportingMixin, TransactionCase):
    def test_demo_first_month_fills_the_reports(self):
        account = self._cgsms_make_account(self.company_b, name="Demo month")
        sent = self.env["cgsms.account"]._cgsms_demo_first_month(account)
        report = self.env["cgsms.report.sms"]
        days = report._read_group([("account_id", "=", account.id)], ["date:day"], ["__count"])
        # a month of opening days, not a single SMS
        self.assertGreaterEqual(len(days), 20)
        self.assertGreater(len(sent), 150)
        self.assertEqual(len(sent.message_id), 2)
        [(sms, cost, rate)] = report._read_group(
            [("account_id", "=", account.id)],
            [],
            ["sms_count:sum", "cost:sum", "delivery_rate:avg"],
        )
        self.assertEqual(sms, len(sent))
        self.assertAlmostEqual(cost, sum(sent.mapped("cost")), places=4)
        self.assertTrue(80 < rate < 100)
        # the ledger agrees with the history: the pack minus what the SMS cost
        account.invalidate_recordset()
        self.assertAlmostEqual(account.credit_available, 1440 - cost, places=4)
        self.assertGreater(account.credit_days_left, 0)
        replies = self.env["cgsms.reply"].search([("account_id", "=", account.id)])
        self.assertGreater(len(replies), 10)
        self.assertTrue(replies.filtered(lambda r: not r.is_matched))
        # several countries, several document types
        self.assertGreater(len(sent.mapped(lambda r: r.number[:3])), 1)
        self.assertGreaterEqual(len(set(sent.mapped("res_model"))), 3)


@tagged("post_install", "-at_install")
class TestReportingEmptyStates(TransactionCase):
    def test_each_report_explains_itself_and_offers_a_first_sms(self):
        send = self.env.ref("cgsms.cgsms_message_action")
        for xmlid in (
            "cgsms.cgsms_report_sms_action",
            "cgsms.cgsms_credit_line_action_report",
            "cgsms.cgsms_credit_line_action_balance",
            "cgsms.cgsms_reply_action_report",
        ):
            action = self.env.ref(xmlid)
            self.assertIn("o_view_nocontent_smiling_face", action.help, xmlid)
            self.assertIn(f'name="{send.id}"', action.help, xmlid)
            self.assertIn('type="action"', action.help, xmlid)
            # a new database shows Odoo's sample figures behind the explanation
            views = action.view_ids.view_id or self.env["ir.ui.view"].search(
                [("model", "=", action.res_model), ("type", "in", ("graph", "pivot"))]
            )
            self.assertTrue(views, xmlid)
            for view in views:
                self.assertIn('sample="1"', view.arch_db, f"{xmlid}: {view.name}")
