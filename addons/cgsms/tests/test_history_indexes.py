"""The indexes of the SMS history. Every line is written twice as it leaves (claimed, then
sent) and never in place, as its state changes: each write adds an entry to every index whose
condition the new row meets. The history keeps the indexes its queries choose, partial where
a line written by the engine need not be in them, and those queries must still find them."""

import contextlib
from unittest.mock import patch

from odoo.sql_db import Cursor
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..engine import reconcile


@tagged("post_install", "-at_install")
class TestHistoryIndexes(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls.env["cgsms.account"].create(
            {"name": "Indexes", "provider": "sandbox", "company_id": cls.env.company.id}
        )
        # A history the size that makes a plan meaningful (on a handful of lines any scan is
        # as cheap as another): lines sent over the last months, a few still in flight,
        # and PostgreSQL's statistics taken on them (inside the test's transaction).
        cls.env.cr.execute(
            """
            INSERT INTO cgsms_recipient (company_id, account_id, number, sms_uuid, state,
                                         provider_message_id, date_sent, write_date)
            SELECT %(company)s, %(account)s, '+3519' || lpad((g %% 40000)::text, 8, '0'),
                   md5('index-test-' || g), CASE WHEN g %% 1000 = 0 THEN 'sending' ELSE 'sent'
                   END, md5('provider-' || g), now() - make_interval(mins => g), now()
              FROM generate_series(1, 5000) AS g
            """,
            {"company": cls.env.company.id, "account": cls.account.id},
        )
        cls.env.cr.execute("ANALYZE cgsms_recipient")

    def _indexes(self, table):
        self.env.cr.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
        )
        return dict(self.env.cr.fetchall())

    @contextlib.contextmanager
    def _recorded(self, needle):
        """The queries run meanwhile whose text holds ``needle``, with their parameters."""
        queries = []
        execute = Cursor.execute

        def spy(cr, query, params=None, log_exceptions=True):
            text = query.code if isinstance(query, SQL) else query
            if needle in text:
                queries.append((query, params))
            return execute(cr, query, params, log_exceptions)

        with patch.object(Cursor, "execute", spy):
            yield queries

    def _plan(self, query, params):
        """The plan PostgreSQL makes for ``query``, table scans ruled out: an index is named
        in it only when the query's conditions let PostgreSQL use it."""
        cr = self.env.cr
        cr.execute("SET LOCAL enable_seqscan = off")
        try:
            if isinstance(query, SQL):
                cr.execute(SQL("EXPLAIN %s", query))
            else:
                cr.execute("EXPLAIN " + query, params)
            return "\n".join(row[0] for row in cr.fetchall())
        finally:
            cr.execute("SET LOCAL enable_seqscan = on")

    def test_history_keeps_only_the_indexes_its_queries_use(self):
        indexes = self._indexes("cgsms_recipient")
        for gone in (
            "cgsms_recipient__company_id_index",
            "cgsms_recipient__account_id_index",
            "cgsms_recipient__state_index",
            "cgsms_recipient__sms_uuid_index",
            "cgsms_recipient_account_number_sent_idx",
            "cgsms_recipient_waiting_message_id_idx",
        ):
            self.assertNotIn(gone, indexes)
        self.assertRegex(
            indexes["cgsms_recipient_waiting_idx"],
            r"\(message_id, id\) WHERE .*state.*'queued'.*'sending'.*'checking'",
        )
        self.assertRegex(
            indexes["cgsms_recipient_inflight_idx"],
            r"\(account_id\) WHERE .*state.*'sending'.*'checking'",
        )
        self.assertRegex(
            indexes["cgsms_recipient_sent_number_idx"],
            r"\(account_id, number, date_sent\) WHERE \(date_sent IS NOT NULL\)",
        )
        # Still there: the send's lines, those waiting to leave, a contact's history, the
        # delivery reports' lookup and the one line per SMS.
        for kept in (
            "cgsms_recipient__message_id_index",
            "cgsms_recipient_waiting_idx",
            "cgsms_recipient__partner_id_index",
            "cgsms_recipient__provider_message_id_index",
            "cgsms_recipient_sms_uuid_unique",
        ):
            self.assertIn(kept, indexes)
        self.assertNotIn("sms_sms__cgsms_account_id_index", self._indexes("sms_sms"))
        ledger = self._indexes("cgsms_credit_line")
        self.assertNotIn("cgsms_credit_line__company_id_index", ledger)
        self.assertIn("cgsms_credit_line__account_id_index", ledger)

    def test_stale_lookup_finds_the_lines_in_flight_by_their_index(self):
        with self._recorded("FROM cgsms_recipient WHERE account_id") as queries:
            reconcile.reconcile(self.env["sms.sms"], self.account)
        self.assertEqual(len(queries), 1, "the stale lines are read with one query")
        self.assertIn("cgsms_recipient_inflight_idx", self._plan(*queries[0]))
        # The cron's list of accounts with lines in flight reads the same index.
        with self._recorded('FROM "cgsms_recipient"') as queries:
            self.env["cgsms.recipient"].sudo()._read_group(
                [("state", "in", ("checking", "sending"))], ["account_id"]
            )
        self.assertEqual(len(queries), 1)
        self.assertIn("cgsms_recipient_inflight_idx", self._plan(*queries[0]))

    def test_reply_finds_its_sms_by_the_index_of_lines_sent(self):
        reply = self.env["cgsms.reply"].new(
            {"account_id": self.account.id, "number": "+351900001234"}
        )
        with self._recorded("DISTINCT ON (q.account_id, q.number)") as queries:
            reply._cgsms_match()
        self.assertEqual(len(queries), 1)
        self.assertIn("cgsms_recipient_sent_number_idx", self._plan(*queries[0]))
