import dataclasses

from odoo import api, fields, models

from .. import compat


class CgsmsReplyPart(models.Model):
    """One part of a long reply (Vonage posts each part on its own), kept until all the parts
    arrived and the reply is recorded whole. Parts stay afterwards, so that a part posted again
    is recognised and changes nothing."""

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

    locals().update(
        compat.sql_constraints(
            (
                "part_unique",
                "unique(account_id, number, concat_ref, part)",
                "A part of a reply is recorded only once.",
            ),
        )
    )

    @api.model
    def _cgsms_join(self, account, item):
        """Record the part ``item``; returns the whole message (an ``InboundSms``) once its
        last part arrived, else None (parts missing, or this part seen before)."""
        key = (account.id, item.number, item.concat_ref)
        self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cgsms.part:{key}"])
        domain = [
            ("account_id", "=", account.id),
            ("number", "=", item.number),
            ("concat_ref", "=", item.concat_ref),
        ]
        parts = self.search(domain)
        if item.part in parts.mapped("part"):
            return None
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
        parts = parts.sorted("part")
        return dataclasses.replace(
            item,
            message_id=parts[0].provider_message_id,
            body="".join(part.body or "" for part in parts),
            concat_ref="",
            part=0,
            total=0,
        )
