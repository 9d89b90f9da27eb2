"""A website visitor registers for an event on the website, over real HTTP (the website's
registration form, as the public user): the registration succeeds and the event's SMS goes
through CgSMS; with no credits or the provider down it still succeeds and the SMS says why."""

from datetime import timedelta

from odoo import Command, fields, http
from odoo.tests import HttpCase, tagged

from .common import CUSTOMER_MOBILE, AppsMixin


@tagged("post_install", "-at_install")
class TestEventWebsiteVisitor(AppsMixin, HttpCase):
    mass_sms = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        now = fields.Datetime.now()
        template = cls.env.ref("event_sms.sms_template_data_event_registration")
        cls.event = cls.env["event.event"].create(
            {
                "name": "Feira de Maio",
                "date_begin": now + timedelta(days=10),
                "date_end": now + timedelta(days=11),
                "is_published": True,
                "event_mail_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "interval_unit": "now",
                            "interval_type": "after_sub",
                            "template_ref": f"sms.template,{template.id}",
                        }
                    ),
                ],
            }
        )

    def _register_on_the_website(self):
        questions = {q.question_type: q for q in self.event.question_ids}
        self.assertTrue({"name", "email", "phone"} <= set(questions))
        self.authenticate(None, None)  # a visitor: the public user's session
        response = self.url_open(
            f"/event/{self.event.id}/registration/confirm",
            data={
                f"1-name-{questions['name'].id}": "Rita Sousa",
                f"1-email-{questions['email'].id}": "rita@example.pt",
                f"1-phone-{questions['phone'].id}": CUSTOMER_MOBILE,
                "1-event_ticket_id": "0",
                "csrf_token": http.Request.csrf_token(self),
            },
        )
        self.assertEqual(response.status_code, 200)
        [registration] = self.event.registration_ids
        self.assertEqual(registration.state, "open")
        self._run_sms_queue()
        return registration

    def test_visitor_registers_and_the_sms_goes_through_cgsms(self):
        registration = self._register_on_the_website()
        line = self._assert_sent_once(registration)
        self.assertFalse(line.failure_reason)

    def test_visitor_registers_with_no_credits_and_the_sms_says_why(self):
        self._no_credits()
        registration = self._register_on_the_website()
        self._assert_recorded_not_sent(registration, "failed", "credits")

    def test_visitor_registers_with_the_provider_down_and_the_sms_waits(self):
        self._provider_down()
        registration = self._register_on_the_website()
        line = self._assert_recorded_not_sent(registration, "queued", "")
        self.assertTrue(line.failure_reason)
