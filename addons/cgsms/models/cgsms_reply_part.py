import dataclasses
import logging
from datetime import timedelta

from odoo import api, fields, models

from .. import compat

_logger = logging.getLogger(__name__)

# A part whose reply is still incomplete after this long is deleted (providers post the parts
# of one message within seconds; the others will not come any more).
PENDING_TTL = timedelta(hours=24)
# Parts of a recorded reply are kept this long, so that a part posted again changes nothing.
JOINED_TTL = timedelta(days=7)
# Parts waiting for the others, per account: past this, a new part is refused (429) until the
# oldest expire, so that no sender can fill the database with parts that never complete.
MAX_PENDING_PARTS = 2000


class TooManyPendingParts(Exception):
    """The account already holds ``MAX_PENDING_PARTS`` parts waiting for the others."""


class CgsmsReplyPart(models.Model):
    """One part of a long reply (Vonage posts each part on its own), kept until all the parts
    arrived and the reply is recorded whole. Parts stay a while afterwards, so that a part
    posted again is recognised and changes nothing; incomplete ones expire (``PENDING_TTL``)."""

    _name = "cgsms.reply.part"
    _description = "Part of an SMS reply"
    _order = "part"

    account_id = fields.Many2one("cgsms.account", required=True, index=True, ondelete="cascade")
    number = fields.Char(required=True)
    concat_ref = fields.Char(required=True)
    part = fields.Integer(required=True)
    total = fields.Integer(required=True)
    body = fields.Text()
    to_number = fields.Char()
    provider_message_id = fields.Char(required=True)
    is_joined = fields.Boolean("Joined", help="The reply of this part was recorded whole.")

    locals().update(
        compat.sql_constraints(
            (
                "part_unique",
                "unique(account_id, number, concat_ref, part)",
                "A part of a reply is recorded only once.",
            ),
        )
    )

    def init(self):
        # The pending parts of an account are counted on every part received.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS cgsms_reply_part_pending_idx
                ON cgsms_reply_part (account_id, create_date) WHERE is_joined IS NOT TRUE
            """
        )

    @api.model
    def _cgsms_join(self, account, item):
        """Record the part ``item``; returns the whole message (an ``InboundSms``) once its
        last part arrived, else None (parts missing, or this part seen before). Raises
        ``TooManyPendingParts`` past the account's ceiling.

        Call it in a READ COMMITTED transaction (``engine.transaction.read_committed``): the
        lock below then shows every part that the requests before committed, whatever the
        order and timing of the parts, so that exactly one request sees them all."""
        key = (account.id, item.number, item.concat_ref)
        self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cgsms.part:{key}"])
        domain = [
            ("account_id", "=", account.id),
            ("number", "=", item.number),
            ("concat_ref", "=", item.concat_ref),
        ]
        parts = self.search(domain)
        if item.part in parts.mapped("part") or any(parts.mapped("is_joined")):
            return None
        if (
            self.search_count(
                [("account_id", "=", account.id), ("is_joined", "=", False)],
                limit=MAX_PENDING_PARTS,
            )
            >= MAX_PENDING_PARTS
        ):
            raise TooManyPendingParts()
        parts |= self.create(
            {
                "account_id": account.id,
                "number": item.number,
                "concat_ref": item.concat_ref,
                "part": item.part,
                "total": item.total,
                "body": item.body,
                "to_number": item.to,
                "provider_message_id": item.message_id,
            }
        )
        if len(parts) < item.total:
            return None
        parts.is_joined = True
        parts = parts.sorted("part")
        return dataclasses.replace(
            item,
            message_id=parts[0].provider_message_id,
            body="".join(part.body or "" for part in parts),
            concat_ref="",
            part=0,
            total=0,
        )

    @api.autovacuum
    def _gc_expired_parts(self):
        """Delete the parts that waited ``PENDING_TTL`` for the others, and the parts of
        recorded replies after ``JOINED_TTL``."""
        now = fields.Datetime.now()
        expired = self.sudo().search(
            [
                "|",
                "&",
                ("is_joined", "=", False),
                ("create_date", "<", now - PENDING_TTL),
                "&",
                ("is_joined", "=", True),
                ("create_date", "<", now - JOINED_TTL),
            ]
        )
        if expired:
            _logger.info("%s expired part(s) of SMS replies deleted", len(expired))
            expired.unlink()
        return len(expired)
