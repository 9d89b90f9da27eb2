"""Parts of long replies: joined once whatever their order or repetition, expired when they
never complete, and bounded per account."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..models import cgsms_reply_part
from ..providers.inbound import InboundSms
from .replies_common import CUSTOMER, CgsmsRepliesMixin


@tagged("post_install", "-at_install")
class TestRepliesParts(CgsmsRepliesMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vonage = cls._cgsms_provider_account("vonage")

    def _part(self, ref, part, total=3, number=CUSTOMER):
        return InboundSms(
            message_id=f"{ref}-{part}",
            number=number,
            body=f"[{part}]",
            concat_ref=ref,
            part=part,
            total=total,
        )

    def _receive(self, *items):
        return self.env["cgsms.reply"]._cgsms_receive(self.vonage, list(items))

    def _parts(self, ref=None):
        domain = [("account_id", "=", self.vonage.id)]
        if ref:
            domain.append(("concat_ref", "=", ref))
        return self.env["cgsms.reply.part"].search(domain)

    def _age(self, parts, delta):
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE cgsms_reply_part SET create_date = %s WHERE id = ANY(%s)",
            [fields.Datetime.now() - delta, parts.ids],
        )
        self.env.invalidate_all()

    def test_parts_out_of_order_and_repeated_give_one_whole_reply(self):
        replies = self._receive(self._part("r1", 3), self._part("r1", 1), self._part("r1", 3))
        self.assertFalse(replies)
        replies = self._receive(self._part("r1", 2), self._part("r1", 2), self._part("r1", 1))
        self.assertEqual(replies.mapped("body"), ["[1][2][3]"])
        self.assertFalse(self._receive(self._part("r1", 2)))  # posted again after the reply
        self.assertEqual(len(self._replies(self.vonage)), 1)
        self.assertEqual(self._parts("r1").mapped("is_joined"), [True] * 3)

    def test_expired_parts_go_away_and_recent_ones_stay(self):
        self._receive(self._part("old", 1), self._part("new", 1))
        self._receive(*(self._part("done", i) for i in (1, 2, 3)))
        self._age(self._parts("old") | self._parts("done"), timedelta(hours=25))
        Part = self.env["cgsms.reply.part"]
        self.assertTrue(getattr(type(Part)._gc_expired_parts, "_autovacuum", False))
        Part._gc_expired_parts()  # what Odoo's daily autovacuum runs
        self.assertFalse(self._parts("old"))
        self.assertEqual(len(self._parts("new")), 1)  # still waiting for its other parts
        self.assertEqual(len(self._parts("done")), 3)  # recognises a repeat for a week
        self._age(self._parts("done"), timedelta(days=8))
        self.env["cgsms.reply.part"]._gc_expired_parts()
        self.assertEqual(self._parts().mapped("concat_ref"), ["new"])
        self.assertEqual(len(self._replies(self.vonage)), 1)

    @mute_logger("odoo.addons.cgsms.controllers.inbound")
    def test_parts_beyond_the_ceiling_refused_429_and_nothing_written(self):
        with patch.object(cgsms_reply_part, "MAX_PENDING_PARTS", 2):
            self._customer_reply(self.vonage, "a" * 200, concat_ref="11")  # 2 parts, joined
            self._receive(self._part("w1", 1), self._part("w2", 1))  # 2 waiting
            self.env.flush_all()
            before = len(self._parts())
            self._customer_reply(self.vonage, "b" * 300, concat_ref="12", expected=429)
            self.assertEqual(len(self._parts()), before)
            # once the waiting parts expire, replies are taken again
            self._age(self._parts("w1") | self._parts("w2"), timedelta(hours=25))
            self.env["cgsms.reply.part"]._gc_expired_parts()
            reply = self._customer_reply(self.vonage, "b" * 300, concat_ref="12")
        self.assertEqual(reply.body, "b" * 300)
