from odoo.tests import tagged

from .common import CgsmsCase

SIZE = 2500


@tagged("post_install", "-at_install")
class TestMessageCompose(CgsmsCase):
    """A big send is composed a chunk at a time: the lines and SMS are exactly those of a
    send composed in one go (same numbers, same order, same skipped reasons)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.account.id, "kind": "topup", "amount": 20000, "reference": "Big"}
        )
        spain = cls.env.ref("base.es")
        # The shop also sends to its Spanish customers.
        cls.account.allowed_country_ids |= spain
        vals = []
        for i in range(SIZE):
            kind = i % 10
            if kind == 3:  # the previous customer's number, written another way
                mobile = f"+351 91{i - 1:07d}"
            elif kind == 5:
                mobile = False
            elif kind == 7:
                mobile = f"12{i}"
            elif kind == 8:
                mobile = f"21{i:07d}"  # a fixed line
            elif kind == 9:
                mobile = f"6{i:08d}"  # a Spanish mobile, valid only when read in Spain
            else:
                mobile = f"91{i:07d}"
            vals.append(
                {
                    "name": f"Cliente {i:04d}",
                    "cgsms_mobile": mobile,
                    # a Spanish customer's national number is read in Spain, not Portugal
                    "country_id": spain.id if kind == 9 else False,
                }
            )
        cls.partners = cls.env["res.partner"].create(vals)
        cls.env["phone.blacklist"].sudo().create(
            [{"number": f"+35191{i:07d}"} for i in range(1, SIZE, 50)]
        )
        # half of the customers are also members of a group: each is counted once
        cls.group = cls.env["cgsms.group"].create(
            {"name": "Metade", "partner_ids": [(6, 0, cls.partners[::2].ids)]}
        )
        # archived contacts get nothing, be they listed customers or group members
        (cls.partners[1254] | cls.partners[2]).action_archive()

    def _send(self, chunk):
        message = self.env["cgsms.message"].create(
            {
                "body": "Olá {{ object.name }}, a sua reparação está pronta.",
                "partner_ids": [(6, 0, self.partners[SIZE // 2 :].ids)],
                "group_ids": [(6, 0, self.group.ids)],
                "free_numbers": "910000000; 912345; +351 91 000 0004",
            }
        )
        message.with_context(cgsms_compose_chunk=chunk, cgsms_direct_send_limit=0).action_send()
        self.env.invalidate_all()
        lines = message.recipient_ids.sorted("id")
        result = [
            (
                line.partner_id.id,
                line.number,
                line.body,
                line.state,
                line.error_class or "",
                line.failure_reason or "",
            )
            for line in lines
        ]
        sms = self.env["sms.sms"].sudo().search([("cgsms_recipient_id", "in", lines.ids)])
        return message, result, sms

    def test_chunked_compose_gives_the_lines_of_a_single_pass(self):
        _whole, whole_lines, whole_sms = self._send(chunk=100000)
        chunked, chunked_lines, chunked_sms = self._send(chunk=97)
        self.assertEqual(chunked_lines, whole_lines)

        queued = [line for line in chunked_lines if line[3] == "queued"]
        skipped = {}
        for line in chunked_lines:
            if line[3] == "cancelled":
                skipped[line[4]] = skipped.get(line[4], 0) + 1
        # the 1250 customers, then the 625 group members not among them, then 3 typed numbers
        self.assertEqual(len(chunked_lines), 1250 + 625 + 3 - 2)
        self.assertEqual(
            skipped,
            {"duplicate": 127, "missing_number": 125, "invalid_number": 376, "blacklisted": 25},
        )
        self.assertEqual(len(queued), 1223)
        self.assertNotIn(self.partners[1254].id, {line[0] for line in chunked_lines}, "archived")
        self.assertEqual(len({line[1] for line in queued}), len(queued), "each number once")
        numbers = {line[1] for line in queued}
        self.assertIn("+34600001259", numbers, "a Spanish customer's number is read in Spain")
        self.assertNotIn("+351910001251", numbers, "opted out")
        self.assertEqual(chunked_lines[0][2], "Ola Cliente 1250, a sua reparacao esta pronta.")
        first_duplicate = next(line for line in chunked_lines if line[4] == "duplicate")
        self.assertEqual(first_duplicate[1], "+351910001252")
        self.assertEqual(first_duplicate[5], "Duplicate: same number as Cliente 1252")
        typed = chunked_lines[-3:]
        self.assertEqual(
            [(line[1], line[4]) for line in typed],
            [
                ("+351910000000", "duplicate"),
                ("912345", "invalid_number"),
                ("+351910000004", "duplicate"),
            ],
        )
        self.assertEqual(typed[0][5], "Duplicate: same number as Cliente 0000")

        self.assertEqual(len(chunked_sms), len(queued))
        self.assertEqual(set(chunked_sms.mapped("state")), {"outgoing"})
        self.assertEqual(
            {(s.number, s.body, s.uuid) for s in chunked_sms},
            {(line.number, line.body, line.sms_uuid) for line in chunked_sms.cgsms_recipient_id},
        )
        self.assertEqual(chunked.state, "sending")
        # every entry is counted, a repeated number among the skipped ones (readme/USAGE.md)
        self.assertEqual(chunked.total_count, len(chunked_lines))
        self.assertEqual(chunked.queued_count, len(queued))
        self.assertEqual(chunked.cancelled_count, sum(skipped.values()))
        self.assertEqual(len(whole_sms), len(chunked_sms))
