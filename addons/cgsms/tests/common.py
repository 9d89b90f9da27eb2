"""Shared set-up for CgSMS tests: a real fake gateway on 127.0.0.1 and an active account."""

import contextlib
import unittest
from unittest.mock import patch

from odoo.tests import TransactionCase, new_test_user

from .. import compat

try:
    # The project's fake SMS gateway: a test tool that lives outside the installable addons,
    # the package cgsms-fake-gateway (tests/fake_gateway in the CgSMS repository,
    # requirements-test.txt). Without it the tests that need it are skipped, with the reason.
    import fake_gateway
except ImportError:
    fake_gateway = None

MISSING_GATEWAY = (
    "the CgSMS fake SMS gateway is not installed: pip install cgsms-fake-gateway (the folder "
    "tests/fake_gateway of the CgSMS repository) to run these tests"
)


class CgsmsGatewayMixin:
    """Starts one FakeGateway per test class (a real HTTP server on loopback) and gives the
    current company an active sandbox account pointing at it, with credits."""

    gateway = None

    @classmethod
    def setUpClass(cls):
        if fake_gateway is None:
            raise unittest.SkipTest(MISSING_GATEWAY)
        super().setUpClass()
        cls.gateway = fake_gateway.FakeGateway()
        cls.gateway.start()
        cls.addClassCleanup(cls.gateway.stop)
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.pt")
        cls.account = cls._cgsms_make_account(cls.company)
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.account.id, "kind": "topup", "amount": 1000, "reference": "Pack"}
        )

    def setUp(self):
        super().setUp()
        self.gateway.reset()

    @classmethod
    def _cgsms_make_account(cls, company, provider="sandbox", **vals):
        creds = {
            "sandbox": (
                fake_gateway.SANDBOX_USERNAME,
                fake_gateway.SANDBOX_TOKEN,
                fake_gateway.SANDBOX_WEBHOOK_SECRET,
            ),
            "lusosms": (
                fake_gateway.LUSOSMS_USERNAME,
                fake_gateway.LUSOSMS_PASSWORD,
                fake_gateway.LUSOSMS_WEBHOOK_SECRET,
            ),
            "vonage": (
                fake_gateway.VONAGE_API_KEY,
                fake_gateway.VONAGE_API_SECRET,
                fake_gateway.VONAGE_SIGNATURE_SECRET,
            ),
            "twilio": (fake_gateway.TWILIO_ACCOUNT_SID, fake_gateway.TWILIO_AUTH_TOKEN, ""),
        }[provider]
        creds = {"username": creds[0], "password": creds[1], "webhook_secret": creds[2]}
        return (
            cls.env["cgsms.account"]
            .sudo()
            .create(
                {
                    "company_id": company.id,
                    "provider": provider,
                    "sender": "CgSMS",
                    "base_url": cls.gateway.url,
                    **creds,
                    **vals,
                }
            )
        )

    @classmethod
    def _cgsms_user(cls, login, groups, company):
        """A real user of ``company`` only (password: the login), for access-right tests."""
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )

    def _run_sms_queue(self):
        """What Odoo's SMS cron does. On 19.0 the queue commits its progress with
        ir.cron._commit_progress, which a test's transaction cannot: it flushes instead."""
        if not compat.ODOO_19:
            return self.env["sms.sms"].sudo()._process_queue()

        def flush_progress(cron, processed=0, *, remaining=None, deactivate=False):
            cron.env.flush_all()
            return float("inf")

        with patch.object(type(self.env["ir.cron"]), "_commit_progress", flush_progress):
            return self.env["sms.sms"].sudo()._process_queue()

    def _shared_cursors(self):
        """Let new cursors (a cron job's, after-commit callbacks) share the test's transaction:
        19.0 needs asking, 18.0's method_direct_trigger keeps the test's cursor."""
        if hasattr(self, "enter_registry_test_mode"):  # Odoo 19.0
            return self.enter_registry_test_mode()
        return contextlib.nullcontext()

    def _run_postcommit(self):
        """Run the after-commit callbacks as Odoo does after a commit, their new cursor
        sharing this test's transaction."""
        self.env.flush_all()
        if hasattr(self, "enter_registry_test_mode"):  # Odoo 19.0
            with self.enter_registry_test_mode():
                self.env.cr.postcommit.run()
        else:
            self.registry.enter_test_mode(self.env.cr)
            try:
                self.env.cr.postcommit.run()
            finally:
                self.registry.leave_test_mode()
        self.env.invalidate_all()

    def _deliver(self, *args, **kwargs):
        """``self.gateway.deliver(...)``: the fake gateway posts the delivery report to Odoo
        from its own thread, without the test's cookie, which 19.0's HttpCase answers 400
        unless the test allows every request meanwhile."""
        allow = getattr(self, "allow_requests", None)
        with allow(all_requests=True) if allow else contextlib.nullcontext():
            return self.gateway.deliver(*args, **kwargs)

    def _gateway_messages(self):
        return list(self.gateway.messages)


class CgsmsCase(CgsmsGatewayMixin, TransactionCase):
    pass
