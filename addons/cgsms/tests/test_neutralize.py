from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.modules.neutralize import neutralize_database
from odoo.tests import Form, tagged

from .. import compat
from ..providers import OutgoingSms, ProviderError
from .common import CgsmsCase

NEUTRALIZED = "This database is a neutralized copy: SMS are not sent"


class NeutralizedDoors:
    """Every door of a neutralized database: none reaches a provider or spends a credit.
    ``cls.accounts``: the company's accounts, one of each provider, all at the fake gateway;
    ``cls.account``, the sandbox one."""

    allow_inherited_tests_method = True  # Odoo 19.0 collects a class's own test methods only

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_user = cls._cgsms_user(
            "neutral_sms_user",
            "base.group_user,base.group_partner_manager,cgsms.group_cgsms_user",
            cls.company,
        )
        cls.manager = cls._cgsms_user(
            "neutral_sms_manager", "base.group_user,cgsms.group_cgsms_manager", cls.company
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Rita Sousa",
                compat.PARTNER_MOBILE_FIELD: "912 000 111",
                "country_id": cls.env.ref("base.pt").id,
            }
        )

    def setUp(self):
        super().setUp()
        self.others = self.accounts - self.account
        self.before = self._balances()

    def _balances(self):
        return self.accounts._credit_balances()

    def _assert_nothing_left(self):
        self.assertEqual(self.gateway.requests, [], "no call reached a provider")
        self.assertEqual(self._gateway_messages(), [])
        self.assertEqual(self._balances(), self.before, "no credit spent")

    def test_every_account_is_neutralized_and_says_so(self):
        self.assertEqual(set(self.accounts.mapped("neutralized")), {True})
        self.assertTrue(self.company.cgsms_neutralized)
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.cgsms_neutralized)
        message = Form(self.env["cgsms.message"].with_user(self.sms_user))
        self.assertTrue(message.cgsms_neutralized)
        # an account made in the copy is neutralized too
        new = self._cgsms_make_account(self.company, provider="vonage")
        self.assertTrue(new.neutralized)

    def test_send_form_sends_nothing_and_says_why(self):
        form = Form(self.env["cgsms.message"].with_user(self.sms_user))
        form.partner_ids.add(self.customer)
        form.free_numbers = "935 555 012"
        form.body = "Olá"
        message = form.save()
        message.action_send()
        self._assert_nothing_left()
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"failed"})
        self.assertEqual(set(message.recipient_ids.mapped("failure_reason")), {NEUTRALIZED})

    def test_express_and_odoo_composer_send_nothing(self):
        self.env["cgsms.express.wizard"].with_user(self.sms_user).express_send(
            "912 345 678", [self.customer.id], "Olá"
        )
        composer = (
            self.env["sms.composer"]
            .with_user(self.sms_user)
            .with_context(default_res_model="res.partner", default_res_id=self.customer.id)
            .create({"composition_mode": "comment", "body": "Olá"})
        )
        composer.action_send_sms()
        self.env["sms.composer"].with_user(self.sms_user).create(
            {"composition_mode": "numbers", "numbers": "+351935555012", "body": "Olá"}
        ).action_send_sms()
        self._run_sms_queue()
        self._assert_nothing_left()
        lines = self.env["cgsms.recipient"].search([("account_id", "in", self.accounts.ids)])
        self.assertTrue(lines)
        self.assertEqual(set(lines.mapped("failure_reason")), {NEUTRALIZED})
        self.assertFalse(
            self.env["sms.sms"].sudo().search([("state", "=", "outgoing")]),
            "nothing waits to leave through Odoo's IAP either",
        )

    def test_test_connection_and_lookups_call_no_provider(self):
        for account in self.accounts:
            result = account.with_user(self.manager).action_test_connection()
            self.assertEqual(result["params"]["message"], NEUTRALIZED)
            self.assertEqual(account.state, "not_checked")
            # the adapter itself refuses any call, whatever calls it
            with self.assertRaises(ProviderError) as caught:
                account._provider().get_balance()
            self.assertEqual(str(caught.exception), NEUTRALIZED)
            outgoing = OutgoingSms(ref="ref-1", to="+351912000009", body="Olá")
            try:  # Vonage has no lookup call (its receipts tell): None
                found = account._cgsms_send_provider().lookup(outgoing, fields.Datetime.now())
            except ProviderError as exc:
                found = str(exc)
            self.assertIn(found, (None, NEUTRALIZED))
        self.env["sms.sms"]._cgsms_reconcile_stale()
        self._assert_nothing_left()

    def test_administrator_may_point_a_sandbox_account_at_the_sandbox(self):
        with self.assertRaises(AccessError):
            self.account.with_user(self.manager).write({"neutralized": False})
        with self.assertRaises(ValidationError):
            self.others.filtered(lambda a: a.provider != "sandbox")[:1].write(
                {"neutralized": False}
            )
        self.others.action_archive()
        self.account.write({"neutralized": False})  # the administrator, on purpose
        self.account.with_user(self.manager).action_test_connection()
        self.assertEqual(self.account.state, "ok")
        self.env["cgsms.express.wizard"].with_user(self.sms_user).express_send(
            "912 345 678", [], "Olá"
        )
        self.assertEqual([m["to"] for m in self._gateway_messages()], ["+351912345678"])
        # back to a real provider: it stops sending again
        self.account.write({"provider": "vonage"})
        self.assertTrue(self.account.neutralized)


@tagged("post_install", "-at_install")
class TestNeutralize(NeutralizedDoors, CgsmsCase):
    """What ``odoo-bin neutralize`` runs (every installed module's data/neutralize.sql), in
    the test's transaction, on accounts of every provider."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accounts = cls.account
        for provider in ("lusosms", "vonage", "twilio"):
            cls.accounts |= cls._cgsms_make_account(cls.company, provider=provider)

    def setUp(self):
        super().setUp()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.env.registry.clear_all_caches()  # the system parameters' too


@tagged("-standard", "cgsms_neutralized_copy", "post_install", "-at_install")
class TestNeutralizedCopy(NeutralizedDoors, CgsmsCase):
    """A database really neutralized by ``odoo-bin neutralize`` after accounts of every
    provider were made in it (scripts/check_integrator.sh runs it: --test-tags
    cgsms_neutralized_copy). The accounts are pointed at the fake gateway of the test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accounts = cls.env["cgsms.account"].search([("company_id", "=", cls.company.id)])
        # made before the company had a country: Portugal added to their destinations
        cls.accounts.write(
            {
                "base_url": cls.gateway.url,
                "allowed_country_ids": [Command.link(cls.env.ref("base.pt").id)],
            }
        )
        cls.env["cgsms.credit.line"].create(
            [
                {"account_id": account.id, "kind": "topup", "amount": 100, "reference": "Pack"}
                for account in cls.accounts - cls.account
            ]
        )

    def test_odoo_bin_neutralize_marked_every_account(self):
        self.assertTrue(self.account._cgsms_database_neutralized())
        made_before = self.others
        self.assertLessEqual(
            {"sandbox", "lusosms", "vonage", "twilio"}, set(made_before.mapped("provider"))
        )
        self.assertEqual(set(made_before.mapped("neutralized")), {True})
