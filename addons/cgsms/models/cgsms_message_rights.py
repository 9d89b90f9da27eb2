from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import compat
from .cgsms_message import _STATE_TOKEN


class CgsmsMessage(models.Model):
    """Who may change a send and in whose name it is sent: its state changes only through its
    buttons, a scheduled send belongs to whoever scheduled it and is sent with their rights
    and companies, and placeholders with code need a template editor."""

    _inherit = "cgsms.message"

    # ------------------------------------------------------------------ cron

    @api.model
    def _cron_send_scheduled(self):
        """Send the scheduled SMS that are due, and close sends whose queue is empty."""
        testing = compat.testing()
        due = self.sudo().search(
            [("state", "=", "scheduled"), ("scheduled_date", "<=", fields.Datetime.now())]
        )
        for message in due:
            try:
                # Never as the cron's superuser: as the user who scheduled it.
                as_user = message._cgsms_as_scheduler()
                as_user.with_context(cgsms_state_token=_STATE_TOKEN)._cgsms_send_now()
            except UserError as exc:
                message = message.with_context(lang=message.scheduled_by_id.lang or None)
                message._cgsms_set_state("draft")
                message.message_post(
                    body=message.env._(
                        "The scheduled SMS was not sent: %(error)s", error=exc.args[0]
                    )
                )
            if not testing:
                # one scheduled send per transaction: a failing one never undoes the others
                self.env.cr.commit()  # pylint: disable=invalid-commit
        self.search([("state", "=", "sending")])._cgsms_check_done()

    # ------------------------------------------------------------------ rights

    def _cgsms_trusted(self):
        """Whether the state and who acts for the send may change: inside our actions (or
        code running as superuser), never from a client's create/write."""
        return self.env.su or self.env.context.get("cgsms_state_token") == _STATE_TOKEN

    def _cgsms_state_error(self):
        return self.env._(
            "The state of an SMS changes only through its buttons (Send, Schedule, Cancel, "
            "Reset to draft)."
        )

    def _cgsms_set_state(self, state, **vals):
        return self.with_context(cgsms_state_token=_STATE_TOKEN).write(dict(vals, state=state))

    def _cgsms_check_owner(self):
        """A scheduled send is changed only by whoever scheduled it, or an SMS manager."""
        if self.env.su or self.env.user.has_group("cgsms.group_cgsms_manager"):
            return
        for message in self.sudo():
            if message.state == "scheduled" and message.scheduled_by_id != self.env.user:
                raise AccessError(
                    self.env._(
                        "Only %(user)s, who scheduled the SMS %(name)s, or an SMS manager can "
                        "change it.",
                        user=message.scheduled_by_id.name or "",
                        name=message.name or "",
                    )
                )

    def _cgsms_company_allowed(self, company):
        # The user, not env.su: stored computes run as superuser for any user.
        user = self.env.user
        return not company or user._is_superuser() or company in user.company_ids

    def _cgsms_check_company(self, company_id):
        company = self.env["res.company"].browse(company_id)
        if not self.env.su and not self._cgsms_company_allowed(company):
            raise AccessError(
                self.env._(
                    "You do not belong to the company %(company)s: an SMS of yours cannot be "
                    "sent from it.",
                    company=company.sudo().name,
                )
            )

    def _cgsms_as_scheduler(self):
        """This send in the environment of the user who scheduled it: their rights, their
        companies (the send's first) and their language. Refused when that user may no longer
        send SMS from the send's company."""
        self.ensure_one()
        message = self.sudo()
        user = message.scheduled_by_id or message.create_uid
        company = message.company_id
        if not (
            company in user.company_ids
            and (user._is_superuser() or (user.active and user.has_group("cgsms.group_cgsms_user")))
        ):
            raise AccessError(
                self.with_context(lang=user.lang or None).env._(
                    "%(user)s, who scheduled it, may no longer send SMS from %(company)s. "
                    "Schedule it again.",
                    user=user.name or "",
                    company=company.name,
                )
            )
        companies = company | user.company_ids
        return self.with_user(user).with_context(
            allowed_company_ids=companies.ids, lang=user.lang or None
        )

    def _cgsms_check_render_rights(self, body):
        """Placeholders with code run only for template editors, as in Odoo's templates:
        both the user sending and whoever last changed the text must be allowed to."""
        if self.template_id and self.template_id.body == body:
            return  # a saved template: only template editors can put code in one
        if not self.env["mail.render.mixin"]._has_unsafe_expression_template_inline_template(
            body, "res.partner"
        ):
            return
        users = self.env.user | self.sudo().body_author_id
        refused = users.filtered(
            lambda u: not (u._is_admin() or u.has_group("mail.group_mail_template_editor"))
        )
        if refused:
            raise AccessError(
                self.env._(
                    "This message has code in its placeholders, which only a template editor "
                    "may use, and %(users)s is not one. Use simple placeholders such as "
                    "{{ object.name }}.",
                    users=", ".join(refused.mapped("name")),
                )
            )
