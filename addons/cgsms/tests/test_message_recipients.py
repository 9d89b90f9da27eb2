from odoo.addons.cgsms.compat import ODOO_19
from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.tests import Form, tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestMessageRecipients(CgsmsCase):
    """What the send form shows before sending: recipients, skipped numbers, counters, cost."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.maria = Partner.create({"name": "Maria Costa", MOBILE: "912 345 678"})
        cls.jose = Partner.create({"name": "José Lima", MOBILE: "+351 935 555 012"})
        cls.fixed_only = Partner.create({"name": "Loja Fixa", "phone": "213 456 789"})
        cls.phone_mobile = Partner.create({"name": "Sem Telemóvel", "phone": "961 111 222"})
        cls.group = cls.env["cgsms.group"].create(
            {"name": "Clientes", "partner_ids": [(6, 0, (cls.maria | cls.jose).ids)]}
        )

    def _form(self):
        return Form(self.env["cgsms.message"])

    def _skipped(self, message):
        return {
            (line.number or "", line.error_class)
            for line in message.recipient_ids.filtered(lambda r: r.state == "cancelled")
        }

    def test_duplicate_number_in_group_and_customer_counted_once(self):
        form = self._form()
        form.group_ids.add(self.group)
        form.partner_ids.add(self.maria)
        form.free_numbers = "+351912345678"
        self.assertEqual(form.recipient_count, 2)
        self.assertEqual(form.dropped_count, 1)
        self.assertIn("Duplicate", form.preview_html)

    def test_free_numbers_split_on_separators_and_invalid_reported(self):
        form = self._form()
        form.free_numbers = "912 000 111; 912 000 222, 912000333\n+351 912 000 444\n12345"
        self.assertEqual(form.recipient_count, 4)
        self.assertEqual(form.dropped_count, 1)
        self.assertIn("12345", form.preview_html)
        self.assertIn("Invalid number", form.preview_html)

    def test_blacklisted_number_skipped_with_reason(self):
        self.env["phone.blacklist"].sudo().create({"number": "+351935555012"})
        form = self._form()
        form.group_ids.add(self.group)
        self.assertEqual(form.recipient_count, 1)
        self.assertIn("asked not to receive SMS", form.preview_html)

    def test_opt_out_action_blacklists_the_partner_mobile(self):
        self.jose.action_cgsms_opt_out()
        self.assertTrue(
            self.env["phone.blacklist"].sudo().search([("number", "=", "+351935555012")])
        )
        form = self._form()
        form.partner_ids.add(self.jose)
        self.assertEqual(form.recipient_count, 0)
        self.assertIn("asked not to receive SMS", form.preview_html)

    def test_phone_used_only_with_the_fallback_option(self):
        form = self._form()
        form.partner_ids.add(self.phone_mobile)
        form.partner_ids.add(self.fixed_only)
        if ODOO_19:
            # 19.0 contacts have one number, the phone: it is used, unless it is a fixed line.
            self.assertEqual(form.recipient_count, 1)
            self.assertIn("is not a mobile number", form.preview_html)
            return
        self.assertEqual(form.recipient_count, 0)
        self.assertIn("No mobile number", form.preview_html)
        form.use_phone_fallback = True
        self.assertEqual(form.recipient_count, 1, "a mobile number in the phone field is used")
        self.assertIn("is not a mobile number", form.preview_html, "a fixed line cannot get SMS")

    def test_counters_and_cost_follow_the_text(self):
        form = self._form()
        form.partner_ids.add(self.maria)
        form.partner_ids.add(self.jose)
        form.body = "Hello"
        self.assertEqual(form.char_count, 5)
        self.assertEqual(form.segment_count, 1)
        self.assertEqual(form.encoding, "GSM-7")
        self.assertEqual(form.cost_per_segment_label, "1 SMS = 1.44 credits")
        self.assertAlmostEqual(form.estimated_cost, 2.88, places=4)
        self.assertAlmostEqual(form.credit_available, 1000.0, places=4)
        form.body = "a" * 161
        self.assertEqual(form.segment_count, 2)
        self.assertAlmostEqual(form.estimated_cost, 5.76, places=4)
        form.body = "Olá"
        self.assertEqual(form.encoding, "GSM-7", "the account replaces accented letters")
        form.body = "Olá 😀"
        self.assertEqual(form.encoding, "UCS-2")

    def test_template_text_copied_and_still_editable(self):
        template = self.env["sms.template"].create(
            {
                "name": "Promoção",
                "model_id": self.env.ref("base.model_res_partner").id,
                "body": "Olá {{ object.name }}, 20% de desconto!",
            }
        )
        form = self._form()
        form.template_id = template
        self.assertEqual(form.body, "Olá {{ object.name }}, 20% de desconto!")
        form.body = "Olá {{ object.name }}, 30% de desconto!"
        form.partner_ids.add(self.maria)
        message = form.save()
        self.assertEqual(message.body, "Olá {{ object.name }}, 30% de desconto!")
        self.assertTrue(message.name.startswith("SMS/"))

    def test_dropped_numbers_kept_as_cancelled_lines_after_sending(self):
        self.env["phone.blacklist"].sudo().create({"number": "+351935555012"})
        form = self._form()
        form.group_ids.add(self.group)
        form.partner_ids.add(self.fixed_only)
        form.free_numbers = "912345678; 999"
        form.body = "Hello"
        message = form.save()
        message.action_send()
        self.assertEqual(
            self._skipped(message),
            {
                ("+351935555012", "blacklisted"),
                # The fixed line is the contact's only number on 19.0, no number on 18.0.
                ("+351213456789", "invalid_number") if ODOO_19 else ("", "missing_number"),
                ("+351912345678", "duplicate"),
                ("999", "invalid_number"),
            },
        )
        self.assertEqual(len(self._gateway_messages()), 1)
