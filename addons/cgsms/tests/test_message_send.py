from datetime import timedelta

from odoo import fields
from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .common import CgsmsCase


@tagged("post_install", "-at_install")
class TestMessageSend(CgsmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.maria = Partner.create({"name": "Maria Costa", MOBILE: "912 345 678"})
        cls.jose = Partner.create({"name": "José Lima", MOBILE: "+351 935 555 012"})
        cls.group = cls.env["cgsms.group"].create(
            {"name": "Clientes", "partner_ids": [(6, 0, (cls.maria | cls.jose).ids)]}
        )
        cls.template = cls.env["sms.template"].create(
            {
                "name": "Lembrete",
                "model_id": cls.env.ref("base.model_res_partner").id,
                "body": "Olá {{ object.name }}, lembramos a sua marcação.",
            }
        )

    def _message(self, body="Hello", **recipients):
        form = Form(self.env["cgsms.message"])
        for group in recipients.get("groups", []):
            form.group_ids.add(group)
        for partner in recipients.get("partners", []):
            form.partner_ids.add(partner)
        if recipients.get("numbers"):
            form.free_numbers = recipients["numbers"]
        if body:
            form.body = body
        return form.save()

    def _balance(self):
        return self.account._credit_balances()[self.account.id]

    def _sent_to(self):
        return sorted(m["to"] for m in self._gateway_messages())

    def test_duplicate_number_in_group_and_customer_sent_once(self):
        message = self._message(groups=[self.group], partners=[self.maria], numbers="912 345 678")
        message.action_send()
        self.assertEqual(self._sent_to(), ["+351912345678", "+351935555012"])
        sent = message.recipient_ids.filtered(lambda r: r.state == "sent")
        self.assertEqual(len(sent), 2)
        self.assertEqual(
            sent.filtered(lambda r: r.number == "+351912345678").partner_id, self.maria
        )
        self.assertEqual(message.state, "done")
        self.assertEqual(message.progress, 100.0)

    def test_send_charges_the_credits_of_each_sms(self):
        before = self._balance()
        message = self._message(groups=[self.group])
        message.action_send()
        self.assertAlmostEqual(message.cost_total, 2.88, places=4)
        self.assertAlmostEqual(self._balance(), before - 2.88, places=4)
        self.assertTrue(all(line.provider_message_id for line in message.recipient_ids))

    def test_send_refused_when_credits_are_short(self):
        self.env["cgsms.credit.line"].create(
            {"account_id": self.account.id, "kind": "adjustment", "amount": -self._balance() + 2.0}
        )
        lines_before = self.env["cgsms.credit.line"].search_count([])
        message = self._message(groups=[self.group])
        with self.assertRaisesRegex(
            UserError,
            "Not enough SMS credits: this send needs 2.88 credits, only 2.00 are available",
        ):
            message.action_send()
        self.assertFalse(self._gateway_messages())
        self.assertEqual(self.env["cgsms.credit.line"].search_count([]), lines_before)
        self.assertFalse(message.recipient_ids)
        self.assertEqual(message.state, "draft")

    def test_send_refused_without_active_account(self):
        self.account.active = False
        message = self._message(groups=[self.group])
        with self.assertRaisesRegex(UserError, "No active SMS account"):
            message.action_send()

    def test_send_refused_with_empty_message(self):
        message = self._message(body=False, groups=[self.group])
        with self.assertRaisesRegex(UserError, "Write the message"):
            message.action_send()

    def test_send_refused_without_valid_recipient(self):
        message = self._message(numbers="123; abc")
        with self.assertRaisesRegex(UserError, "No valid recipient"):
            message.action_send()
        self.assertFalse(self._gateway_messages())

    def test_send_refused_when_message_too_long(self):
        message = self._message(body="a" * 153 * 11, groups=[self.group])
        with self.assertRaisesRegex(UserError, "too long"):
            message.action_send()

    def test_template_placeholders_rendered_per_partner(self):
        self.account.gsm7_safe = False  # the text leaves as typed, accents and all
        form = Form(self.env["cgsms.message"])
        form.template_id = self.template
        form.group_ids.add(self.group)
        form.free_numbers = "912 000 999"
        message = form.save()
        message.action_send()
        bodies = {m["to"]: m["body"] for m in self._gateway_messages()}
        self.assertEqual(bodies["+351912345678"], "Olá Maria Costa, lembramos a sua marcação.")
        self.assertEqual(bodies["+351935555012"], "Olá José Lima, lembramos a sua marcação.")
        self.assertEqual(bodies["+351912000999"], "Olá, lembramos a sua marcação.")

    def test_edited_template_text_rendered_per_partner(self):
        form = Form(self.env["cgsms.message"])
        form.template_id = self.template
        form.body = "Bom dia {{ object.name }}!"
        form.partner_ids.add(self.maria)
        form.save().action_send()
        self.assertEqual(self._gateway_messages()[0]["body"], "Bom dia Maria Costa!")

    def test_big_send_goes_through_the_queue(self):
        self.env["ir.config_parameter"].sudo().set_param("cgsms.direct_send_limit", 2)
        message = self._message(groups=[self.group], numbers="912 000 111; 912 000 222")
        message.action_send()
        self.assertFalse(self._gateway_messages(), "a big send must not block the browser")
        self.assertEqual(message.state, "sending")
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"queued"})
        queued = (
            self.env["sms.sms"]
            .sudo()
            .search([("cgsms_recipient_id", "in", message.recipient_ids.ids)])
        )
        self.assertEqual(set(queued.mapped("state")), {"outgoing"})
        self._run_sms_queue()
        self.assertEqual(len(self._gateway_messages()), 4)
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"sent"})
        self.env.cr.flush()  # what the commit after each queue batch does
        self.assertEqual(message.state, "done")

    def test_resend_failed_only_resends_failed(self):
        self.gateway.fail_next("sandbox", "auth", count=1)
        message = self._message(partners=[self.maria])
        message.action_send()
        failed = message.recipient_ids
        self.assertEqual(failed.state, "failed")
        self.assertEqual(failed.error_class, "auth")
        other = self._message(partners=[self.jose])
        other.action_send()
        self.gateway.reset()
        message.action_resend_failed()
        self.assertEqual(self._sent_to(), ["+351912345678"])
        self.assertEqual(failed.state, "sent")
        self.assertEqual(len(message.recipient_ids), 1)
        with self.assertRaisesRegex(UserError, "no failed SMS"):
            message.action_resend_failed()

    def test_resend_skips_delivered_and_invalid(self):
        message = self._message(groups=[self.group], numbers="999")
        message.action_send()
        self.gateway.reset()
        with self.assertRaises(UserError):
            message.action_resend_failed()
        self.assertFalse(self._gateway_messages())

    def test_scheduled_send_sent_by_cron_when_due(self):
        message = self._message(groups=[self.group])
        message.scheduled_date = fields.Datetime.now() + timedelta(hours=1)
        message.action_schedule()
        self.assertEqual(message.state, "scheduled")
        self.env["cgsms.message"]._cron_send_scheduled()
        self.assertFalse(self._gateway_messages())
        message.scheduled_date = fields.Datetime.now() - timedelta(minutes=1)
        self.env["cgsms.message"]._cron_send_scheduled()
        self.assertEqual(len(self._gateway_messages()), 2)
        self.assertEqual(message.state, "done")

    def test_sms_user_without_manager_rights_can_send(self):
        user = new_test_user(
            self.env,
            login="cgsms_sender",
            groups="cgsms.group_cgsms_user",
            company_id=self.company.id,
        )
        form = Form(self.env["cgsms.message"].with_user(user))
        form.group_ids.add(self.group)
        form.template_id = self.template
        self.assertEqual(form.cost_per_segment_label, "1 SMS = 1.44 credits")
        message = form.save()
        message.action_send()
        self.assertEqual(len(self._gateway_messages()), 2)
        self.assertEqual(message.sent_count, 2)
