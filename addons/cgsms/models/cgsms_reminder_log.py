from odoo import fields, models


class CgsmsReminderLog(models.Model):
    _name = "cgsms.reminder.log"
    _description = "SMS payment reminder"
    _order = "date desc, id desc"
    _rec_name = "move_id"

    move_id = fields.Many2one(
        "account.move", "Invoice", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        related="move_id.company_id", store=True, index=True, readonly=True
    )
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True, index=True)
    origin = fields.Selection(
        [("manual", "Manual"), ("scheduled", "Scheduled")],
        required=True,
        default="manual",
        readonly=True,
    )
    # Step of the schedule (1 = first reminder); empty for manual reminders.
    step = fields.Integer("Reminder step", readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    number = fields.Char("Mobile number", readonly=True)
    body = fields.Text("Message", readonly=True)
    recipient_id = fields.Many2one(
        "cgsms.recipient", "SMS", readonly=True, index="btree_not_null", ondelete="set null"
    )
    state = fields.Selection(
        [
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("skipped", "Skipped"),
        ],
        required=True,
        default="sent",
        readonly=True,
    )
    sms_state = fields.Selection(related="recipient_id.state", string="Delivery")
    note = fields.Char(readonly=True)

    def init(self):
        # Each scheduled step is sent once per invoice, even if two runs overlap; manual
        # reminders (no step) are not limited.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS cgsms_reminder_log_move_step_uniq
                ON cgsms_reminder_log (move_id, step) WHERE origin = 'scheduled'
            """
        )
