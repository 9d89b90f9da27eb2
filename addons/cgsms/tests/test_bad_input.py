"""Bad input, one row each: a clear message in the user's language, nothing lost, nothing sent
twice, no credit spent for nothing."""

from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestBadInput(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"]._load_module_terms(["cgsms"], ["pt_PT"], overwrite=True)
        cls.maria = cls.env["res.partner"].create({"name": "Maria Costa", MOBILE: "912 345 678"})

    def _message(self, body="Olá", **vals):
        return self.env["cgsms.message"].create({"body": body, **vals})

    def _balance(self):
        return self.account._credit_balances()[self.account.id]

    def _assert_refused_in_both_languages(self, message):
        """The send is refused with a message, translated in Portuguese; the draft keeps its
        text and recipients, nothing leaves and no credit moves."""
        before = self._balance()
        body, numbers = message.body, message.free_numbers
        errors = {}
        for lang in ("en_US", "pt_PT"):
            with self.assertRaises(UserError) as caught:
                message.with_context(lang=lang).action_send()
            errors[lang] = str(caught.exception.args[0])
        self.assertTrue(errors["en_US"])
        self.assertNotEqual(errors["en_US"], errors["pt_PT"], "the error must be translated")
        self.assertEqual(message.state, "draft")
        self.assertEqual((message.body, message.free_numbers), (body, numbers))
        self.assertFalse(self._gateway_messages())
        self.assertAlmostEqual(self._balance(), before, places=4)
        return errors

    def test_empty_message_refused(self):
        self._assert_refused_in_both_languages(
            self._message(body="   ", partner_ids=self.maria.ids)
        )

    def test_only_invalid_and_partial_numbers_refused(self):
        message = self._message(free_numbers="12; abc; 91234; +351 21")
        self._assert_refused_in_both_languages(message)
        self.assertEqual(message.recipient_count, 0)
        self.assertEqual(message.dropped_count, 4)

    def test_invalid_numbers_reported_but_valid_ones_sent(self):
        message = self._message(free_numbers="912 000 111; 12345", partner_ids=self.maria.ids)
        message.action_send()
        self.assertEqual(len(self._gateway_messages()), 2)
        skipped = message.recipient_ids.filtered(lambda r: r.state == "cancelled")
        self.assertEqual(skipped.error_class, "invalid_number")

    def test_text_over_the_segment_limit_refused(self):
        self._assert_refused_in_both_languages(
            self._message(body="x" * 153 * 11, partner_ids=self.maria.ids)
        )

    def test_no_active_account_refused(self):
        self.account.active = False
        self._assert_refused_in_both_languages(self._message(partner_ids=self.maria.ids))

    def test_short_of_credits_refused(self):
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -self._balance() + 1}
        )
        self._assert_refused_in_both_languages(self._message(partner_ids=self.maria.ids))

    def test_emoji_and_mixed_scripts_are_counted_as_unicode_and_charged_per_segment(self):
        body = "Olá Мария 😀 " * 6  # 78 UTF-16 units: two UCS-2 segments
        message = self._message(body=body, partner_ids=self.maria.ids)
        # Replacing accented letters (on by default) cannot help: Cyrillic and emoji stay.
        self.assertEqual((message.encoding, message.segment_count), ("UCS-2", 2))
        message.action_send()
        self.assertEqual(self._gateway_messages()[0]["body"], body.replace("á", "a"))
        self.assertEqual(message.recipient_ids.segments, 2)
        self.assertAlmostEqual(message.recipient_ids.cost, 2 * 1.44, places=4)

    def test_html_and_script_are_plain_text_in_sms_and_escaped_on_screen(self):
        evil = "<script>alert('x')</script>"
        partner = self.env["res.partner"].create({"name": evil, MOBILE: "12"})
        message = self._message(body=f"Promo {evil}", partner_ids=partner.ids + self.maria.ids)
        self.assertNotIn("<script>", message.preview_html)
        message.action_send()
        self.assertEqual(self._gateway_messages()[0]["body"], f"Promo {evil}")

    def test_template_with_markup_renders_as_text(self):
        template = self.env["sms.template"].create(
            {
                "name": "Evil",
                "model_id": self.env.ref("base.model_res_partner").id,
                "body": "Olá {{ object.name }} <b>hoje</b>",
            }
        )
        partner = self.env["res.partner"].create({"name": "<i>Rui</i>", MOBILE: "913 000 222"})
        message = self._message(body=False, partner_ids=partner.ids)
        message.template_id = template
        message.action_send()
        # Accented letters are replaced (the account's default), the markup is left as text.
        self.assertEqual(self._gateway_messages()[0]["body"], "Ola <i>Rui</i> <b>hoje</b>")

    def _send_one(self):
        message = self._message(partner_ids=self.maria.ids)
        message.action_send()
        return message, message.recipient_ids

    def test_provider_refuses_credentials(self):
        self.gateway.fail_next("sandbox", "auth")
        before = self._balance()
        _message, line = self._send_one()
        self.assertEqual((line.state, line.error_class), ("failed", "auth"))
        self.assertIn("credentials", line.failure_reason)
        self.assertAlmostEqual(self._balance(), before, places=4)

    def test_provider_rate_limit_retried_then_sent_once(self):
        self.gateway.fail_next("sandbox", "rate_limited")
        _message, line = self._send_one()
        self.assertEqual(line.state, "sent")
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_provider_down_keeps_sms_queued_then_sends_once(self):
        # A 5xx may come after the provider took the SMS: looked up before it is sent again.
        self.env["ir.config_parameter"].sudo().set_param("cgsms.reconcile_delay", "0")
        self.gateway.fail_next("sandbox", "server_error", count=10)
        _message, line = self._send_one()
        self.assertEqual(line.state, "checking")
        self.assertFalse(self._gateway_messages())
        self.gateway.reset()
        self._run_sms_queue()  # not at the provider: back to the queue
        self.assertEqual(line.state, "queued")
        self._run_sms_queue()
        self.assertEqual(line.state, "sent")
        self._run_sms_queue()
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_slow_provider_still_sends(self):
        self.gateway.fail_next("sandbox", "slow")
        _message, line = self._send_one()
        self.assertEqual(line.state, "sent")

    def test_provider_balance_exhausted_reported(self):
        self.gateway.fail_next("sandbox", "insufficient")
        before = self._balance()
        _message, line = self._send_one()
        self.assertEqual((line.state, line.error_class), ("failed", "insufficient_credit"))
        self.assertIn("provider", line.failure_reason)
        self.assertAlmostEqual(self._balance(), before, places=4)

    def test_provider_failure_reason_translated(self):
        self.gateway.fail_next("sandbox", "auth")
        message = self._message(partner_ids=self.maria.ids)
        message.with_context(lang="pt_PT").action_send()
        reason = message.recipient_ids.failure_reason
        self.assertTrue(reason)
        self.assertNotIn("credentials", reason)
