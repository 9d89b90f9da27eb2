from datetime import date

from freezegun import freeze_time

from odoo.addons.cgsms.compat import ODOO_19
from odoo.tests import tagged

from .invoice_common import CgsmsInvoiceCase

# Lisbon is on UTC in March 2025 (summer time starts on the 30th). 2025-03-03 is a Monday.
DUE = date(2025, 3, 3)


@tagged("post_install", "-at_install")
class TestReminderSchedule(CgsmsInvoiceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "cgsms_reminder_auto": True,
                "cgsms_reminder_first_delay": 3,
                "cgsms_reminder_interval": 7,
                "cgsms_reminder_max": 2,
                "cgsms_reminder_hour_from": 9.0,
                "cgsms_reminder_hour_to": 19.0,
                "cgsms_reminder_workdays_only": True,
                "cgsms_reminder_tz": "Europe/Lisbon",
            }
        )
        cls.invoice = cls._invoice(cls.customer, DUE)

    def _run(self, when):
        with freeze_time(when):
            self.env["account.move"]._cgsms_cron_send_reminders()
        self.env.invalidate_all()
        return len(self._gateway_messages())

    def _steps(self, invoice=None):
        logs = self.env["cgsms.reminder.log"].search(
            [("move_id", "=", (invoice or self.invoice).id), ("origin", "=", "scheduled")]
        )
        return sorted(logs.mapped("step"))

    def test_before_first_delay_nothing_sent(self):
        self.assertEqual(self._run("2025-03-05 10:00:00"), 0)
        self.assertEqual(self._steps(), [])

    def test_first_reminder_sent_after_first_delay(self):
        self.assertEqual(self._run("2025-03-06 10:00:00"), 1)
        self.assertEqual(self._steps(), [1])
        log = self.invoice.cgsms_reminder_log_ids
        self.assertEqual(log.state, "sent")
        self.assertEqual(log.number, "+351912345678")
        self.assertEqual(log.partner_id, self.customer)
        self.assertEqual(log.recipient_id.state, "sent")
        self.assertEqual(self.invoice.cgsms_reminder_count, 1)
        self.assertEqual(self.invoice.cgsms_last_reminder_date, date(2025, 3, 6))

    def test_same_step_never_sent_twice(self):
        self._run("2025-03-06 10:00:00")
        self._run("2025-03-06 11:00:00")
        self.assertEqual(self._run("2025-03-07 10:00:00"), 1)
        self.assertEqual(self._steps(), [1])

    def test_repeat_only_after_interval(self):
        self._run("2025-03-06 10:00:00")
        self.assertEqual(self._run("2025-03-12 10:00:00"), 1, "6 days later: too early")
        self.assertEqual(self._run("2025-03-13 10:00:00"), 2)
        self.assertEqual(self._steps(), [1, 2])
        self.assertEqual(self.invoice.cgsms_reminder_count, 2)

    def test_never_more_than_max_reminders(self):
        self._run("2025-03-06 10:00:00")
        self._run("2025-03-13 10:00:00")
        self.assertEqual(self._run("2025-03-20 10:00:00"), 2)
        self.assertEqual(self._run("2025-04-24 10:00:00"), 2)
        self.assertEqual(self._steps(), [1, 2])

    def test_outside_sending_window_nothing_sent(self):
        self.assertEqual(self._run("2025-03-06 20:30:00"), 0)
        self.assertEqual(self._run("2025-03-06 08:30:00"), 0)
        self.assertEqual(self._steps(), [])

    def test_window_follows_company_timezone(self):
        # 08:30 UTC is 09:30 in Berlin: inside the window there, not in Lisbon.
        self.company.cgsms_reminder_tz = "Europe/Berlin"
        self.assertEqual(self._run("2025-03-06 08:30:00"), 1)

    def test_weekend_nothing_sent_when_working_days_only(self):
        self.assertEqual(self._run("2025-03-08 10:00:00"), 0)
        self.assertEqual(self._run("2025-03-09 10:00:00"), 0)
        self.assertEqual(self._run("2025-03-10 10:00:00"), 1, "sent on Monday")

    def test_weekend_sent_when_every_day_allowed(self):
        self.company.cgsms_reminder_workdays_only = False
        self.assertEqual(self._run("2025-03-08 10:00:00"), 1)

    def test_scheduled_reminders_off_by_default(self):
        company = self.env["res.company"].create({"name": "New company"})
        self.assertFalse(company.cgsms_reminder_auto)
        self.company.cgsms_reminder_auto = False
        self.assertEqual(self._run("2025-03-06 10:00:00"), 0)

    def test_one_sms_per_customer_for_all_due_invoices(self):
        second = self._invoice(self.customer, date(2025, 2, 20))
        other = self._invoice(self.customer_2, DUE)
        self.assertEqual(self._run("2025-03-06 10:00:00"), 2)
        self.assertEqual(
            sorted(m["to"] for m in self._gateway_messages()), ["+351912345678", "+351931234567"]
        )
        self.assertEqual(self._steps(second), [1])
        self.assertEqual(self._steps(other), [1])
        self.assertEqual(self._steps(), [1])

    def test_customer_without_mobile_skipped_and_logged(self):
        invoice = self._invoice(self.customer_no_mobile, DUE)
        self._run("2025-03-06 10:00:00")
        log = invoice.cgsms_reminder_log_ids
        self.assertEqual(log.state, "skipped")
        self.assertEqual(len(self._gateway_messages()), 1, "the other customer is reminded")

    def test_paid_invoice_no_longer_reminded(self):
        self._run("2025-03-06 10:00:00")
        self._pay(self.invoice, self.invoice.amount_residual)
        self.assertEqual(self._run("2025-03-13 10:00:00"), 1)
        self.assertEqual(self._steps(), [1])

    def test_manual_reminder_today_postpones_scheduled_one(self):
        with freeze_time("2025-03-06 09:30:00"):
            self.invoice.write({"cgsms_last_reminder_date": date(2025, 3, 6)})
        self.assertEqual(self._run("2025-03-06 10:00:00"), 0)
        self.assertEqual(self._run("2025-03-07 10:00:00"), 1)

    if ODOO_19:  # the "No Follow-Up" flag of invoices exists from 19.0 on

        def test_no_follow_up_invoice_not_reminded(self):
            self.invoice.no_followup = True
            self.assertEqual(self._run("2025-03-06 10:00:00"), 0)
            self.assertEqual(self._steps(), [])

    def test_cron_job_runs_the_schedule(self):
        cron = self.env.ref("cgsms.ir_cron_cgsms_invoice_reminders")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "hours"))
        with freeze_time("2025-03-06 10:00:00"), self._shared_cursors():
            cron.method_direct_trigger()
        self.assertEqual(len(self._gateway_messages()), 1)
