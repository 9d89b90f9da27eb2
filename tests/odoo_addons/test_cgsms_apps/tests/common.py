"""A database with Odoo's apps that send SMS, CgSMS beside them, and each app's own user.

Odoo's apps skip their SMS while Odoo runs tests (``registry.in_test_mode()``, the thread's
``testing`` flag, ``odoo.modules.module.current_test``): :meth:`AppsCase._live` lifts those
flags for the app's own check only, so that the SMS really leaves, through CgSMS, to the
fake gateway.
"""

import contextlib
import sys
import types
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.addons.cgsms import compat
from odoo.addons.cgsms.tests.common import CgsmsGatewayMixin
from odoo.tests import TransactionCase

CUSTOMER_MOBILE = "+351912000111"
# The apps whose own "are we testing?" checks are lifted (their module names).
LIVE_MODULES = ("odoo.addons.stock_sms",)


class AppsMixin(CgsmsGatewayMixin):
    # The app sends Odoo's mass SMS (no notification on the document), e.g. event schedulers.
    mass_sms = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Rita Sousa",
                compat.PARTNER_MOBILE_FIELD: "912 000 111",
                "country_id": cls.env.ref("base.pt").id,
            }
        )
        cls.company.cgsms_who_may_send = "sms_users"

    # ------------------------------------------------------------------ the apps' test flags

    @contextlib.contextmanager
    def _live(self):
        """The apps send their SMS as in production (only their own checks are lifted)."""
        registry = self.env.registry
        live_thread = types.SimpleNamespace(testing=False)
        stock_picking = sys.modules["odoo.addons.stock_sms.models.stock_picking"]
        with contextlib.ExitStack() as stack:
            if hasattr(registry, "in_test_mode"):  # 18.0
                in_test_mode = registry.in_test_mode

                def live_in_test_mode():
                    caller = sys._getframe(1).f_globals.get("__name__", "")
                    return False if caller.startswith(LIVE_MODULES) else in_test_mode()

                stack.enter_context(patch.object(registry, "in_test_mode", live_in_test_mode))
            if hasattr(stock_picking, "threading"):  # 18.0
                fake_threading = types.SimpleNamespace(current_thread=lambda: live_thread)
                stack.enter_context(patch.object(stock_picking, "threading", fake_threading))
            if hasattr(stock_picking, "modules"):  # 19.0
                fake_modules = types.SimpleNamespace(
                    module=types.SimpleNamespace(current_test=None)
                )
                stack.enter_context(patch.object(stock_picking, "modules", fake_modules))
            yield
        # What a user's transaction queued leaves after its commit; the test sends it now.
        self._run_sms_queue()

    # ------------------------------------------------------------------ credits, provider

    def _no_credits(self):
        available = self.account.sudo()._credit_balances().get(self.account.id, 0.0)
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -available}
        )

    def _provider_down(self):
        self.account.sudo().base_url = "http://127.0.0.1:9"  # connection refused

    # ------------------------------------------------------------------ what happened

    def _sent_to(self, number=CUSTOMER_MOBILE):
        return [m for m in self._gateway_messages() if m["to"] == number]

    def _lines(self, record, number=CUSTOMER_MOBILE):
        """The history lines of the SMS to ``number``: on ``record`` (an SMS posted on a
        document), or on no document (Odoo's mass SMS, e.g. event schedulers, keep none)."""
        lines = self.env["cgsms.recipient"].sudo().search([("number", "=", number)])
        for line in lines:
            self.assertIn(line.res_model, (record._name, False))
            if line.res_model:
                self.assertEqual(line.res_id, record.id)
        return lines

    def _assert_failure_on_document(self, line, failure_type):
        """Odoo's SMS failure on the document's message, as Odoo shows it for IAP."""
        if self.mass_sms:
            return  # Odoo keeps no notification for a mass SMS (neither for IAP's)
        self.assertTrue(line.mail_message_id)
        notification = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("mail_message_id", "=", line.mail_message_id.id),
                    ("notification_type", "=", "sms"),
                ]
            )
        )
        self.assertEqual(notification.mapped("notification_status"), ["exception"])
        self.assertEqual(notification.failure_type, failure_type)

    def _assert_sent_once(self, record, number=CUSTOMER_MOBILE):
        """Once at the gateway, debited, one history line."""
        balance = self.account.sudo()._credit_balances().get(self.account.id, 0.0)
        [message] = self._sent_to(number)
        [line] = self._lines(record, number)
        self.assertEqual(line.state, "sent")
        self.assertGreater(line.cost, 0)
        self.assertEqual(message["body"].strip()[:20], (line.body or "").strip()[:20])
        self.assertLess(balance, 1000)
        return line

    def _assert_recorded_not_sent(
        self, record, state, reason, failure_type=None, number=CUSTOMER_MOBILE
    ):
        """Nothing at the gateway; the history line says why."""
        self.assertFalse(self._sent_to(number))
        [line] = self._lines(record, number)
        self.assertEqual(line.state, state)
        if failure_type:
            self._assert_failure_on_document(line, failure_type)
        if reason:
            self.assertIn(reason, line.failure_reason or "")
        return line


class AppsCase(AppsMixin, TransactionCase):
    pass


class AppAutomationCases:
    """The three cases of one app: ``_prepare`` (as an administrator) gives the document,
    ``_act`` does the business action as the app's user, ``_assert_done`` checks it
    succeeded; ``_document`` is the record the SMS is about."""

    allow_inherited_tests_method = True  # Odoo's loader runs only a class's own tests otherwise

    def _document(self, record):
        return record

    def _run_action(self):
        record = self._prepare()
        with self._live():
            self._act(record)
        self._assert_done(record)
        return self._document(record)

    def test_action_succeeds_and_its_sms_goes_through_cgsms(self):
        document = self._run_action()
        line = self._assert_sent_once(document)
        self.assertFalse(line.failure_reason)

    def test_action_succeeds_with_no_credits_and_the_sms_says_why(self):
        self._no_credits()
        document = self._run_action()
        line = self._assert_recorded_not_sent(document, "failed", "credits", "sms_credit")
        self.assertEqual(line.cost, 0.0)

    def test_action_succeeds_with_the_account_out_of_rotation_through_the_next_one(self):
        self.account.sudo().write({"sequence": 1, "name": "Primary"})
        second = self._cgsms_make_account(
            self.company, provider="lusosms", sequence=2, name="Second"
        )
        self.env["cgsms.credit.line"].create(
            {"account_id": second.id, "kind": "topup", "amount": 100, "reference": "Pack"}
        )
        self.account.sudo().write(
            {
                "out_of_rotation_until": fields.Datetime.now() + timedelta(minutes=5),
                "out_of_rotation_reason": "Too many errors",
            }
        )
        document = self._run_action()
        [message] = self._sent_to()
        self.assertEqual(message["provider"], "lusosms")
        [line] = self._lines(document)
        self.assertEqual((line.state, line.account_id), ("sent", second))

    def test_managers_told_once_when_credits_run_out(self):
        self._no_credits()
        Activity = self.env["mail.activity"].sudo()
        domain = [
            ("res_model", "=", "cgsms.account"),
            ("res_id", "=", self.account.id),
            ("activity_type_id", "=", self.env.ref("cgsms.mail_activity_type_low_balance").id),
        ]
        self._run_action()
        told = Activity.search_count(domain)
        self.assertGreaterEqual(told, 1)
        self._run_action()
        self.assertEqual(Activity.search_count(domain), told)

    def test_action_succeeds_with_the_provider_down_and_the_sms_waits(self):
        self._provider_down()
        document = self._run_action()
        line = self._assert_recorded_not_sent(document, "queued", "")
        self.assertTrue(line.failure_reason)
