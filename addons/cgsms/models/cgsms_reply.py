import contextlib
import logging

from markupsafe import Markup

from odoo import SUPERUSER_ID, _, api, fields, models, tools
from odoo.exceptions import AccessError

from .. import compat
from ..engine import transaction
from ..providers.inbound import keyword_of

_logger = logging.getLogger(__name__)

KEYWORDS = [("stop", "Opt-out (STOP)"), ("start", "Opt-in (START)"), ("help", "Help")]
# The SMS a reply may answer: those that left (or may have left) through the account.
ANSWERED_STATES = ("sent", "delivered", "checking", "unknown")


class CgsmsReply(models.Model):
    """An SMS a customer sent back to one of the company's provider accounts."""

    _name = "cgsms.reply"
    _inherit = ["cgsms.number.document"]
    _description = "Replies"
    _order = "date_received desc, id desc"
    _rec_name = "number"

    number = fields.Char("From", required=True, readonly=True, index=True, help="E.164")
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True, index="btree_not_null")
    body = fields.Text("Message", readonly=True)
    to_number = fields.Char("To", readonly=True, help="The company's number or sender name.")
    account_id = fields.Many2one(
        "cgsms.account", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    provider_message_id = fields.Char("Provider id", required=True, readonly=True)
    date_received = fields.Datetime(
        "Received on", required=True, readonly=True, default=fields.Datetime.now
    )
    is_read = fields.Boolean("Read", default=False)
    is_matched = fields.Boolean(
        "Matched", readonly=True, help="Answers an SMS sent to that number within the window."
    )
    keyword = fields.Selection(KEYWORDS, readonly=True)
    recipient_id = fields.Many2one("cgsms.recipient", "Answers", readonly=True)
    # the send a reply answers, for the replies and opt-outs per send
    message_id = fields.Many2one(
        related="recipient_id.message_id", string="SMS send", store=True, index="btree_not_null"
    )
    user_id = fields.Many2one(
        "res.users", "SMS sent by", readonly=True, help="Notified of the reply."
    )
    res_model = fields.Char("Document model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)
    mail_message_id = fields.Many2one("mail.message", "Posted as", readonly=True)
    # recorded by the webhook, not yet matched nor posted (``_cgsms_process_pending``)
    is_pending = fields.Boolean("Waiting to be processed", readonly=True)

    locals().update(
        compat.sql_constraints(
            (
                "provider_message_unique",
                "unique(account_id, provider_message_id)",
                "A reply is recorded only once.",
            ),
        )
    )

    def init(self):
        # A reply looks up the last SMS sent to its number from its account. Partial: a
        # line claimed (not sent yet) gets no entry. Replaces the full index of 1.0.
        self.env.cr.execute(
            """
            DROP INDEX IF EXISTS cgsms_recipient_account_number_sent_idx;
            CREATE INDEX IF NOT EXISTS cgsms_recipient_sent_number_idx
                ON cgsms_recipient (account_id, number, date_sent)
             WHERE date_sent IS NOT NULL
            """
        )
        # The replies waiting to be processed are claimed oldest first.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS cgsms_reply_pending_idx
                ON cgsms_reply (id) WHERE is_pending
            """
        )

    def write(self, vals):
        # What the customer sent and what it answered is a record; a user only marks it read.
        if not self.env.su and set(vals) - {"is_read"}:
            raise AccessError(_("A reply cannot be changed: only marked as read or unread."))
        return super().write(vals)

    def action_mark_read(self):
        self.write({"is_read": True})

    def action_mark_unread(self):
        self.write({"is_read": False})

    def action_answer(self):
        """The Express message, ready to answer this number: it queues the answer like any
        other SMS, under the company's sending policy."""
        self.ensure_one()
        self.is_read = True
        return {
            "type": "ir.actions.act_window",
            "res_model": "cgsms.express.wizard",
            "view_mode": "form",
            "target": "new",
            "name": _("Answer %(name)s", name=self.display_name),
            "context": {"default_numbers": self.number, "default_company_id": self.company_id.id},
        }

    # -- receiving ------------------------------------------------------------------------

    @api.model
    def _cgsms_receive(self, account, items):
        """Record the replies ``items`` (``InboundSms``) that ``account`` received, as
        superuser; the parts of a long message wait for the others. A replay records nothing.
        Returns the new replies, matched and posted unless another process is processing
        replies at that moment (it then processes these too, see ``_cgsms_process_pending``).

        Each item is recorded in a READ COMMITTED transaction of its own, committed before
        the webhook is answered: its advisory lock comes first there, so the request sees
        what concurrent deliveries of the other parts committed (a request's own transaction
        has read before its controller runs, and would not). A reply is recorded whole by one
        ``INSERT ... ON CONFLICT DO NOTHING``: a copy posted at the same moment records
        nothing and raises nothing. An opt-out or opt-in word is applied in that same
        transaction, before the webhook answers; matching and the chatter post of the other
        replies come after the commit, in batches."""
        if transaction.shares_transaction(self.env.cr):
            replies = self._cgsms_record_items(self.env(su=True), account, items, commit=False)
            replies._cgsms_process_chunk(replies.filtered("is_pending"))
            return self.sudo().browse(replies.ids)
        with self.env.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, dict(self.env.context))
            replies = self._cgsms_record_items(env, account, items, commit=True)
            if replies:
                env["cgsms.reply"]._cgsms_process_pending()
        return self.sudo().browse(replies.ids)

    @api.model
    def _cgsms_record_items(self, env, account, items, commit):
        """Record ``items`` on ``env``'s cursor, each in a READ COMMITTED transaction of its
        own that is committed (``commit``; else in a savepoint of the caller's transaction,
        under a test). Returns the new replies."""
        created = []
        for item in items:
            if commit:
                env.cr.commit()
                env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            with contextlib.nullcontext() if commit else env.cr.savepoint():
                own_account = account.with_env(env)
                if item.concat_ref:
                    # the whole message once its last part came, else nothing yet
                    item = env["cgsms.reply.part"]._cgsms_join(own_account, item)
                if item is not None:
                    reply = env["cgsms.reply"]._cgsms_record(own_account, item)
                    if reply.keyword:
                        # an opt-out takes effect before the provider gets its answer
                        reply._cgsms_process_chunk(reply)
                    created += reply.ids
            if commit:
                env.cr.commit()
        return env["cgsms.reply"].browse(created)

    def _cgsms_record(self, account, item):
        """Insert the reply ``item``, waiting to be processed; returns it, or nothing when
        the account already holds a reply with that provider id (a replay, or a copy that
        was committed first)."""
        keyword = item.keyword or keyword_of(
            item.body, account.reply_stop_keywords, account.reply_start_keywords
        )
        self.env.cr.execute(
            """
            INSERT INTO cgsms_reply (
                number, to_number, body, account_id, company_id, provider_message_id,
                date_received, is_read, is_matched, keyword, is_pending,
                create_uid, create_date, write_uid, write_date)
            VALUES (%(number)s, %(to)s, %(body)s, %(account)s, %(company)s, %(ref)s,
                %(now)s, FALSE, FALSE, %(keyword)s, TRUE, %(uid)s, %(now)s, %(uid)s, %(now)s)
            ON CONFLICT (account_id, provider_message_id) DO NOTHING
            RETURNING id
            """,
            {
                "number": item.number,
                "to": item.to or None,
                "body": item.body,
                "account": account.id,
                "company": account.company_id.id,
                "ref": item.message_id,
                "now": self.env.cr.now(),
                "keyword": keyword or None,
                "uid": self.env.uid,
            },
        )
        row = self.env.cr.fetchone()
        if not row:
            return self.browse()
        _logger.info("SMS reply %s received by account %s", row[0], account.id)
        return self.browse(row[0])

    def _cgsms_sender_user(self, sms):
        """Who sent ``sms``: the author of its chatter message, else of its send."""
        users = sms.mail_message_id.author_id.user_ids
        if "message_id" in sms._fields and sms.message_id:
            users |= sms.message_id.user_id
        users = users.filtered(lambda u: u.active and not u._is_public() and not u._is_superuser())
        return users[:1]

    def _cgsms_document(self, sms):
        """The record ``sms`` was about, else its send, else the contact."""
        if sms.res_model in self.env and sms.res_id:
            record = self.env[sms.res_model].sudo().browse(sms.res_id).exists()
            if record and hasattr(record, "message_post"):
                return record
        if "message_id" in sms._fields and sms.message_id:
            return sms.message_id.sudo()
        return self.partner_id.sudo()

    def _cgsms_post(self, sms, post_values=None):
        """Post the reply on the chatter of its document, authored by the customer, and
        notify the user who sent the SMS. ``post_values``: what ``message_post`` would
        compute of each document (reply-to, alias domain, company, name), computed once for
        a batch by ``_cgsms_post_values``."""
        document = self._cgsms_document(sms)
        if not document:
            return
        body = Markup("<p>%s</p><p>%s</p>") % (_("SMS reply:"), self.body or "")
        # author_id False, not absent: Odoo would otherwise look the From up among contacts
        kwargs = {"author_id": self.partner_id.id or False}
        email_from = self.partner_id.email_formatted or self._cgsms_email_from()
        known = (post_values or {}).get((document._name, document.id))
        if known:
            kwargs.update(known["values"])
            same_author = known["author_id"] == kwargs.get("author_id")
            if known["reply_to"] and same_author and known["email_from"] == email_from:
                kwargs["reply_to"] = known["reply_to"]
        message = document.with_context(
            mail_create_nosubscribe=True, mail_post_autofollow_author_skip=True
        ).message_post(
            body=body,
            email_from=email_from,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            partner_ids=self.user_id.partner_id.ids,
            **kwargs,
        )
        self.write(
            {"res_model": document._name, "res_id": document.id, "mail_message_id": message.id}
        )

    def _cgsms_email_from(self):
        """The From of a reply whose customer has no email: their name (or number) at the
        company's default From address. A number alone is no address: the emails that notify
        the sender of the SMS of the reply would not leave ("Malformed From")."""
        address = self.company_id.default_from_email or self.company_id.email
        if not address:
            return False
        return tools.formataddr((self.partner_id.name or self.number, address))

    def _cgsms_apply_keyword(self):
        """STOP puts the number on Odoo's opt-out list (the contact shows it, sends skip it);
        START takes it off. HELP is answered by the provider itself."""
        Blacklist = self.env["phone.blacklist"].sudo()
        when = fields.Datetime.to_string(self.date_received)
        if self.keyword == "stop":
            Blacklist._add(
                [self.number],
                message=_(
                    "Opted out by SMS reply %(word)s on %(date)s.",
                    word=(self.body or "STOP").strip(),
                    date=when,
                ),
            )
        elif self.keyword == "start":
            Blacklist._remove(
                [self.number],
                message=_(
                    "Opted in again by SMS reply %(word)s on %(date)s.",
                    word=(self.body or "START").strip(),
                    date=when,
                ),
            )
