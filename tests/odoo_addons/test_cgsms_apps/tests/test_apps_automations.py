"""Each app's own user, outside the SMS group, does the business action that sends an SMS by
itself: the action succeeds and its SMS goes through CgSMS (once at the fake gateway,
debited, a history line); with no credits, or the provider down, the action still succeeds
and the SMS is recorded with its reason."""

from datetime import timedelta

from odoo import Command, fields
from odoo.addons.cgsms import compat
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CUSTOMER_MOBILE, AppsCase


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


@tagged("post_install", "-at_install")
class TestPosReceipt(AppAutomationCases, AppsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user(
            "apps_cashier", "base.group_user,point_of_sale.group_pos_user", cls.company
        )
        journal = cls.env["account.journal"].create(
            {"name": "Caixa POS", "type": "cash", "code": "CXPOS"}
        )
        cls.cash = cls.env["pos.payment.method"].create(
            {"name": "Dinheiro", "journal_id": journal.id}
        )
        cls.config = cls.env["pos.config"].create(
            {
                "name": "Loja",
                "payment_method_ids": [Command.set(cls.cash.ids)],
                "module_pos_sms": True,
                "sms_receipt_template_id": cls.env.ref(
                    "pos_sms.sms_template_data_point_of_sale"
                ).id,
            }
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Cafe", "type": "consu", "available_in_pos": True, "list_price": 1.0}
        )
        cls.config.with_user(cls.user).open_ui()
        cls.session = cls.config.current_session_id

    def _prepare(self):
        line = {
            "product_id": self.product.id,
            "qty": 1,
            "price_unit": 1.0,
            "price_subtotal": 1.0,
            "price_subtotal_incl": 1.0,
        }
        return (
            self.env["pos.order"]
            .with_user(self.user)
            .create(
                {
                    "session_id": self.session.id,
                    "partner_id": self.customer.id,
                    "lines": [Command.create(line)],
                    "amount_total": 1.0,
                    "amount_tax": 0.0,
                    "amount_paid": 0.0,
                    "amount_return": 0.0,
                }
            )
        )

    def _act(self, order):
        # What the POS screen does when the customer pays, then asks for the receipt by SMS.
        order = order.with_user(self.user)
        order.add_payment(
            {"pos_order_id": order.id, "amount": 1.0, "payment_method_id": self.cash.id}
        )
        order.action_pos_order_paid()
        order.action_sent_message_on_sms(CUSTOMER_MOBILE, None)

    def _assert_done(self, order):
        self.assertEqual(order.state, "paid")

    def test_cashier_cannot_change_the_receipt_sms(self):
        # Odoo lets a cashier edit the point of sale (and so pick another receipt template
        # among the existing ones), never write a template's text.
        with self.assertRaises(AccessError):
            self.config.sms_receipt_template_id.with_user(self.user).write({"body": "Mine"})
        with self.assertRaises(AccessError):
            self.env["sms.template"].with_user(self.user).create(
                {
                    "name": "Mine",
                    "model_id": self.env["ir.model"]._get_id("pos.order"),
                    "body": "Free text of my own",
                }
            )


@tagged("post_install", "-at_install")
class TestInvoicePosted(AppAutomationCases, AppsCase):
    """CgSMS's own automation beside the apps: the SMS when an invoice is posted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._cgsms_user(
            "apps_invoicer", "base.group_user,account.group_account_invoice", cls.company
        )
        cls.company.cgsms_invoice_post_sms = True

    def _prepare(self):
        return self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_line_ids": [
                    Command.create({"name": "Reparacao", "quantity": 1, "price_unit": 100.0})
                ],
            }
        )

    def _act(self, invoice):
        invoice.with_user(self.user).action_post()
        # The SMS leaves after the commit, in a cursor of its own (here: the test's).
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

    def _assert_done(self, invoice):
        self.assertEqual(invoice.state, "posted")
