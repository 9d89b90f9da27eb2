"""Each app's own user, outside the SMS group, does the business action that sends an SMS by
itself: the action succeeds and its SMS goes through CgSMS (once at the fake gateway,
debited, a history line); with no credits, or the provider down, the action still succeeds
and the SMS is recorded with its reason."""

from datetime import timedelta

from odoo import Command, fields
from odoo.addons.cgsms import compat
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CUSTOMER_MOBILE, AppAutomationCases, AppsCase


@tagged("post_install", "-at_install")
class TestStockDelivery(AppAutomationCases, AppsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user(
            "apps_warehouse", "base.group_user,stock.group_stock_user", cls.company
        )
        if compat.ODOO_19:
            cls.company.write({"stock_text_confirmation": True, "stock_confirmation_type": "sms"})
        else:
            cls.company.stock_move_sms_validation = True
        cls.company.has_received_warning_stock_sms = True
        cls.product = cls.env["product.product"].create({"name": "Cadeira", "type": "consu"})
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )

    def _prepare(self):
        source = self.warehouse.lot_stock_id
        customers = self.env.ref("stock.stock_location_customers")
        move = {
            "product_id": self.product.id,
            "product_uom_qty": 1,
            "product_uom": self.product.uom_id.id,
            "location_id": source.id,
            "location_dest_id": customers.id,
        }
        if not compat.ODOO_19:
            move["name"] = self.product.name
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "partner_id": self.customer.id,
                "location_id": source.id,
                "location_dest_id": customers.id,
                "move_ids": [Command.create(move)],
            }
        )
        picking.action_confirm()
        picking.move_ids.write({"quantity": 1, "picked": True})
        return picking

    def _act(self, picking):
        result = picking.with_user(self.user).button_validate()
        self.assertIs(result, True)  # validated, no dialog

    def _assert_done(self, picking):
        self.assertEqual(picking.state, "done")

    def test_first_delivery_asks_once_then_validates_and_sends(self):
        # Odoo asks once per company, on the first delivery, whether to text customers.
        self.company.has_received_warning_stock_sms = False
        picking = self._prepare()
        with self._live():
            action = picking.with_user(self.user).button_validate()
            self.assertEqual(action["res_model"], "confirm.stock.sms")
            wizard = self.env["confirm.stock.sms"].with_user(self.user).browse(action["res_id"])
            wizard.with_context(action["context"]).send_sms()
        self._assert_done(picking)
        self._assert_sent_once(picking)
        self.assertTrue(self.company.has_received_warning_stock_sms)

    def test_warehouse_user_cannot_change_the_delivery_sms(self):
        template = self.company.sudo().stock_sms_confirmation_template_id
        self.assertTrue(template)
        with self.assertRaises(AccessError):
            template.with_user(self.user).write({"body": "Free text of my own"})
        with self.assertRaises(AccessError):
            self.company.with_user(self.user).write({"stock_sms_confirmation_template_id": False})

    def test_warehouse_user_still_cannot_write_an_sms_of_their_own(self):
        picking = self._prepare()
        composer = (
            self.env["sms.composer"]
            .with_user(self.user)
            .with_context(default_res_model="stock.picking", default_res_id=picking.id)
            .create({"composition_mode": "comment", "body": "Free text", "numbers": "912000111"})
        )
        with self.assertRaisesRegex(AccessError, "only SMS users may"):
            composer.action_send_sms()
        self.assertFalse(self._gateway_messages())


@tagged("post_install", "-at_install")
class TestProjectStage(AppAutomationCases, AppsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user(
            "apps_project", "base.group_user,project.group_project_user", cls.company
        )
        cls.template = cls.env["sms.template"].create(
            {
                "name": "Task moved",
                "model_id": cls.env["ir.model"]._get_id("project.task"),
                "body": "Ola {{ object.partner_id.name }}, a sua tarefa avancou.",
            }
        )
        cls.todo, cls.done_stage = cls.env["project.task.type"].create(
            [{"name": "To do", "sequence": 1}, {"name": "Ready", "sequence": 2}]
        )
        cls.done_stage.sms_template_id = cls.template
        cls.project = cls.env["project.project"].create(
            {
                "name": "Obras",
                "privacy_visibility": "employees",
                "type_ids": [Command.set((cls.todo | cls.done_stage).ids)],
            }
        )

    def _prepare(self):
        return self.env["project.task"].create(
            {
                "name": "Pintar a sala",
                "project_id": self.project.id,
                "partner_id": self.customer.id,
                "stage_id": self.todo.id,
            }
        )

    def _act(self, task):
        task.with_user(self.user).write({"stage_id": self.done_stage.id})

    def _assert_done(self, task):
        self.assertEqual(task.stage_id, self.done_stage)

    def test_project_user_cannot_change_what_the_stage_sends(self):
        with self.assertRaises(AccessError):
            self.template.with_user(self.user).write({"body": "Free text of my own"})
        with self.assertRaises(AccessError):
            self.env["sms.template"].with_user(self.user).create(
                {
                    "name": "Mine",
                    "model_id": self.env["ir.model"]._get_id("project.task"),
                    "body": "Free text of my own",
                }
            )


@tagged("post_install", "-at_install")
class TestEventRegistration(AppAutomationCases, AppsCase):
    mass_sms = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user(
            "apps_event", "base.group_user,event.group_event_user", cls.company
        )
        cls.public = cls.env.ref("base.public_user")
        now = fields.Datetime.now()
        cls.event = cls.env["event.event"].create(
            {
                "name": "Feira de Maio",
                "date_begin": now + timedelta(days=10),
                "date_end": now + timedelta(days=11),
                "event_mail_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "interval_unit": "now",
                            "interval_type": "after_sub",
                            "template_ref": "sms.template,%s"
                            % cls.env.ref("event_sms.sms_template_data_event_registration").id,
                        }
                    ),
                ],
            }
        )

    def _prepare(self):
        return self.env["event.registration"]

    def _registration_values(self):
        return {
            "event_id": self.event.id,
            "partner_id": self.customer.id,
            "name": self.customer.name,
            "phone": CUSTOMER_MOBILE,
        }

    def _act(self, _none):
        self.registration = (
            self.env["event.registration"].with_user(self.user).create(self._registration_values())
        )

    def _assert_done(self, _none):
        self.assertEqual(self.registration.state, "open")

    def _document(self, _none):
        return self.registration


@tagged("post_install", "-at_install")
class TestCalendarReminder(AppAutomationCases, AppsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user("apps_calendar", "base.group_user", cls.company)
        cls.alarm = cls.env["calendar.alarm"].create(
            {
                "name": "SMS 1 hour before",
                "alarm_type": "sms",
                "duration": 1,
                "interval": "hours",
                "sms_template_id": cls.env.ref(
                    "calendar_sms.sms_template_data_calendar_reminder"
                ).id,
            }
        )

    def _prepare(self):
        start = fields.Datetime.now() + timedelta(hours=2)
        return (
            self.env["calendar.event"]
            .with_user(self.user)
            .create(
                {
                    "name": "Visita tecnica",
                    "start": start,
                    "stop": start + timedelta(hours=1),
                    "partner_ids": [Command.link(self.customer.id)],
                    "alarm_ids": [Command.link(self.alarm.id)],
                }
            )
        )

    def _act(self, meeting):
        meeting.with_user(self.user)._do_sms_reminder(self.alarm)

    def _assert_done(self, meeting):
        self.assertTrue(meeting.exists())
