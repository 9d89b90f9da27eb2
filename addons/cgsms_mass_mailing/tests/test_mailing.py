"""SMS Marketing through CgSMS: who answers for a mailing (the person at Send, Schedule and
Send now; its responsible user when the Mail Marketing cron sends it, never the cron's
user), the credits that must cover it, and the figures its form shows."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.addons.cgsms import compat
from odoo.addons.cgsms.providers.inbound import InboundSms
from odoo.addons.cgsms.tests.common import CgsmsCase
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

NUMBERS = ("912000201", "912000202", "912000203")


@tagged("post_install", "-at_install")
class TestMailing(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.cgsms_who_may_send = "sms_users"
        marketing = "base.group_user,mass_mailing.group_mass_mailing_user"
        cls.marketer = cls._cgsms_user("apps_marketer", marketing, cls.company)
        cls.sms_marketer = cls._cgsms_user(
            "apps_sms_marketer", f"{marketing},cgsms.group_cgsms_user", cls.company
        )
        cls.contacts = cls.env["res.partner"].create(
            [
                {
                    "name": f"Cliente {n}",
                    compat.PARTNER_MOBILE_FIELD: n,
                    "country_id": cls.env.ref("base.pt").id,
                }
                for n in NUMBERS
            ]
        )

    def _mailing(self, user, **vals):
        return (
            self.env["mailing.mailing"]
            .with_user(user)
            .create(
                {
                    "subject": "Promo de Maio",
                    "mailing_type": "sms",
                    "body_plaintext": "Promo de Maio: 10% em tudo.",
                    "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
                    "mailing_domain": repr([("id", "in", self.contacts.ids)]),
                    "sms_allow_unsubscribe": True,
                    "user_id": user.id,
                    **vals,
                }
            )
        )

    def _run_mailing_cron(self):
        """The Mail Marketing cron, as the cron's own (super)user, then the SMS queue."""
        Mailing = self.env["mailing.mailing"].sudo()
        if compat.ODOO_19:

            def flush_progress(cron, processed=0, *, remaining=None, deactivate=False):
                cron.env.flush_all()
                return float("inf")

            with patch.object(type(self.env["ir.cron"]), "_commit_progress", flush_progress):
                Mailing._process_mass_mailing_queue()
        else:
            Mailing._process_mass_mailing_queue()
        self._run_sms_queue()

    def _credits_to(self, amount):
        available = self.account.sudo()._credit_balances().get(self.account.id, 0.0)
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": amount - available}
        )

    # ------------------------------------------------------------------ who answers

    def test_marketing_user_without_sms_rights_refused_at_send(self):
        mailing = self._mailing(self.marketer)
        with self.assertRaisesRegex(UserError, "only SMS users may"):
            mailing.with_user(self.marketer).action_launch()
        self.assertEqual(mailing.state, "draft")

    def test_marketing_user_without_sms_rights_refused_at_schedule(self):
        mailing = self._mailing(
            self.marketer, schedule_date=fields.Datetime.now() + timedelta(days=1)
        )
        with self.assertRaisesRegex(UserError, "only SMS users may"):
            mailing.with_user(self.marketer).action_schedule()
        self.assertEqual(mailing.state, "draft")

    def test_marketing_user_without_sms_rights_refused_at_send_now(self):
        mailing = self._mailing(self.marketer)
        with self.assertRaisesRegex(UserError, "only SMS users may"):
            mailing.with_user(self.marketer).action_send_mail()
        self._run_sms_queue()
        self.assertFalse(self._gateway_messages())

    def test_cron_checks_the_responsible_user_never_its_own(self):
        mailing = self._mailing(self.marketer)
        mailing.sudo().write({"state": "in_queue"})  # queued before the rights were taken
        self._run_mailing_cron()
        self.assertFalse(self._gateway_messages())
        self.assertEqual(mailing.state, "draft")
        self.assertIn("only SMS users may", mailing.message_ids[0].body)
        self.assertIn(self.marketer.partner_id, mailing.message_ids[0].partner_ids)

    def test_sms_marketer_mailing_sent_by_the_cron_through_cgsms(self):
        mailing = self._mailing(self.sms_marketer)
        mailing.with_user(self.sms_marketer).action_launch()
        self.assertEqual(mailing.state, "in_queue")
        balance = self.account.credit_available
        self._run_mailing_cron()
        sent = self._gateway_messages()
        self.assertEqual(sorted(m["to"] for m in sent), ["+351" + n for n in NUMBERS])
        self.assertTrue(all("STOP SMS:" in m["body"] for m in sent))
        self.account.invalidate_recordset(["credit_available"])
        self.assertLess(self.account.credit_available, balance)
        self.assertEqual(len(mailing.mailing_trace_ids), 3)

    def test_reply_to_a_mailing_sms_lands_on_the_contact_and_counts_as_replied(self):
        mailing = self._mailing(self.sms_marketer)
        mailing.with_user(self.sms_marketer).action_launch()
        self._run_mailing_cron()
        contact = self.contacts[0]
        number = "+351" + NUMBERS[0]
        [reply] = self.env["cgsms.reply"]._cgsms_receive(
            self.account, [InboundSms(message_id="in-1", number=number, body="Quero saber mais")]
        )
        self.assertEqual(reply.partner_id, contact)
        self.assertEqual((reply.res_model, reply.res_id), ("res.partner", contact.id))
        self.assertIn("Quero saber mais", contact.message_ids[0].body)
        trace = mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == number)
        self.assertEqual(trace.trace_status, "reply")
        others = mailing.mailing_trace_ids - trace
        self.assertEqual(len(others), 2)
        self.assertNotIn("reply", others.mapped("trace_status"))

    def test_test_sms_goes_through_cgsms_and_checks_who_sends_it(self):
        mailing = self._mailing(self.sms_marketer)
        Test = self.env["mailing.sms.test"]
        Test.with_user(self.sms_marketer).create(
            {"mailing_id": mailing.id, "numbers": "912000299\nnot a number"}
        ).action_send_sms()
        self._run_sms_queue()
        self.assertEqual([m["to"] for m in self._gateway_messages()], ["+351912000299"])
        self.assertIn("912000299", mailing.message_ids[0].body)
        self.assertIn("not a number", mailing.message_ids[0].body)
        self.gateway.reset()
        wizard = Test.with_user(self.marketer).create(
            {"mailing_id": mailing.id, "numbers": "912000299"}
        )
        with self.assertRaisesRegex(AccessError, "only SMS users may"):
            wizard.action_send_sms()
        self._run_sms_queue()
        self.assertFalse(self._gateway_messages())

    def test_a_stop_reply_keeps_the_number_out_of_the_next_mailing(self):
        mailing = self._mailing(self.sms_marketer)
        mailing.with_user(self.sms_marketer).action_launch()
        self._run_mailing_cron()
        number = "+351" + NUMBERS[1]
        self.env["cgsms.reply"]._cgsms_receive(
            self.account, [InboundSms(message_id="in-stop", number=number, body="STOP")]
        )
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", number)]))
        self.gateway.reset()
        following = self._mailing(self.sms_marketer, subject="Promo de Junho")
        self.assertEqual(following.cgsms_recipient_count, 2)
        following.with_user(self.sms_marketer).action_launch()
        self._run_mailing_cron()
        self.assertEqual(
            sorted(m["to"] for m in self._gateway_messages()),
            ["+351" + NUMBERS[0], "+351" + NUMBERS[2]],
        )

    # ------------------------------------------------------------------ credits

    def test_mailing_the_credits_cannot_cover_is_refused_and_never_half_sent(self):
        mailing = self._mailing(self.sms_marketer)
        self._credits_to(mailing.cgsms_estimated_cost - 0.5)
        with self.assertRaisesRegex(UserError, "Not enough SMS credits"):
            mailing.with_user(self.sms_marketer).action_launch()
        with self.assertRaisesRegex(UserError, "Not enough SMS credits"):
            mailing.with_user(self.sms_marketer).action_send_mail()
        self._run_sms_queue()
        self.assertFalse(self._gateway_messages())
        self.assertEqual(mailing.state, "draft")

    def test_cron_stops_a_mailing_the_credits_no_longer_cover(self):
        mailing = self._mailing(self.sms_marketer)
        mailing.with_user(self.sms_marketer).action_launch()
        self._credits_to(1.0)
        self._run_mailing_cron()
        self.assertFalse(self._gateway_messages())
        self.assertEqual(mailing.state, "draft")
        self.assertIn("Not enough SMS credits", mailing.message_ids[0].body)

    # ------------------------------------------------------------------ the form

    def test_form_shows_recipients_sms_per_recipient_cost_and_credits(self):
        mailing = self._mailing(self.sms_marketer)
        with Form(mailing.with_user(self.sms_marketer)) as form:
            self.assertEqual(form.cgsms_recipient_count, 3)
            # The text and the opt-out link together need 2 SMS per recipient.
            form.body_plaintext = "x" * 120
            self.assertEqual(form.cgsms_segment_count, 2)
            self.assertAlmostEqual(form.cgsms_estimated_cost, 3 * 2 * 1.44)
            self.assertAlmostEqual(form.cgsms_credit_available, 1000.0)
            form.sms_allow_unsubscribe = False
            self.assertEqual(form.cgsms_segment_count, 1)

    def test_a_new_mailing_shows_its_figures_before_it_is_saved(self):
        Mailing = self.env["mailing.mailing"].with_user(self.sms_marketer)
        form = Form(
            Mailing.with_context(default_mailing_type="sms"),
            view="mass_mailing_sms.mailing_mailing_view_form_sms",
        )
        form.sms_subject = "Promo de Junho"
        form.mailing_model_id = self.env["ir.model"]._get("res.partner")
        form.mailing_domain = repr([("id", "in", self.contacts.ids)])
        form.body_plaintext = "Promo de Junho"
        form.sms_allow_unsubscribe = False
        self.assertEqual(form.cgsms_recipient_count, 3)
        self.assertEqual(form.cgsms_segment_count, 1)
        self.assertAlmostEqual(form.cgsms_estimated_cost, 3 * 1.44)
